// The ingest stage: rows shared over ranks in file order, read and preprocessed in chunks,
// PCA fitted on a deterministic sample gathered to every rank, masked bins infilled, spectra
// unit-normalised and split in a second pass over a rank-local spool, written in collective
// rounds (memory bounded by the chunk size). Bad files either stop the job or,
// with ingest.on_bad_file = "skip", are dropped by every rank and counted.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <set>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/progress.hpp"
#include "specvae/dist/memory_check.hpp"
#include "specvae/ingest/ingest.hpp"
#include "specvae/ingest/pca_infill.hpp"
#include "specvae/ingest/selection.hpp"
#include "specvae/ingest/spectrum_prep.hpp"
#include "specvae/io/desi.hpp"
#include "row_spool.hpp"

namespace fs = std::filesystem;

namespace specvae::ingest {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Settings {
  RestGrid grid;
  SelectionRules sel;
  int n_ev = 10, n_iter = 20;
  std::int64_t pca_sample = 20000, chunk_rows = 2048;
  double val_fraction = 0.25;
  bool skip_bad = false;

  explicit Settings(const Config& cfg) {
    grid.n_bins = static_cast<int>(cfg.get_int("ingest.n_bins"));
    grid.wave_min = cfg.get_double("ingest.wave_min");
    grid.wave_max = cfg.get_double("ingest.wave_max");
    if (!(grid.wave_max > grid.wave_min))
      throw ConfigError(fmt::format("ingest.wave_max = {} must be above ingest.wave_min = {}", grid.wave_max, grid.wave_min));
    sel = SelectionRules::from_config(cfg);
    n_ev = static_cast<int>(cfg.get_int("ingest.pca_n_ev"));
    n_iter = static_cast<int>(cfg.get_int("ingest.pca_n_iter"));
    pca_sample = cfg.get_int("ingest.pca_sample");
    chunk_rows = cfg.get_int("ingest.chunk_rows");
    val_fraction = cfg.get_double("ingest.val_fraction");
    skip_bad = cfg.get_string("ingest.on_bad_file") == "skip";
  }
};

// This rank's accepted rows before infill, and the file each came from.
struct Accepted {
  DatasetRows rows;
  std::vector<int> file;
};

// A message on one line (the skip notes are gathered as newline-separated lines).
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// A rest-frame row the later steps can take without overflow: finite, and max(ivar)·Σ flux²
// (the scale of the squared S/N, which is what ivar·norm² reaches after the unit norm) far
// below the float range. Real spectra are many decades below the bound.
constexpr double kMaxSnrSquaredScale = 1e30;
bool values_in_range(std::span<const float> flux, std::span<const float> ivar) {
  double ss = 0, max_ivar = 0;
  for (std::size_t b = 0; b < flux.size(); ++b) {
    if (!std::isfinite(flux[b]) || !std::isfinite(ivar[b])) return false;
    ss += double(flux[b]) * double(flux[b]);
    max_ivar = std::max(max_ivar, double(ivar[b]));
  }
  return max_ivar * ss <= kMaxSnrSquaredScale;
}

// The largest |FLUX| and IVAR of spectrum i over its cameras, for a message.
std::pair<double, double> max_flux_and_ivar(const DesiSpectra& spectra, std::size_t i) {
  double f = 0, w = 0;
  for (const auto& cam : spectra.cameras)
    for (std::size_t k = 0, n = cam.nwave(); k < n; ++k) {
      f = std::max(f, std::abs(double(cam.flux[i * n + k])));
      w = std::max(w, double(cam.ivar[i * n + k]));
    }
  return {f, w};
}

// Reads and preprocesses one file slice in chunks, appending accepted rows.
void process_slice(const Settings& s, const InputPair& pair, const FileSlice& slice, int n_bins, Accepted& acc,
                   RejectCounts& rejected, const std::function<void()>& after_chunk) {
  // A redrock file is small: read once per slice. A zcatalog is survey-wide: only the rows of
  // each chunk's TARGETIDs are read.
  std::vector<Redshift> redshifts;
  if (!pair.zcatalog) redshifts = read_redshifts(pair.redrock);
  std::vector<std::int64_t> ids;
  const std::size_t B = static_cast<std::size_t>(n_bins);
  auto& rows = acc.rows;
  // One chunk's results, filled in parallel and appended in row order (so the output does
  // not depend on the thread count).
  std::vector<float> c_flux, c_ivar, c_snr;
  std::vector<std::uint8_t> c_mask;
  std::vector<Reject> c_why;
  std::vector<std::uint8_t> c_overflow;
  for (std::int64_t done = 0; done < slice.count;) {
    const std::int64_t n = std::min(s.chunk_rows, slice.count - done);
    const DesiSpectra spectra = read_desi_spectra(pair.coadd, slice.first + done, n);
    if (!spectra.has_fibermap)
      throw InputError(fmt::format("{}: no FIBERMAP HDU (TARGETID is needed to join redshifts)", pair.coadd.string()));
    if (pair.zcatalog) {
      ids.clear();
      for (const auto& f : spectra.fibermap) ids.push_back(f.targetid);
      redshifts = read_redshifts(pair.redrock, ids);
    }
    const std::vector<Redshift> zs = join_redshifts(spectra, redshifts, pair.redrock);
    const BrzGrid grid = make_brz_grid(spectra.cameras, pair.coadd);
    const std::size_t m = static_cast<std::size_t>(spectra.nspec);
    c_flux.resize(m * B), c_ivar.resize(m * B), c_mask.resize(m * B), c_snr.assign(m, 0.0f);
    c_why.assign(m, Reject::none);
    c_overflow.assign(m, 0);
#pragma omp parallel
    {
      SpectrumPreparer prep(s.grid);
      std::vector<double> flux(grid.wave.size()), ivar(grid.wave.size());
      std::vector<std::uint8_t> good(grid.wave.size());
#pragma omp for schedule(dynamic, 16)
      for (std::size_t i = 0; i < m; ++i) {
        Reject why = s.sel.select_catalogue(&spectra.fibermap[i], zs[i]);
        if (why == Reject::none) {
          combine_cameras(spectra.cameras, grid, i, s.sel.bad_mask_bits, flux, ivar, good);
          std::span<float> of(c_flux.data() + i * B, B), oi(c_ivar.data() + i * B, B);
          std::span<std::uint8_t> om(c_mask.data() + i * B, B);
          bool ok = prep.prepare(grid, flux, ivar, good, zs[i].z, c_snr[i], of, oi, om);
          if (ok) {  // at least one unmasked, non-zero bin, so the unit norm below exists
            ok = false;
            for (std::size_t b = 0; b < B && !ok; ++b) ok = !om[b] && of[b] != 0.0f;
          }
          if (!ok) why = Reject::no_data;
          else if (!(c_snr[i] > s.sel.snr_min)) why = Reject::snr;
          if (why == Reject::none && !values_in_range(of, oi)) c_overflow[i] = 1;  // a row that would be kept
        }
        c_why[i] = why;
      }
    }
    // Values the reader accepts (finite) can still overflow float once shifted by (1 + z),
    // resampled or normalised: refuse the file with the row rather than write inf.
    for (std::size_t i = 0; i < m; ++i)
      if (c_overflow[i]) {
        const auto [flux_max, ivar_max] = max_flux_and_ivar(spectra, i);
        throw InputError(fmt::format(
            "{}: row {} (TARGETID {}): FLUX or IVAR out of range once shifted to the rest frame and resampled "
            "(FLUX up to {:g}, IVAR up to {:g} in the file: 32-bit floats overflow, and no spectrum is that bright "
            "or that precise)",
            pair.coadd.string(), spectra.first_row + std::int64_t(i), spectra.fibermap[i].targetid,
            flux_max, ivar_max));
      }
    for (std::size_t i = 0; i < m; ++i) {
      if (c_why[i] != Reject::none) {
        rejected.add(c_why[i]);
        continue;
      }
      const auto at = static_cast<std::ptrdiff_t>(i * B), len = static_cast<std::ptrdiff_t>(B);
      rows.flux.insert(rows.flux.end(), c_flux.begin() + at, c_flux.begin() + at + len);
      rows.ivar.insert(rows.ivar.end(), c_ivar.begin() + at, c_ivar.begin() + at + len);
      rows.mask.insert(rows.mask.end(), c_mask.begin() + at, c_mask.begin() + at + len);
      const FiberInfo& fiber = spectra.fibermap[i];
      rows.targetid.push_back(fiber.targetid);
      // The coadd's own SURVEY/PROGRAM (healpix coadds say them in the header), else the
      // zcatalog row's.
      rows.survey.push_back(spectra.survey.empty() ? zs[i].survey : spectra.survey);
      rows.program.push_back(spectra.program.empty() ? zs[i].program : spectra.program);
      rows.healpix.push_back(spectra.healpix);
      rows.ra.push_back(fiber.ra);
      rows.dec.push_back(fiber.dec);
      rows.z.push_back(zs[i].z);
      rows.zwarn.push_back(zs[i].zwarn);
      rows.deltachi2.push_back(zs[i].deltachi2);
      rows.spectype.push_back(zs[i].spectype);
      rows.coadd_fiberstatus.push_back(fiber.coadd_fiberstatus);
      rows.snr.push_back(c_snr[i]);
      // Strings go into fixed-width columns as they are: a value too long or not UTF-8 is named.
      if (const char* bad = rows.bad_string_at(rows.targetid.size() - 1)) {
        std::string value;
        rows.for_each_column([&](const ColumnSpec& spec, const auto& col) {
          if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::vector<std::string>>)
            if (std::string_view(spec.name) == bad) value = col.back();
        });
        throw InputError(fmt::format("{}: row {} (TARGETID {}): {} '{}' is {}", pair.coadd.string(),
                                     spectra.first_row + std::int64_t(i), fiber.targetid, upper_name(bad), value,
                                     valid_utf8(value) ? fmt::format("longer than {} bytes", kRowStringWidth)
                                                       : std::string("not valid UTF-8")));
      }
      acc.file.push_back(slice.file);
      ++rows.count;
    }
    done += n;
    after_chunk();
  }
}

