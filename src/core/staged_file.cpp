// Temporary names unique to a writer, created without following symlinks (see staged_file.hpp).
#include "specvae/core/staged_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "specvae/core/error.hpp"

namespace specvae {
namespace {

std::atomic<unsigned> g_counter{0};

std::string io_message(int err) { return std::error_code(err, std::generic_category()).message(); }

// Creates a fresh temporary file for final_path and returns its descriptor and name.
int create_unique(const std::filesystem::path& final_path, std::filesystem::path& temp) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp = final_path;
    temp += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), g_counter.fetch_add(1));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST) {
      const int err = errno;
      throw InputError(fmt::format("{}: cannot create a file in this folder to write {} ({})", temp.parent_path().string(),
                                   final_path.filename().string(), io_message(err)));
    }
    // Something sits at this name (a file left by an earlier process with our pid, or a
    // planted symlink): leave it alone and take the next name.
  }
  throw InputError(fmt::format("{}: no free temporary name to write {} (100 tried)", final_path.parent_path().string(),
                               final_path.filename().string()));
}

void sync_fd(int fd, const std::filesystem::path& path) {
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
    throw InputError(fmt::format("{}: cannot flush to disk ({})", path.string(), io_message(errno)));
}

void sync_parent(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);  // makes the rename durable; best effort
  ::close(fd);
}

}  // namespace

StagedFile::StagedFile(std::filesystem::path final_path) : final_(std::move(final_path)) {
  fd_ = create_unique(final_, temp_);
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void StagedFile::append(std::string_view bytes) {
  SPECVAE_CHECK(fd_ >= 0 && !done_, "StagedFile::append after commit");
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw InputError(fmt::format("{}: cannot write ({}); {} is unchanged", temp_.string(),
                                   n < 0 ? io_message(errno) : "no progress", final_.string()));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void StagedFile::commit() {
  SPECVAE_CHECK(!done_, "StagedFile::commit twice");
  if (fd_ >= 0) {
    sync_fd(fd_, temp_);
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0)
      throw InputError(fmt::format("{}: cannot write ({}); {} is unchanged", temp_.string(), io_message(errno),
                                   final_.string()));
  }
  std::error_code ec;
  std::filesystem::rename(temp_, final_, ec);
  if (ec)
    throw InputError(fmt::format("{}: cannot rename the finished file from {} ({})", final_.string(), temp_.string(),
                                 ec.message()));
  done_ = true;
  sync_parent(final_);
}

std::filesystem::path reserve_temp_name(const std::filesystem::path& final_path) {
  std::filesystem::path temp;
  const int fd = create_unique(final_path, temp);
  ::close(fd);
  return temp;
}

void sync_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS && err != EBADF)
    throw InputError(fmt::format("{}: cannot flush to disk ({})", path.string(), io_message(err)));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  StagedFile f(path);
  f.append(text);
  f.commit();
}

std::filesystem::path user_visible_path(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  // <final>.tmp.<pid>.<n>
  if (const auto at = name.rfind(".tmp."); at != std::string::npos) {
    const std::string rest = name.substr(at + 5);
    const auto dot = rest.find('.');
    const auto digits = [](const std::string& t) { return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos; };
    if (dot != std::string::npos && digits(rest.substr(0, dot)) && digits(rest.substr(dot + 1))) name.resize(at);
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.filename().string().starts_with(".staging-")) dir = dir.parent_path();
  return dir / name;
}

void throw_write_error(const std::filesystem::path& path, int err_no, std::string_view doing) {
  const bool full = err_no == ENOSPC || err_no == EDQUOT || err_no == EFBIG;
  throw InputError(fmt::format("{}: cannot {}: {} (errno {}){}; nothing was left under that name and what was there "
                               "before is unchanged",
                               path.empty() ? std::string("an output file") : user_visible_path(path).string(), doing,
                               std::strerror(err_no), err_no, full ? "; the file system is full or a quota is reached" : ""));
}

}  // namespace specvae
