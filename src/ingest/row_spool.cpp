// RowSpool: raw column blocks per chunk, in memory or in a scratch file.
#include "row_spool.hpp"

#include <cstring>

#include <fmt/format.h>

#include "specvae/core/error.hpp"

namespace specvae::ingest {
namespace {
constexpr std::size_t kTypeLen = 6;  // DESI SPECTYPE width

template <typename T>
void put(std::FILE* f, const std::vector<T>& v, const std::filesystem::path& path) {
  if (!v.empty() && std::fwrite(v.data(), sizeof(T), v.size(), f) != v.size())
    throw InputError(fmt::format("{}: cannot write the ingest scratch file (disk full?)", path.string()));
}

template <typename T>
void get(std::FILE* f, std::vector<T>& v, std::size_t n, const std::filesystem::path& path) {
  v.resize(n);
  if (n && std::fread(v.data(), sizeof(T), n, f) != n)
    throw InputError(fmt::format("{}: the ingest scratch file is shorter than written", path.string()));
}
}  // namespace

RowSpool::RowSpool(std::filesystem::path file) : path_(std::move(file)) {
  if (path_.empty()) return;
  file_ = std::fopen(path_.c_str(), "w+b");
  if (!file_) throw InputError(fmt::format("{}: cannot create the ingest scratch file", path_.string()));
}

RowSpool::~RowSpool() {
  if (!file_) return;
  std::fclose(file_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void RowSpool::append(const DatasetRows& r, const std::vector<int>& tags) {
  SPECVAE_CHECK(std::int64_t(tags.size()) == r.count, "spool: {} tags for {} rows", tags.size(), r.count);
  if (r.count == 0) return;
  if (n_bins_ == 0) n_bins_ = r.n_bins;
  SPECVAE_CHECK(r.n_bins == n_bins_, "spool: rows of {} bins after rows of {}", r.n_bins, n_bins_);
  first_row_.push_back(total_);
  counts_.push_back(r.count);
  tags_.insert(tags_.end(), tags.begin(), tags.end());
  total_ += r.count;
  if (!file_) {
    memory_.push_back(r);
    return;
  }
  SPECVAE_CHECK(std::fseek(file_, 0, SEEK_END) == 0, "spool seek");
  offsets_.push_back(std::int64_t(std::ftell(file_)));
  put(file_, r.flux, path_);
  put(file_, r.ivar, path_);
  put(file_, r.mask, path_);
  put(file_, r.targetid, path_);
  put(file_, r.z, path_);
  put(file_, r.snr, path_);
  put(file_, r.ra, path_);
  put(file_, r.dec, path_);
  std::vector<char> types(std::size_t(r.count) * kTypeLen, '\0');
  for (std::size_t i = 0; i < r.spectype.size(); ++i)
    std::memcpy(types.data() + i * kTypeLen, r.spectype[i].data(), std::min(kTypeLen, r.spectype[i].size()));
  put(file_, types, path_);
}

DatasetRows RowSpool::read(std::size_t k, std::vector<int>& tags) const {
  SPECVAE_CHECK(k < counts_.size(), "spool chunk {} of {}", k, counts_.size());
  const auto first = std::size_t(first_row_[k]), n = std::size_t(counts_[k]);
  tags.assign(tags_.begin() + std::ptrdiff_t(first), tags_.begin() + std::ptrdiff_t(first + n));
  if (!file_) {
    DatasetRows r = memory_[k];
    r.split.assign(n, 0);
    return r;
  }
  DatasetRows r;
  r.count = std::int64_t(n);
  r.n_bins = n_bins_;
  const std::size_t nb = n * std::size_t(n_bins_);
  SPECVAE_CHECK(std::fseek(file_, long(offsets_[k]), SEEK_SET) == 0, "spool seek");
  get(file_, r.flux, nb, path_);
  get(file_, r.ivar, nb, path_);
  get(file_, r.mask, nb, path_);
  get(file_, r.targetid, n, path_);
  get(file_, r.z, n, path_);
  get(file_, r.snr, n, path_);
  get(file_, r.ra, n, path_);
  get(file_, r.dec, n, path_);
  std::vector<char> types;
  get(file_, types, n * kTypeLen, path_);
  r.spectype.resize(n);
  for (std::size_t i = 0; i < n; ++i) r.spectype[i] = std::string(types.data() + i * kTypeLen, strnlen(types.data() + i * kTypeLen, kTypeLen));
  r.split.assign(n, 0);
  return r;
}

}  // namespace specvae::ingest