// Keeps only the rows whose file is not flagged bad and that are not a duplicate dropped
// (`dropped`, by spool row; `first` is the spool row of acc's first row).
void drop_rows(Accepted& acc, const std::vector<std::int64_t>& bad, const std::vector<std::uint8_t>& dropped,
               std::int64_t first, std::size_t B) {
  auto& r = acc.rows;
  std::size_t out = 0;
  for (std::size_t i = 0; i < acc.file.size(); ++i) {
    if (bad[acc.file[i]] || dropped[static_cast<std::size_t>(first) + i]) continue;
    if (out != i) {
      std::copy_n(r.flux.begin() + i * B, B, r.flux.begin() + out * B);
      std::copy_n(r.ivar.begin() + i * B, B, r.ivar.begin() + out * B);
      std::copy_n(r.mask.begin() + i * B, B, r.mask.begin() + out * B);
      r.move_row(i, out);
      acc.file[out] = acc.file[i];
    }
    ++out;
  }
  r.count = static_cast<std::int64_t>(out);
  r.flux.resize(out * B), r.ivar.resize(out * B), r.mask.resize(out * B);
  r.resize_columns(out);
  acc.file.resize(out);
}

// A spooled row's claim to its key, for the de-duplication.
struct RowKey {
  std::int64_t targetid = 0;
  std::uint64_t group = 0;     // hash of SURVEY and PROGRAM (0 with one row per TARGETID)
  std::int64_t position = 0;   // global input order (row number before de-duplication)
  float snr = 0;
  std::int32_t zwarn_ok = 0;   // 1 when ZWARN == 0
};

