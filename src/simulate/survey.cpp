// The survey driver (see simulate.hpp): file groups distributed round robin over ranks,
// each group simulated in memory (OpenMP over its spectra) and written atomically, then
// truth.csv assembled by rank 0 from per-group parts in group order.
#include <cerrno>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/simulate/sim_random.hpp"
#include "specvae/simulate/simulate.hpp"

namespace specvae::sim {
namespace {

std::filesystem::path truth_part_path(const std::filesystem::path& dir, std::int64_t group) {
  return dir / fmt::format(".truth-part-{:06d}.csv", group);
}

std::vector<FitsKey> primary_keys(const SurveySpec& spec, std::int64_t group, std::int64_t healpix) {
  std::string survey = spec.survey, program = spec.program;
  return {{"SPGRP", std::string("healpix"), ""},
          {"SPGRPVAL", std::int64_t{healpix}, ""},
          {"HPXPIXEL", std::int64_t{healpix}, ""},
          {"HPXNSIDE", std::int64_t{64}, ""},
          {"HPXNEST", true, ""},
          {"SURVEY", survey, ""},
          {"PROGRAM", program, ""},
          {"SIMULATE", true, "simulated by specvae simulate"},
          {"SIMSEED", static_cast<std::int64_t>(spec.seed), "survey seed"},
          {"SIMGROUP", group, "file group index"},
          {"SIMVER", specvae::version(), "specvae version"}};
}

}  // namespace

std::filesystem::path coadd_path(const std::filesystem::path& dir, const SurveySpec& spec, std::int64_t group) {
  return dir / fmt::format("coadd-{}-{}-{}.fits", spec.survey, spec.program, group);
}

std::filesystem::path redrock_path(const std::filesystem::path& dir, const SurveySpec& spec, std::int64_t group) {
  return dir / fmt::format("redrock-{}-{}-{}.fits", spec.survey, spec.program, group);
}

GroupDefects draw_group_defects(const SurveySpec& spec, std::int64_t group, std::int64_t nrows) {
  // About one bad CCD column per camera in every other file, hitting the ~10% of the
  // file's spectra that would sit on that CCD amplifier.
  GroupDefects d;
  SimStream s(spec.seed, StreamPurpose::kFileGroup, static_cast<std::uint64_t>(group));
  const int nwave[kNumCameras] = {2751, 2326, 2881};
  for (int c = 0; c < kNumCameras; ++c) {
    if (!s.bernoulli(0.5)) continue;
    BadColumn b;
    b.camera = c;
    b.start = static_cast<int>(s.below(static_cast<std::uint32_t>(nwave[c])));
    b.width = 1 + static_cast<int>(s.below(2));
    const std::int64_t span = std::max<std::int64_t>(1, nrows / 10);
    const std::int64_t first = static_cast<std::int64_t>(s.below(static_cast<std::uint32_t>(std::max<std::int64_t>(nrows, 1))));
    d.columns.push_back(b);
    d.rows.emplace_back(first, std::min(nrows, first + span));
  }
  return d;
}

GroupData render_group(const SurveySpec& spec, const Instrument& inst, std::int64_t group) {
  GroupData d;
  d.group = group;
  d.first = group * spec.spectra_per_file;
  d.nrows = std::min(spec.spectra_per_file, spec.n_spectra - d.first);
  SPECVAE_CHECK(d.nrows > 0, "group {} is empty", group);
  const std::size_t n = static_cast<std::size_t>(d.nrows);
  d.objects.resize(n);
  d.results.resize(n);
  for (int c = 0; c < kNumCameras; ++c) {
    const std::size_t size = n * static_cast<std::size_t>(inst.cameras[static_cast<std::size_t>(c)].nwave);
    d.flux[static_cast<std::size_t>(c)].resize(size);
    d.ivar[static_cast<std::size_t>(c)].resize(size);
    d.mask[static_cast<std::size_t>(c)].resize(size);
  }
  const GroupDefects defects = draw_group_defects(spec, group, d.nrows);
  const std::int64_t nrows = d.nrows;

#pragma omp parallel
  {
    Renderer renderer(inst);
    std::vector<BadColumn> bad;
#pragma omp for schedule(dynamic, 8)
    for (std::int64_t row = 0; row < nrows; ++row) {
      const std::size_t r = static_cast<std::size_t>(row);
      d.objects[r] = draw_object(spec, d.first + row);
      bad.clear();
      for (std::size_t k = 0; k < defects.columns.size(); ++k)
        if (row >= defects.rows[k].first && row < defects.rows[k].second) bad.push_back(defects.columns[k]);
      SpectrumView view;
      for (int c = 0; c < kNumCameras; ++c) {
        const std::size_t cc = static_cast<std::size_t>(c);
        const std::size_t off = r * static_cast<std::size_t>(inst.cameras[cc].nwave);
        view.flux[cc] = d.flux[cc].data() + off;
        view.ivar[cc] = d.ivar[cc].data() + off;
        view.mask[cc] = d.mask[cc].data() + off;
      }
      d.results[r] = renderer.render(d.objects[r], spec.seed, bad, view);
    }
  }
  return d;
}

GroupResult simulate_group(const SurveySpec& spec, const Instrument& inst, std::int64_t group,
                           const std::filesystem::path& out_dir) {
  const GroupData d = render_group(spec, inst, group);
  const std::vector<ObjectParams>& objects = d.objects;
  const std::vector<RenderResult>& results = d.results;
  const std::size_t n = objects.size();
  const int healpix = objects.front().healpix;
  CoaddContent coadd;
  coadd.nspec = d.nrows;
  coadd.resolution = spec.write_resolution;
  coadd.compress = spec.compress;
  coadd.primary = primary_keys(spec, group, healpix);
  coadd.fibermap = make_fibermap(spec, objects);
  coadd.exp_fibermap = make_exp_fibermap(spec, group, objects);
  coadd.scores = make_scores(objects, results);
  const char* bands[kNumCameras] = {"B", "R", "Z"};
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst.cameras[static_cast<std::size_t>(c)];
    const std::size_t cc = static_cast<std::size_t>(c);
    coadd.cameras.push_back(CoaddCamera{bands[c], &cam.wave, d.flux[cc].data(), d.ivar[cc].data(), d.mask[cc].data(),
                                        cam.resolution.data(), kResolutionDiagonals});
  }
  write_coadd(coadd_path(out_dir, spec, group), coadd);

