// Journaled replacement of a set of files (see commit.hpp).
#include "specvae/core/commit.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"

namespace specvae {
namespace fs = std::filesystem;
namespace {

std::atomic<unsigned> g_counter{0};

// A file name with no folder part, as the journal must hold (it never names a path outside).
bool plain_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos;
}

// Applies a journal: remove, then move, then drop the staging folder and the journal. Each step
// may already have been done by an interrupted run.
void apply(const fs::path& dir, const fs::path& journal, const nlohmann::json& j) {
  const std::string staging = j.at("staging").get<std::string>();
  if (!plain_name(staging) || !staging.starts_with(".staging-"))
    throw InputError(fmt::format("{}: names a staging folder that is not specvae's ({})", journal.string(), staging));
  for (const auto& n : j.at("remove")) {
    const std::string name = n.get<std::string>();
    if (!plain_name(name)) throw InputError(fmt::format("{}: a name with a folder part ({})", journal.string(), name));
    std::error_code ec;
    fs::remove(dir / name, ec);
  }
  for (const auto& n : j.at("move")) {
    const std::string name = n.get<std::string>();
    if (!plain_name(name)) throw InputError(fmt::format("{}: a name with a folder part ({})", journal.string(), name));
    const fs::path from = dir / staging / name;
    std::error_code ec;
    if (fs::exists(fs::symlink_status(from, ec))) {
      fs::rename(from, dir / name, ec);
      if (ec && !fs::exists(fs::symlink_status(from)))  // another process finished this step
        ec.clear();
      if (ec)
        throw InputError(fmt::format("{}: cannot move {} into place ({})", journal.string(), from.string(), ec.message()));
    }
  }
  std::error_code ec;
  fs::remove_all(dir / staging, ec);
  fs::remove(journal, ec);
}

}  // namespace

fs::path commit_journal_path(const fs::path& dir, const std::string& name) {
  return dir / fmt::format(".specvae-commit-{}.json", name);
}

StagingDir::StagingDir(const fs::path& dir, const std::string& name) : dir_(dir), name_(name) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = dir / fmt::format(".staging-{}-{}-{}", name, static_cast<long>(::getpid()), g_counter.fetch_add(1));
    if (::mkdir(path_.c_str(), 0755) == 0) return;
    if (errno != EEXIST)
      throw InputError(fmt::format("{}: cannot create a staging folder ({})", dir.string(),
                                   std::error_code(errno, std::generic_category()).message()));
  }
  throw InputError(fmt::format("{}: no free staging folder name (100 tried)", dir.string()));
}

StagingDir::~StagingDir() {
  if (done_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void StagingDir::commit(const std::vector<std::string>& remove) {
  SPECVAE_CHECK(!done_, "StagingDir::commit twice");
  nlohmann::json j;
  j["staging"] = path_.filename().string();
  j["remove"] = nlohmann::json::array();
  j["move"] = nlohmann::json::array();
  std::vector<std::string> moved;
  for (const auto& e : fs::directory_iterator(path_)) {
    sync_file(e.path());
    moved.push_back(e.path().filename().string());
  }
  std::sort(moved.begin(), moved.end());
  for (const auto& n : moved) j["move"].push_back(n);
  for (const auto& n : remove)
    if (std::find(moved.begin(), moved.end(), n) == moved.end()) j["remove"].push_back(n);
  const fs::path journal = commit_journal_path(dir_, name_);
  write_file_atomically(journal, j.dump(1) + "\n");
  done_ = true;  // from here on the journal owns the staging folder
  inject_fault("commit.apply");  // the tests' stand-in for a kill between journal and renames
  apply(dir_, journal, j);
}

bool finish_interrupted_commit(const fs::path& dir, const std::string& name) {
  const fs::path journal = commit_journal_path(dir, name);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(journal, ec))) return false;
  std::ifstream in(journal);
  if (!in) return false;  // finished by another process meanwhile
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("staging") || !j.contains("remove") || !j.contains("move"))
    throw InputError(fmt::format("{}: a damaged commit journal; the files it was committing are in the .staging-* "
                                 "folder beside it: rerun the stage that wrote them",
                                 journal.string()));
  log::warn("{}: finishing the commit of {} files that an earlier run was interrupted in", journal.string(),
            j["move"].size());
  apply(dir, journal, j);
  return true;
}

}  // namespace specvae