std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser: spreads TARGETIDs over ranks
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// One row per key (kDedupRule), over every rank: each key goes to the rank that owns its
// TARGETID's hash, which picks the winner and sends back the positions of the others.
// `keys` are this rank's rows of good files in spool order with positions from `offset`
// (offsets[r] is rank r's first position, offsets[P] the total). Returns the positions
// (offset-relative) this rank drops. Memory: O(rows per rank).
std::vector<std::int64_t> find_duplicates(Communicator& comm, const std::vector<RowKey>& keys,
                                          const std::vector<std::int64_t>& offsets) {
  const int P = comm.size(), me = comm.rank();
  std::vector<std::vector<RowKey>> out(static_cast<std::size_t>(P));
  for (const RowKey& k : keys) out[mix64(static_cast<std::uint64_t>(k.targetid)) % std::uint64_t(P)].push_back(k);
  std::vector<RowKey> send;
  std::vector<std::size_t> counts;
  for (auto& v : out) {
    counts.push_back(v.size());
    send.insert(send.end(), v.begin(), v.end());
  }
  std::vector<RowKey> mine = comm.alltoallv<RowKey>(send, counts);
  std::sort(mine.begin(), mine.end(), [](const RowKey& a, const RowKey& b) {
    if (a.targetid != b.targetid) return a.targetid < b.targetid;
    if (a.group != b.group) return a.group < b.group;
    if (a.zwarn_ok != b.zwarn_ok) return a.zwarn_ok > b.zwarn_ok;
    if (a.snr != b.snr) return a.snr > b.snr;
    return a.position < b.position;
  });
  std::vector<std::vector<std::int64_t>> losers(static_cast<std::size_t>(P));
  for (std::size_t i = 1; i < mine.size(); ++i)
    if (mine[i].targetid == mine[i - 1].targetid && mine[i].group == mine[i - 1].group) {
      const std::int64_t pos = mine[i].position;
      const auto r = std::upper_bound(offsets.begin(), offsets.end(), pos) - offsets.begin() - 1;
      losers[static_cast<std::size_t>(r)].push_back(pos);
    }
  std::vector<std::int64_t> back;
  counts.clear();
  for (auto& v : losers) {
    counts.push_back(v.size());
    back.insert(back.end(), v.begin(), v.end());
  }
  std::vector<std::int64_t> dropped = comm.alltoallv<std::int64_t>(back, counts);
  for (auto& p : dropped) p -= offsets[static_cast<std::size_t>(me)];
  return dropped;
}

// Global rows k·N/S (k = 0..S-1): spread over the whole survey, independent of rank count.
bool in_pca_sample(std::int64_t g, std::int64_t N, std::int64_t S) {
  if (S >= N) return true;
  const std::int64_t k = (g * S + N - 1) / N;
  return k < S && (k * N) / S == g;
}

// Where finished rows go: open(offset, total, grid) once, then write(chunk) in collective
// rounds (every rank the same number of times, empty chunks allowed).
struct RowSink {
  std::function<void(std::int64_t, std::int64_t, const std::vector<double>&)> open;
  std::function<void(DatasetRows&)> write;
};