  RedrockContent rr;
  rr.primary = primary_keys(spec, group, healpix);
  rr.redshifts = make_redshifts(objects, results);
  rr.fibermap = make_fibermap(spec, objects);
  rr.exp_fibermap = make_exp_fibermap(spec, group, objects);
  write_redrock(redrock_path(out_dir, spec, group), rr);

  GroupResult g;
  std::string& out = g.truth_rows;
  for (std::size_t i = 0; i < n; ++i) {
    const ObjectParams& p = objects[i];
    out += fmt::format("{},{},{},{},{},{},{:.6f},{:.6f},{},{:.3f},{:.3f}\n", p.targetid, group, i, class_name(p.true_class),
                       p.subtype, anomaly_name(p.anomaly), p.z, results[i].z_reported, class_name(p.reported_class),
                       p.mag_r, results[i].snr);
    ++g.class_counts[static_cast<std::size_t>(p.true_class)];
    ++g.anomaly_counts[static_cast<std::size_t>(p.anomaly)];
  }
  return g;
}

namespace {

// <dir>/.specvae-simulate: the names of the FITS files simulate wrote there, one a line.
std::filesystem::path manifest_path(const std::filesystem::path& dir) { return dir / ".specvae-simulate"; }

std::set<std::string> read_manifest(const std::filesystem::path& dir) {
  std::set<std::string> out;
  std::ifstream in(manifest_path(dir));
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.find('/') == std::string::npos) out.insert(line);
  return out;
}

void write_manifest(const std::filesystem::path& dir, const std::set<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += n + "\n";
  write_file_atomically(manifest_path(dir), text);
}

}  // namespace

