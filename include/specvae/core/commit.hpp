// A set of files that replaces another set all together, even across a kill. The new files are
// written whole in a staging folder beside the old ones; then a journal naming what goes and
// what comes is written; then the old files are removed and the new ones renamed into place,
// and the journal removed. A kill during that leaves the journal, and the next stage to use
// the folder finishes the commit (rolls it forward) before it reads anything. One process
// (rank 0) commits; other ranks may write into the staging folder by its path.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace specvae {

class StagingDir {
 public:
  // Creates `<dir>/.staging-<name>-<pid>-<n>`, a new folder (never an existing one or a symlink).
  StagingDir(const std::filesystem::path& dir, const std::string& name);
  ~StagingDir();  // removes the folder and what is in it, unless committed
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Removes the files named in `remove` (file names in the folder; missing ones are fine) and
  // moves every file of the staging folder into the folder, as one commit.
  void commit(const std::vector<std::string>& remove);

 private:
  std::filesystem::path dir_, path_;
  std::string name_;
  bool done_ = false;
};

// The journal of the commit `name` in `dir`.
std::filesystem::path commit_journal_path(const std::filesystem::path& dir, const std::string& name);

// Finishes the commit `name` a kill interrupted in `dir`; returns true if there was one.
bool finish_interrupted_commit(const std::filesystem::path& dir, const std::string& name);

}  // namespace specvae