// Unit L2 norm (ivar scaled by norm²) and split for finished rows; masked bins infilled first.
std::int64_t finish_rows(DatasetRows& rows, PcaInfiller* infiller, double val_fraction) {
  const std::size_t B = static_cast<std::size_t>(rows.n_bins);
  std::int64_t n_infilled = 0;
  rows.split.resize(static_cast<std::size_t>(rows.count));
  for (std::int64_t i = 0; i < rows.count; ++i) {
    std::span<float> f(rows.flux.data() + i * B, B), iv(rows.ivar.data() + i * B, B);
    std::span<const std::uint8_t> m(rows.mask.data() + i * B, B);
    if (std::find(m.begin(), m.end(), 1) != m.end()) {
      SPECVAE_CHECK(infiller && infiller->infill(f, m), "row {} has no unmasked bin after selection", rows.begin + i);
      ++n_infilled;
    }
    double ss = 0;
    for (float v : f) ss += double(v) * double(v);
    const double norm = std::sqrt(ss);
    // Pass 1 refused rows whose values could overflow here (values_in_range).
    SPECVAE_CHECK(norm > 0 && std::isfinite(norm), "row {} (TARGETID {}) has norm {}", rows.begin + i,
                  rows.targetid[i], norm);
    for (std::size_t b = 0; b < B; ++b) {
      f[b] = static_cast<float>(f[b] / norm);
      iv[b] = static_cast<float>(iv[b] * norm * norm);
      SPECVAE_CHECK(std::isfinite(iv[b]), "row {} (TARGETID {}): ivar × norm² overflows in bin {}", rows.begin + i,
                    rows.targetid[i], b);
    }
    rows.split[i] = split_of(rows.targetid[i], val_fraction);
  }
  return n_infilled;
}

// The infill PCA, fitted on every rank alike from a deterministic sample of S of the N kept
// rows (global rows floor(k·N/S)), gathered in global row order. read_kept(k): this rank's
// k-th spool chunk without its dropped rows; offset: its first global row (collective).
PcaModel fit_sample_pca(Communicator& comm, const Settings& s, std::size_t chunks,
                        const std::function<DatasetRows(std::size_t)>& read_kept, std::int64_t offset, std::int64_t N,
                        std::int64_t S) {
  const std::size_t B = static_cast<std::size_t>(s.grid.n_bins);
  std::vector<float> my_flux;
  std::vector<std::uint8_t> my_mask;
  for (std::size_t k = 0, g = static_cast<std::size_t>(offset); k < chunks; ++k) {
    const DatasetRows rows = read_kept(k);
    for (std::int64_t i = 0; i < rows.count; ++i, ++g) {
      if (!in_pca_sample(static_cast<std::int64_t>(g), N, S)) continue;
      my_flux.insert(my_flux.end(), rows.flux.begin() + i * B, rows.flux.begin() + (i + 1) * B);
      my_mask.insert(my_mask.end(), rows.mask.begin() + i * B, rows.mask.begin() + (i + 1) * B);
    }
  }
  PcaModel model;
  if (N > 0) {
    const auto sample_flux = comm.allgatherv<float>(my_flux);
    const auto sample_mask = comm.allgatherv<std::uint8_t>(my_mask);
    SPECVAE_CHECK(sample_flux.size() == static_cast<std::size_t>(S) * B, "PCA sample: {} values for {} spectra",
                  sample_flux.size(), S);
    model = fit_iterative_pca(sample_flux, sample_mask, S, s.grid.n_bins, s.n_ev, s.n_iter);
  }
  return model;
}