SimulateResult run_simulate(const StageContext& ctx, const SimulateOptions& options) {
  const Config& config = ctx.config();
  Communicator& comm = ctx.comm();
  const std::filesystem::path& out_dir = options.out_dir;
  const bool overwrite = options.overwrite;
  const auto t0 = std::chrono::steady_clock::now();
  const SurveySpec spec = SurveySpec::from_config(config);
  SimulateResult summary;
  summary.n_spectra = spec.n_spectra;
  summary.n_files = spec.n_groups();
  const std::filesystem::path truth = out_dir / "truth.csv";
  // What this survey will write: every group's coadd and redrock file.
  std::set<std::string> planned;
  for (std::int64_t g = 0; g < spec.n_groups(); ++g) {
    planned.insert(coadd_path(out_dir, spec, g).filename().string());
    planned.insert(redrock_path(out_dir, spec, g).filename().string());
  }
  std::string failure;
  if (comm.rank() == 0) {
    try {
      std::filesystem::create_directories(out_dir);
      // simulate touches only FITS files its manifest says it wrote: a folder holding others (a
      // user's real DESI files, named as simulated ones are) is refused, overwrite or not.
      const std::set<std::string> mine = read_manifest(out_dir);
      std::vector<std::string> foreign;
      for (const auto& e : std::filesystem::directory_iterator(out_dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 5 && name.substr(name.size() - 5) == ".fits" && !mine.count(name)) foreign.push_back(name);
      }
      std::sort(foreign.begin(), foreign.end());
      if (!foreign.empty())
        throw InputError(fmt::format(
            "{}: holds {} FITS file(s) specvae simulate did not write ({}{}); simulate writes only into a folder of its "
            "own and never replaces files it did not write: move them elsewhere (and give them to ingest, or to run as "
            "run.input)",
            out_dir.string(), foreign.size(), fmt::join(foreign.begin(), foreign.begin() + std::min<std::size_t>(3, foreign.size()), ", "),
            foreign.size() > 3 ? ", ..." : ""));
      if (!overwrite && (std::filesystem::exists(truth) || std::filesystem::exists(coadd_path(out_dir, spec, 0))))
        throw InputError(fmt::format("{}: a simulated survey is already there (use --overwrite to replace it)", out_dir.string()));
      // Files of a larger earlier survey (its own, by the manifest) would be read with this one.
      for (const std::string& name : mine)
        if (!planned.count(name)) std::filesystem::remove(out_dir / name);
      // The manifest names what is about to be written before any of it is, so a killed run's
      // files stay this tool's.
      std::set<std::string> both = planned;
      both.insert(mine.begin(), mine.end());
      for (auto it = both.begin(); it != both.end();)
        it = std::filesystem::exists(out_dir / *it) || planned.count(*it) ? std::next(it) : both.erase(it);
      write_manifest(out_dir, both);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  // Every rank stops with rank 0's reason.
  if (failure = comm.broadcast_string(failure); !failure.empty()) throw InputError(failure);
  const Instrument inst = make_instrument(spec.exptime);
  log::info("simulate: {} spectra in {} files of {} on {} ranks x {} threads, seed {}", spec.n_spectra, spec.n_groups(),
            spec.spectra_per_file, comm.size(), omp_get_max_threads(), spec.seed);

  std::array<std::int64_t, 3 + kNumAnomalyKinds> counts{};
  for (std::int64_t g = comm.rank(); g < spec.n_groups(); g += comm.size()) {
    GroupResult r = simulate_group(spec, inst, g, out_dir);
    const std::filesystem::path part = truth_part_path(out_dir, g);
    {
      std::ofstream os(part, std::ios::binary | std::ios::trunc);
      os << r.truth_rows;
      if (!os) throw std::runtime_error(fmt::format("{}: cannot write", part.string()));
    }
    for (int k = 0; k < 3; ++k) counts[static_cast<std::size_t>(k)] += r.class_counts[static_cast<std::size_t>(k)];
    for (int k = 0; k < kNumAnomalyKinds; ++k) counts[static_cast<std::size_t>(3 + k)] += r.anomaly_counts[static_cast<std::size_t>(k)];
    ++summary.local_groups;
    summary.local_spectra += std::min(spec.spectra_per_file, spec.n_spectra - g * spec.spectra_per_file);
    log::debug("simulate: wrote group {}", g);
  }
  comm.allreduce_sum(std::span<std::int64_t>(counts.data(), counts.size()));
  for (int k = 0; k < 3; ++k) summary.class_counts[static_cast<std::size_t>(k)] = counts[static_cast<std::size_t>(k)];
  for (int k = 0; k < kNumAnomalyKinds; ++k) summary.anomaly_counts[static_cast<std::size_t>(k)] = counts[static_cast<std::size_t>(3 + k)];
  comm.barrier();

  if (comm.rank() == 0) {  // truth.csv in group order, streamed part by part
    StagedFile staged(truth);
    const std::filesystem::path& tmp = staged.temp();
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      os << kTruthHeader << '\n';
      for (std::int64_t g = 0; g < spec.n_groups(); ++g) {
        const std::filesystem::path part = truth_part_path(out_dir, g);
        std::ifstream is(part, std::ios::binary);
        if (!is) throw std::runtime_error(fmt::format("{}: missing truth part of group {}", part.string(), g));
        os << is.rdbuf();
      }
      if (!os.flush()) throw_write_error(tmp, errno != 0 ? errno : EIO);
    }
    staged.commit();
    for (std::int64_t g = 0; g < spec.n_groups(); ++g) std::filesystem::remove(truth_part_path(out_dir, g));
    write_manifest(out_dir, planned);
  }
  comm.barrier();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace specvae::sim
