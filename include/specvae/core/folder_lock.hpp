// One writer at a time: an exclusive flock on a lock file beside the outputs, holding
// "host, pid, since" for whoever finds it held. Released when destroyed or when the process
// ends (a killed job leaves no stale lock).
#pragma once

#include <filesystem>

namespace specvae {

class FolderLock {
 public:
  FolderLock() = default;
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  // Takes the lock at `lock_file` (created if missing, never through a symlink). Held by
  // another process: throws InputError naming `what` and the holder.
  void acquire(const std::filesystem::path& lock_file, const std::string& what);

 private:
  int fd_ = -1;
};

}  // namespace specvae