// What the dataset records of how it was made (identical on every rank): the grid, the
// selection and config, the inputs, the rejections and skipped files, and the definitions of
// its flux, S/N, mask, infill and split.
DatasetProvenance provenance(const Config& cfg, const Settings& s, const std::vector<InputPair>& pairs,
                             const std::vector<std::int64_t>& reject_totals, std::int64_t bad_spectra,
                             const std::vector<std::string>& skipped_files, const PcaModel& model, std::int64_t S,
                             std::int64_t n_infilled) {
  DatasetProvenance p;
  p.wave = s.grid.centres();
  p.wave_min = s.grid.wave_min;
  p.wave_max = s.grid.wave_max;
  p.selection = s.sel.describe();
  p.config_toml = cfg.to_toml();
  p.config_hash = cfg.hash();
  for (const auto& pr : pairs) {
    p.input_files.push_back(pr.coadd.string());
    if (!pr.zcatalog) p.input_files.push_back(pr.redrock.string());
  }
  if (!pairs.empty() && pairs.front().zcatalog) p.input_files.push_back(pairs.front().redrock.string());
  for (int k = 1; k < kRejectReasons; ++k) p.rejected[reject_name(static_cast<Reject>(k))] = reject_totals[k];
  p.rejected["bad_file"] = bad_spectra;
  std::string skipped;
  for (const auto& f : skipped_files) skipped += f + "\n";
  p.extra_string_attrs["skipped_files"] = skipped;
  p.extra_string_attrs["flux_convention"] =
      "rest frame: f_rest(lambda/(1+z)) = (1+z) f_obs(lambda), ivar_rest = ivar_obs/(1+z)^2; flux-conserving "
      "resampling (SpectRes weights and errors) onto equal bins; then each spectrum divided by its L2 norm over "
      "all bins (after infill) and ivar multiplied by norm^2";
  p.extra_string_attrs["snr_definition"] =
      "median of flux*sqrt(ivar) over good observed-frame brz pixels whose rest wavelength lies in [wave_min, wave_max]";
  p.extra_string_attrs["mask_definition"] = fmt::format(
      "mask = 1 (ivar = 0, flux infilled by PCA) where the bin is not covered by the observed range or more than {} "
      "of its width came from bad pixels (MASK & bad_mask_bits, ivar <= 0, flux == 0, non-finite), which were filled by "
      "linear interpolation in the observed frame",
      kMaxBadFraction);
  p.extra_string_attrs["pca_infill"] = fmt::format(
      "iterative PCA (astroML iterative_pca, norm L2, 0/1 weights): {} eigenspectra fitted on {} spectra (global rows "
      "floor(k*N/S)), {} iterations; masked bins replaced by the weighted least-squares projection; {} spectra infilled",
      model.n_ev, S, model.iterations, n_infilled);
  p.extra_string_attrs["split_rule"] = fmt::format(
      "split = 1 (validation) when fnv1a64(TARGETID as 8 little-endian bytes) / 2^64 < {}", s.val_fraction);

  return p;
}

