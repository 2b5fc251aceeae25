// Finding the coadd/redrock pairs of a survey and splitting their rows over ranks.
#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "specvae/ingest/ingest.hpp"

namespace fs = std::filesystem;

namespace specvae::ingest {

namespace {
bool has_prefix_suffix(const std::string& name, const std::string& prefix) {
  return name.size() > prefix.size() + 5 && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - 5, 5, ".fits") == 0;
}
}  // namespace

std::vector<InputPair> find_input_pairs(const std::vector<fs::path>& inputs, const fs::path& zcatalog) {
  if (inputs.empty()) throw InputError("ingest: no input given (--input DIR_OR_FILES...)");
  const bool use_zcat = !zcatalog.empty();
  if (use_zcat && !fs::is_regular_file(zcatalog))
    throw InputError(fmt::format("{}: no such redshift catalogue", zcatalog.string()));
  std::set<fs::path> coadds;
  // A text file (.txt, .lst, .list) names inputs, one a line (blank lines and # comments skipped;
  // relative paths are relative to the list's folder).
  std::vector<fs::path> expanded;
  for (const auto& in : inputs) {
    const std::string ext = in.extension().string();
    std::error_code ec;
    if (fs::is_regular_file(in, ec) && (ext == ".txt" || ext == ".lst" || ext == ".list")) {
      std::ifstream list(in);
      if (!list) throw InputError(fmt::format("{}: cannot read the list of inputs", in.string()));
      for (std::string line; std::getline(list, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line.front() == '#') continue;
        const fs::path p(line);
        expanded.push_back(p.is_absolute() ? p : in.parent_path() / p);
      }
    } else {
      expanded.push_back(in);
    }
  }
  for (const auto& in : expanded) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      // DESI's trees (healpix/<survey>/<program>/<group>/<pixel>/, tiles/...) hold each coadd
      // beside its redrock file some levels down: every coadd-*.fits below the folder.
      std::size_t before = coadds.size();
      for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) throw InputError(fmt::format("{}: cannot list: {}", in.string(), ec.message()));
        const std::string name = it->path().filename().string();
        if (it->is_regular_file() && has_prefix_suffix(name, "coadd-")) coadds.insert(fs::absolute(it->path()));
      }
      if (coadds.size() == before)
        throw InputError(fmt::format("{}: no coadd-*.fits file in this folder or below", in.string()));
    } else if (fs::is_regular_file(in, ec)) {
      const std::string name = in.filename().string();
      if (has_prefix_suffix(name, "coadd-")) {
        coadds.insert(fs::absolute(in));
      } else if (has_prefix_suffix(name, "redrock-") && !use_zcat) {
        coadds.insert(fs::absolute(in.parent_path() / ("coadd-" + name.substr(8))));
      } else {
        throw InputError(fmt::format("{}: not a coadd-*.fits or redrock-*.fits file", in.string()));
      }
    } else {
      throw InputError(fmt::format("{}: no such file or folder", in.string()));
    }
  }
  std::vector<InputPair> pairs;
  for (const auto& c : coadds) {
    if (use_zcat) {
      if (!fs::is_regular_file(c)) throw InputError(fmt::format("{}: no such coadd file", c.string()));
      pairs.push_back({c, fs::absolute(zcatalog), true});
      continue;
    }
    const fs::path r = c.parent_path() / ("redrock-" + c.filename().string().substr(6));
    if (!fs::is_regular_file(c)) throw InputError(fmt::format("{}: no such coadd file (named by its redrock file)", c.string()));
    if (!fs::is_regular_file(r))
      throw InputError(fmt::format("{}: no matching redrock file {} (matched by the name suffix)", c.string(), r.string()));
    pairs.push_back({c, r, false});
  }
  return pairs;
}

std::vector<FileSlice> rank_slices(const std::vector<std::int64_t>& counts, int rank, int ranks) {
  std::int64_t total = 0;
  for (auto c : counts) total += std::max<std::int64_t>(c, 0);
  ShardPlan plan(total, ranks);
  const std::int64_t lo = plan.begin(rank), hi = plan.end(rank);
  std::vector<FileSlice> out;
  std::int64_t offset = 0;
  for (std::size_t f = 0; f < counts.size(); ++f) {
    const std::int64_t n = std::max<std::int64_t>(counts[f], 0);
    const std::int64_t a = std::max(lo, offset), b = std::min(hi, offset + n);
    if (a < b) out.push_back({static_cast<int>(f), a - offset, b - a});
    offset += n;
  }
  return out;
}

std::uint8_t split_of(std::int64_t targetid, double val_fraction) {
  unsigned char bytes[8];
  const auto u = static_cast<std::uint64_t>(targetid);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(u >> (8 * i));
  const std::uint64_t h = fnv1a64(std::string_view(reinterpret_cast<const char*>(bytes), 8));
  // Top 53 bits as a double in [0, 1): exact, and the same on every machine.
  const double frac = static_cast<double>(h >> 11) * 0x1.0p-53;
  return frac < val_fraction ? 1 : 0;
}

}  // namespace specvae::ingest
