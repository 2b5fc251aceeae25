// Files written whole or not at all. A writer works under a temporary name of its own beside
// the final name, `<final>.tmp.<pid>.<n>`, which it creates with O_CREAT | O_EXCL |
// O_NOFOLLOW: no other writer (process, rank or thread) shares it, and a file or symlink
// planted at it makes the write fail instead of being followed. The finished file is flushed
// to disk and renamed over the final name; a writer that fails removes its temporary file.
#pragma once

#include <filesystem>
#include <string_view>

namespace specvae {

class StagedFile {
 public:
  // Reserves a temporary name for `final_path` (an empty file, mode 0644 less the umask).
  // Throws InputError naming the folder when it cannot.
  explicit StagedFile(std::filesystem::path final_path);
  ~StagedFile();  // removes the temporary file unless it was committed or released
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  const std::filesystem::path& temp() const { return temp_; }
  const std::filesystem::path& final_path() const { return final_; }

  // Writes `bytes` at the end of the temporary file (through the descriptor reserved with it).
  void append(std::string_view bytes);
  // Flushes the temporary file to disk and renames it over the final name.
  void commit();
  // Gives the temporary file up to the caller (it will not be removed here).
  void release() { done_ = true; }

 private:
  std::filesystem::path final_, temp_;
  int fd_ = -1;
  bool done_ = false;
};

// Reserves a temporary name beside `final_path` as StagedFile does, and returns it; the caller
// writes it (by name, e.g. HDF5), renames it and removes it on failure.
std::filesystem::path reserve_temp_name(const std::filesystem::path& final_path);

// Flushes `path` to disk (best effort on file systems that cannot).
void sync_file(const std::filesystem::path& path);

// The name a user knows a file being written by: its temporary name's `.tmp.<pid>.<n>` and a
// commit's `.staging-*` folder (core/commit.hpp) taken away. For messages.
std::filesystem::path user_visible_path(const std::filesystem::path& path);

// Throws the InputError of a write the storage refused: "<user-visible path>: cannot <doing>:
// <strerror> (errno N)[; the file system is full or a quota is reached]; nothing was left under
// that name and what was there before is unchanged".
[[noreturn]] void throw_write_error(const std::filesystem::path& path, int err_no, std::string_view doing = "write it");

// Writes `text` to `path` whole or not at all.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace specvae