// Both passes of the stage. Pass 1 reads and preprocesses this rank's rows chunk by chunk into
// the spool; the PCA is fitted on a deterministic sample of the whole survey; pass 2 reads the
// spool back chunk by chunk, infills, normalises and hands each chunk to the sink. Peak memory:
// one input chunk, one spool chunk and the PCA sample.
DatasetProvenance ingest_passes(Communicator& comm, const Config& cfg, const std::vector<InputPair>& pairs,
                                RowSpool& spool, const RowSink& sink, std::int64_t& total_rows, bool allow_empty) {
  const auto t0 = Clock::now();
  const Settings s(cfg);
  const int P = comm.size(), me = comm.rank();
  const std::size_t nfiles = pairs.size(), B = static_cast<std::size_t>(s.grid.n_bins);

  // Why each skipped file was bad, from whichever rank found it (logged on rank 0).
  std::string skip_notes;
  // 1. Spectrum counts (a header read per file), shared out over ranks.
  std::vector<std::int64_t> counts(nfiles, 0), bad(nfiles, 0);
  for (std::size_t f = static_cast<std::size_t>(me); f < nfiles; f += static_cast<std::size_t>(P)) {
    try {
      counts[f] = count_desi_spectra(pairs[f].coadd);
      check_coadd_targetids(pairs[f].coadd);
    } catch (const InputError& e) {
      if (!s.skip_bad) throw;
      skip_notes += one_line(e.what()) + '\n';
      bad[f] = 1;
    }
  }
  comm.allreduce_sum(std::span<std::int64_t>(counts));
  comm.allreduce_sum(std::span<std::int64_t>(bad));
  const std::vector<std::int64_t> spectra_in = counts;  // 0 for a file that could not be counted
  for (std::size_t f = 0; f < nfiles; ++f)
    if (bad[f]) counts[f] = -1;

  // 2. Pass 1: read and preprocess this rank's rows, chunk by chunk, into the spool.
  Accepted acc;
  acc.rows.n_bins = s.grid.n_bins;
  std::vector<RowKey> spooled_keys;  // one per spool row, positions set below
  const auto add_keys = [&](const DatasetRows& rows) {
    for (std::size_t i = 0; i < rows.targetid.size(); ++i) {
      RowKey k;
      k.targetid = rows.targetid[i];
      k.group = s.sel.one_row_per_targetid ? 0 : fnv1a64(rows.survey[i] + '\0' + rows.program[i]);
      k.snr = rows.snr[i];
      k.zwarn_ok = rows.zwarn[i] == 0 ? 1 : 0;
      spooled_keys.push_back(k);
    }
  };
  const auto flush = [&] {
    add_keys(acc.rows);
    spool.append(acc.rows, acc.file);
    acc = Accepted{};
    acc.rows.n_bins = s.grid.n_bins;
  };
  const auto slices = rank_slices(counts, me, P);
  std::int64_t my_input = 0;
  for (const auto& sl : slices) my_input += sl.count;
  std::vector<RejectCounts> rejected(nfiles);
  // A run that was stopped left this rank's first slices in its spool: they are not read again
  // (the spool's key says they are these inputs with these settings on this many ranks).
  std::size_t slices_done = 0;
  if (const nlohmann::json& st = spool.resumed_state(); !st.is_null()) {
    slices_done = st.at("slices_done");
    for (const auto& [f, n] : st.at("rejected").get<std::vector<std::pair<std::size_t, std::vector<std::int64_t>>>>())
      std::copy(n.begin(), n.end(), rejected.at(f).n.begin());
    for (const std::size_t f : st.at("bad").get<std::vector<std::size_t>>()) bad.at(f) = std::max<std::int64_t>(bad[f], 1);
    skip_notes += st.at("notes").get<std::string>();
    std::vector<int> tags;
    for (std::size_t k = 0; k < spool.chunks(); ++k) add_keys(spool.read(k, tags));
  }
  const auto save_progress = [&](std::size_t done) {
    std::vector<std::pair<std::size_t, std::vector<std::int64_t>>> rej;
    for (std::size_t f = 0; f < nfiles; ++f)
      if (std::any_of(rejected[f].n.begin(), rejected[f].n.end(), [](std::int64_t v) { return v != 0; }))
        rej.emplace_back(f, std::vector<std::int64_t>(rejected[f].n.begin(), rejected[f].n.end()));
    std::vector<std::size_t> bad_files;
    for (std::size_t f = 0; f < nfiles; ++f)
      if (bad[f]) bad_files.push_back(f);
    spool.save_index({{"slices_done", done}, {"rejected", rej}, {"bad", bad_files}, {"notes", skip_notes}});
  };
  {
    const auto resumed = comm.allreduce_sum(static_cast<std::int64_t>(slices_done));
    const auto all = comm.allreduce_sum(static_cast<std::int64_t>(slices.size()));
    if (resumed > 0)
      log::info("ingest: resuming a stopped run: {} of {} file slices were read before and are not read again", resumed, all);
  }
  Progress progress("ingest: read", "spectra", my_input);  // this rank's share
  for (std::size_t k = 0; k < slices.size(); ++k) {
    const FileSlice& sl = slices[k];
    if (k < slices_done) {
      progress.advance(sl.count);
      continue;
    }
    try {
      process_slice(s, pairs[sl.file], sl, s.grid.n_bins, acc, rejected[sl.file], flush);
    } catch (const InputError& e) {
      if (!s.skip_bad) throw;
      skip_notes += one_line(e.what()) + '\n';
      bad[sl.file] = 1;
      flush();  // rows of the bad file already accepted are dropped below, with their file
    }
    if (spool.resumable()) {
      save_progress(k + 1);
      inject_crash("ingest.slice_done");
    }
    progress.advance(sl.count);
  }
  const double t_read = seconds_since(t0);

  // 3. A file bad on any rank is dropped by all of them.
  comm.allreduce_sum(std::span<std::int64_t>(bad));
  if (s.skip_bad) {
    const std::vector<char> notes = comm.allgatherv<char>(std::span<const char>(skip_notes.data(), skip_notes.size()));
    std::string_view all(notes.data(), notes.size());
    std::set<std::string_view> said;  // a file split over ranks can fail the same way on each
    for (std::size_t at = 0; at < all.size();) {
      const std::size_t end = all.find('\n', at);
      const std::string_view note = all.substr(at, end - at);
      if (said.insert(note).second) log::warn("skipping a bad input file (ingest.on_bad_file = skip): {}", note);
      at = end + 1;
    }
  }
  std::vector<std::int64_t> reject_totals(kRejectReasons, 0);
  for (std::size_t f = 0; f < nfiles; ++f) {
    if (bad[f]) continue;
    for (int k = 1; k < kRejectReasons; ++k) reject_totals[k] += rejected[f].n[k];
  }
  comm.allreduce_sum(std::span<std::int64_t>(reject_totals));
  std::int64_t bad_spectra = 0;  // spectra in skipped files (0 for a file that could not be counted)
  for (std::size_t f = 0; f < nfiles; ++f)
    if (bad[f]) bad_spectra += spectra_in[f];
  // 3b. One row per key (kDedupRule), counted as rejected_duplicate.
  std::vector<std::uint8_t> dropped(static_cast<std::size_t>(spool.rows()), 0);
  {
    const std::vector<int>& tags = spool.tags();
    std::vector<RowKey> keys;
    std::vector<std::size_t> spool_row;
    for (std::size_t i = 0; i < tags.size(); ++i)
      if (!bad[static_cast<std::size_t>(tags[i])]) {
        keys.push_back(spooled_keys[i]);
        spool_row.push_back(i);
      }
    const std::int64_t good = static_cast<std::int64_t>(keys.size());
    const std::int64_t first = comm.exclusive_scan_sum(good);
    std::vector<std::int64_t> offsets = comm.allgather<std::int64_t>(first);
    offsets.push_back(comm.allreduce_sum(good));
    for (std::size_t j = 0; j < keys.size(); ++j) keys[j].position = first + static_cast<std::int64_t>(j);
    const std::vector<std::int64_t> losers = find_duplicates(comm, keys, offsets);
    for (const std::int64_t j : losers) dropped[spool_row[static_cast<std::size_t>(j)]] = 1;
    reject_totals[static_cast<int>(Reject::duplicate)] = comm.allreduce_sum(static_cast<std::int64_t>(losers.size()));
  }
  auto read_kept = [&](std::size_t k) {
    Accepted chunk;
    chunk.rows = spool.read(k, chunk.file);
    drop_rows(chunk, bad, dropped, spool.first_row(k), B);
    chunk.rows.split.resize(static_cast<std::size_t>(chunk.rows.count));
    return std::move(chunk.rows);
  };

  // 4. Global offsets.
  std::int64_t kept = 0;
  for (std::size_t i = 0; i < spool.tags().size(); ++i)
    kept += bad[static_cast<std::size_t>(spool.tags()[i])] || dropped[i] ? 0 : 1;
  const std::int64_t offset = comm.exclusive_scan_sum(kept);
  const std::int64_t N = comm.allreduce_sum(kept);
  total_rows = N;
  std::int64_t input_total = 0;
  for (auto c : spectra_in) input_total += c;
  std::string reasons;  // "z_range 35, snr 12" (what the rejected_* attributes hold)
  for (int k = 1; k < kRejectReasons; ++k)
    if (reject_totals[k] > 0)
      reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reject_name(static_cast<Reject>(k)), reject_totals[k]);
  if (bad_spectra > 0) reasons += fmt::format("{}bad_file {}", reasons.empty() ? "" : ", ", bad_spectra);
  std::vector<std::string> skipped_files;
  for (std::size_t f = 0; f < nfiles; ++f)
    if (bad[f]) skipped_files.push_back(pairs[f].coadd.string());
  if (N == 0 && !allow_empty)
    throw InputError(fmt::format("no spectrum passed the selection: {} spectra in {} files, rejected: {}{}; nothing "
                                 "written (the ingest.* keys set the selection)",
                                 input_total, nfiles, reasons.empty() ? "none" : reasons,
                                 skipped_files.empty() ? ""
                                                       : fmt::format("; {} files skipped as bad", skipped_files.size())));

  // 5. PCA on a deterministic sample, gathered in global row order to every rank.
  const auto t_pca = Clock::now();
  const std::int64_t S = std::min(s.pca_sample, N);
  const PcaModel model = fit_sample_pca(comm, s, spool.chunks(), read_kept, offset, N, S);
  const double t_fit = seconds_since(t_pca);

  // 6. Pass 2: infill, unit L2 norm (ivar scaled by norm²), split; written in collective rounds.
  const auto t_fill = Clock::now();
  const std::vector<double> wave = s.grid.centres();
  sink.open(offset, N, wave);
  std::int64_t n_infilled = 0, next = offset;
  const auto rounds = static_cast<std::int64_t>(comm.allreduce_max(static_cast<double>(spool.chunks())));
  {
    std::unique_ptr<PcaInfiller> infiller;
    if (N > 0) infiller = std::make_unique<PcaInfiller>(model, s.n_iter);
    for (std::int64_t k = 0; k < rounds; ++k) {
      DatasetRows rows;
      rows.n_bins = s.grid.n_bins;
      if (static_cast<std::size_t>(k) < spool.chunks()) rows = read_kept(static_cast<std::size_t>(k));
      rows.begin = next;
      n_infilled += finish_rows(rows, infiller.get(), s.val_fraction);
      next += rows.count;
      sink.write(rows);
    }
  }
  const double t_infill = seconds_since(t_fill);
  n_infilled = comm.allreduce_sum(n_infilled);

  // 7. Provenance (identical on every rank).
  const DatasetProvenance p =
      provenance(cfg, s, pairs, reject_totals, bad_spectra, skipped_files, model, S, n_infilled);

  log::info("ingest: {} spectra in {} files -> {} kept (rejected: {}); PCA: {} eigenspectra from {} spectra in {} "
            "iterations",
            input_total, nfiles, N, reasons.empty() ? "none" : reasons, model.n_ev, S, model.iterations);
  if (!skipped_files.empty())
    log::warn("{} of {} files skipped as bad (ingest.on_bad_file = skip; listed in the dataset's skipped_files "
              "attribute)",
              skipped_files.size(), nfiles);
  log::info("ingest timings (rank 0): read+preprocess {:.2f} s for {} rows ({:.0f} spectra/s), PCA fit {:.2f} s, "
            "infill+normalise {:.2f} s",
            t_read, my_input, t_read > 0 ? my_input / t_read : 0.0, t_fit, t_infill);
  return p;
}

