// RowSpool: raw column blocks per chunk, in memory or in a scratch file.
#include "row_spool.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <type_traits>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"

namespace specvae::ingest {
namespace {

[[noreturn]] void fail_io(const std::filesystem::path& path) {
  const int e = errno;
  throw InputError(fmt::format("{}: cannot write ingest's scratch file: {} (errno {}); it is removed, and no dataset "
                               "was written",
                               path.string(), std::strerror(e), e));
}

template <typename T>
void put(std::FILE* f, const std::vector<T>& v, const std::filesystem::path& path) {
  if (!v.empty() && std::fwrite(v.data(), sizeof(T), v.size(), f) != v.size()) fail_io(path);
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

RowSpool::RowSpool(std::filesystem::path file, std::string resume_key) : path_(std::move(file)), key_(std::move(resume_key)) {
  SPECVAE_CHECK(!path_.empty() && !key_.empty(), "a resumable spool needs a file and a key");
  // What a stopped run recorded: its chunks are kept when its key is ours and the file holds them.
  try {
    std::ifstream in(index_path());
    nlohmann::json index;
    if (in) index = nlohmann::json::parse(in);
    std::int64_t end = 0;
    if (index.is_object() && index.value("key", std::string()) == key_ && std::filesystem::exists(path_)) {
      for (const auto& c : index.at("chunks")) {
        const std::int64_t offset = c.at(0), count = c.at(1);
        first_row_.push_back(total_);
        counts_.push_back(count);
        offsets_.push_back(offset);
        for (const auto& run : c.at(2)) tags_.insert(tags_.end(), run.at(1).get<std::size_t>(), run.at(0).get<int>());
        total_ += count;
      }
      n_bins_ = index.at("n_bins");
      end = index.at("end");
      if (static_cast<std::int64_t>(std::filesystem::file_size(path_)) >= end) resumed_ = index.at("state");
    }
    if (!resumed_.is_null()) {
      std::filesystem::resize_file(path_, static_cast<std::uintmax_t>(end));  // a chunk written after the index goes
      file_ = std::fopen(path_.c_str(), "r+b");
    }
  } catch (const std::exception&) {
    resumed_ = nullptr;  // an unreadable index: start afresh
  }
  if (resumed_.is_null()) {
    counts_.clear(), offsets_.clear(), first_row_.clear(), tags_.clear();
    total_ = 0, n_bins_ = 0;
    if (file_) std::fclose(file_);
    file_ = std::fopen(path_.c_str(), "w+b");
  }
  if (!file_) throw InputError(fmt::format("{}: cannot create the ingest scratch file", path_.string()));
}

RowSpool::~RowSpool() {
  if (!file_) return;
  std::fclose(file_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (!key_.empty()) std::filesystem::remove(index_path(), ec);
}

void RowSpool::save_index(const nlohmann::json& state) {
  SPECVAE_CHECK(file_ && !key_.empty(), "save_index on a spool that is not resumable");
  if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_END) != 0) fail_io(path_);
  nlohmann::json chunks = nlohmann::json::array();
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    nlohmann::json runs = nlohmann::json::array();  // the chunk's tags, run-length coded
    for (std::int64_t i = first_row_[k]; i < first_row_[k] + counts_[k]; ++i) {
      const int t = tags_[static_cast<std::size_t>(i)];
      if (!runs.empty() && runs.back()[0] == t) runs.back()[1] = runs.back()[1].get<std::int64_t>() + 1;
      else runs.push_back({t, 1});
    }
    chunks.push_back({offsets_[k], counts_[k], runs});
  }
  const nlohmann::json index = {{"key", key_}, {"n_bins", n_bins_}, {"end", std::int64_t(std::ftell(file_))},
                                {"chunks", chunks}, {"state", state}};
  write_file_atomically(index_path(), index.dump());
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
  if (std::fseek(file_, 0, SEEK_END) != 0) fail_io(path_);  // flushes the last chunk
  offsets_.push_back(std::int64_t(std::ftell(file_)));
  put(file_, r.flux, path_);
  put(file_, r.ivar, path_);
  put(file_, r.mask, path_);
  r.for_each_column([&](const ColumnSpec& spec, const auto& col) {
    if (std::string_view(spec.name) == "split") return;  // set in pass 2
    if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::vector<std::string>>) {
      std::vector<char> text(std::size_t(r.count) * kRowStringWidth, '\0');
      for (std::size_t i = 0; i < col.size(); ++i) {
        SPECVAE_CHECK(col[i].size() <= kRowStringWidth, "spool: {} of {} bytes", spec.name, col[i].size());
        std::memcpy(text.data() + i * kRowStringWidth, col[i].data(), col[i].size());
      }
      put(file_, text, path_);
    } else {
      put(file_, col, path_);
    }
  });
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
  if (std::fflush(file_) != 0 || std::fseek(file_, long(offsets_[k]), SEEK_SET) != 0) fail_io(path_);
  get(file_, r.flux, nb, path_);
  get(file_, r.ivar, nb, path_);
  get(file_, r.mask, nb, path_);
  r.for_each_column([&](const ColumnSpec& spec, auto& col) {
    if (std::string_view(spec.name) == "split") return;
    if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::vector<std::string>>) {
      std::vector<char> text;
      get(file_, text, n * kRowStringWidth, path_);
      col.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const char* p = text.data() + i * kRowStringWidth;
        col[i] = std::string(p, strnlen(p, kRowStringWidth));
      }
    } else {
      get(file_, col, n, path_);
    }
  });
  r.split.assign(n, 0);
  return r;
}

}  // namespace specvae::ingest
