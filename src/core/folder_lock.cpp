// flock-based output locks (see folder_lock.hpp).
#include "specvae/core/folder_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

namespace specvae {

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

void FolderLock::acquire(const std::filesystem::path& path, const std::string& what) {
  SPECVAE_CHECK(fd_ < 0, "FolderLock::acquire twice");
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) throw InputError(fmt::format("{}: cannot open the lock file: {}", path.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder(256, '\0');
    const ssize_t got = ::pread(fd_, holder.data(), holder.size(), 0);
    holder.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw InputError(fmt::format("{}: another specvae {} is writing here ({}); wait for it to end, or write "
                                   "elsewhere",
                                   path.parent_path().string(), what, holder.empty() ? "holder unknown" : holder));
    throw InputError(fmt::format("{}: cannot lock: {}", path.string(), std::strerror(err)));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string me = fmt::format("{}: host {}, pid {}, since {:%Y-%m-%d %H:%M:%S} UTC\n", what, host, ::getpid(),
                                     fmt::gmtime(std::time(nullptr)));
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size()))
    log::warn("{}: could not record this process in the lock file", path.string());
}

}  // namespace specvae