// What a rank's spool holds: the ingest settings, every input file as it is on disk (path, size,
// modification time) and this rank's place in the job. A rerun resumes only when all agree.
std::string spool_key(const Config& cfg, const std::vector<InputPair>& pairs, const fs::path& zcatalog, int rank,
                      int ranks) {
  std::string text = config_section_text(cfg, "ingest.");
  const auto stamp = [&](const fs::path& f) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    text += fmt::format("{}|{}|{};", fs::absolute(f).string(), ec ? 0 : size, ec ? 0 : mtime);
  };
  for (const auto& p : pairs) {
    stamp(p.coadd);
    if (!p.zcatalog) stamp(p.redrock);
  }
  if (!zcatalog.empty()) stamp(zcatalog);
  text += fmt::format("rank {} of {}", rank, ranks);
  return fnv1a_hex(text);
}

}  // namespace

IngestOutput preprocess_survey(Communicator& comm, const Config& cfg, const std::vector<InputPair>& pairs) {
  IngestOutput out;
  RowSpool spool;  // in memory: this form returns every row anyway
  RowSink sink;
  sink.open = [&](std::int64_t offset, std::int64_t, const std::vector<double>&) {
    out.rows = DatasetRows{};
    out.rows.n_bins = static_cast<int>(cfg.get_int("ingest.n_bins"));
    out.rows.begin = offset;
  };
  sink.write = [&](DatasetRows& rows) { out.rows.append(rows); };
  out.provenance = ingest_passes(comm, cfg, pairs, spool, sink, out.total_rows, /*allow_empty=*/true);
  return out;
}

