// A rank's preprocessed rows between the two passes of ingest (before the PCA infill, which
// needs the eigenspectra fitted on the whole survey): appended chunk by chunk and read back in
// the same chunks, in memory or in a rank-local file, so that peak memory is bounded by the
// chunk size rather than by the number of spectra. Each row carries a tag (its input file).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "specvae/io/dataset.hpp"

namespace specvae::ingest {

class RowSpool {
 public:
  // An empty path keeps the rows in memory; otherwise they go to that file (removed on
  // destruction).
  explicit RowSpool(std::filesystem::path file = {});
  // A spool file that outlives a killed process. `resume_key` names what it holds (the
  // settings, the inputs, the rank and rank count); save_index records the chunks written so
  // far, with the caller's state, in `<file>.index`. A later RowSpool with the same key keeps
  // the chunks a stopped run recorded (the file cut after the last) and hands back its state;
  // with another key, or none recorded, it starts empty.
  RowSpool(std::filesystem::path file, std::string resume_key);
  ~RowSpool();
  RowSpool(const RowSpool&) = delete;
  RowSpool& operator=(const RowSpool&) = delete;

  // Appends rows (begin ignored; split is not stored) with one tag per row.
  void append(const DatasetRows& rows, const std::vector<int>& tags);
  std::size_t chunks() const { return counts_.size(); }
  std::int64_t rows() const { return total_; }
  // The spool row index of chunk k's first row.
  std::int64_t first_row(std::size_t k) const { return first_row_.at(k); }
  // The tags of every row, in order (kept in memory: 4 bytes a row).
  const std::vector<int>& tags() const { return tags_; }
  // Chunk k as appended (split zero-filled), with its tags.
  DatasetRows read(std::size_t k, std::vector<int>& tags) const;

  bool resumable() const { return !key_.empty(); }
  void save_index(const nlohmann::json& state);
  // The state saved by a stopped run whose chunks this spool kept (null when it started empty).
  const nlohmann::json& resumed_state() const { return resumed_; }
  std::filesystem::path index_path() const { return path_.string() + ".index"; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  int n_bins_ = 0;
  std::vector<std::int64_t> counts_, offsets_, first_row_;  // per chunk: rows, byte offset, first row
  std::vector<int> tags_;
  std::int64_t total_ = 0;
  std::vector<DatasetRows> memory_;
  std::string key_;
  nlohmann::json resumed_;
};

}  // namespace specvae::ingest