IngestResult run_ingest(const StageContext& ctx, const IngestOptions& options) {
  MpiCommunicator& comm = ctx.mpi();
  const Config& cfg = ctx.config();
  const fs::path& out = options.out;
  const fs::path& zcatalog = options.zcatalog;
  const bool overwrite = options.overwrite;
  const std::vector<fs::path>& inputs = options.inputs;
  if (!overwrite && fs::exists(out))
    throw InputError(fmt::format("{}: already exists (use --overwrite to replace it)", out.string()));
  if (fs::is_directory(out))
    throw InputError(fmt::format("{}: is a directory; --out names the dataset file to write", out.string()));
  const auto pairs = find_input_pairs(inputs, zcatalog);
  if (fs::exists(out)) {
    std::error_code ec;
    for (const auto& p : pairs)
      for (const auto& in : {p.coadd, p.redrock})
        if (fs::equivalent(out, in, ec))
          throw InputError(fmt::format("{}: is one of the input files; --out must name a new file", out.string()));
  }
  log::info("ingest: {} coadd files on {} ranks, redshifts from {}", pairs.size(), comm.size(),
            zcatalog.empty() ? std::string("their redrock files") : zcatalog.string());
  // Rows wait between the passes in a scratch file per rank beside the output, removed at the
  // end. A job that was stopped leaves them with an index of the file slices they hold: a rerun
  // with the same settings, inputs and rank count reads only the slices not yet spooled. Rank 0
  // clears the files of ranks this job does not have; a key that differs starts a rank afresh.
  if (comm.rank() == 0) {
    std::error_code ec;
    const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    const std::string prefix = out.filename().string() + ".spool.";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      std::string rank = name.substr(prefix.size());
      if (rank.ends_with(".index")) rank.resize(rank.size() - 6);
      if (!rank.empty() && rank.size() < 9 && rank.find_first_not_of("0123456789") == std::string::npos &&
          std::stoi(rank) >= comm.size())
        fs::remove(e.path(), ec);
    }
  }
  comm.barrier();
  const fs::path spool_path = out.string() + fmt::format(".spool.{}", comm.rank());
  const auto remove_spools = [&] {
    std::error_code ec;
    for (int r = 0; r < comm.size(); ++r)
      for (const char* ext : {"", ".index"}) fs::remove(fs::path(out.string() + fmt::format(".spool.{}{}", r, ext)), ec);
  };
  RowSpool spool(spool_path, spool_key(cfg, pairs, zcatalog, comm.rank(), comm.size()));
  DatasetWriter writer(comm.handle(), out, overwrite);
  RowSink sink;
  sink.open = [&](std::int64_t offset, std::int64_t total, const std::vector<double>& wave) {
    // Refused here, before the long write, when the dataset will not fit: 9 bytes a bin and the
    // per-row columns for each row, and HDF5's own.
    check_disk_space(comm, out, static_cast<double>(total) * (9.0 * static_cast<double>(wave.size()) + 170.0) + 1e6,
                     fmt::format("the dataset ({} rows)", total));
    writer.open(offset, total, wave);
  };
  sink.write = [&](DatasetRows& rows) { writer.write(rows); };
  std::int64_t total = 0;
  const auto t = Clock::now();
  // A dataset of no rows is refused before anything is written: an existing one is kept.
  std::int64_t n = 0;
  try {
    const DatasetProvenance provenance = ingest_passes(comm, cfg, pairs, spool, sink, total, /*allow_empty=*/false);
    n = writer.commit(provenance);
  } catch (...) {
    // A rank that fails alone ends the job before the others clean up: it removes every rank's
    // scratch file (the dataset's temporary file goes with the writer, on every rank).
    remove_spools();
    throw;
  }
  log::info("ingest: wrote {} rows to {} ({:.2f} s for the infill pass and the write)", n, out.string(), seconds_since(t));
  return {n};
}

}  // namespace specvae::ingest
