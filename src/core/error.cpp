// The check family's failure path and the error-string helpers for MPI and CFITSIO.
#include "specvae/core/error.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace specvae {
namespace {
std::atomic<int> g_rank{-1};
std::atomic<AbortHandler> g_abort{nullptr};
}  // namespace

void set_error_rank(int rank) { g_rank = rank; }
int error_rank() { return g_rank; }
void set_abort_handler(AbortHandler handler) { g_abort = handler; }

void fail_check(std::string_view what, std::string_view detail, std::source_location where) {
  std::string rank = g_rank >= 0 ? fmt::format("rank {}", g_rank.load()) : "rank ?";
  std::fprintf(stderr, "specvae: %.*s failed at %s:%u (%s)%s%.*s\n", int(what.size()), what.data(),
               where.file_name(), unsigned(where.line()), rank.c_str(), detail.empty() ? "" : ": ",
               int(detail.size()), detail.data());
  std::fflush(stderr);
  if (AbortHandler h = g_abort.load()) h(2);
  std::abort();
}

namespace {
std::atomic<Hdf5FailureHook> g_hdf5_hook{nullptr};
}  // namespace

void set_hdf5_failure_hook(Hdf5FailureHook hook) { g_hdf5_hook.store(hook); }

void fail_hdf5(std::string_view call, std::source_location where) {
  std::string detail = "negative status";
  if (Hdf5FailureHook h = g_hdf5_hook.load()) h(call, detail);  // may throw InputError
  fail_check(call, detail, where);
}

void inject_fault(std::string_view point) {
  const char* env = std::getenv("SPECVAE_FAULT");
  if (env == nullptr || *env == '\0') return;
  const std::string_view want(env);
  const bool hit = want == point || (want.size() > point.size() && want.starts_with(point) && want[point.size()] == '@' &&
                                     std::to_string(g_rank.load()) == want.substr(point.size() + 1));
  if (hit) throw InputError(fmt::format("fault injected at {} (SPECVAE_FAULT)", point));
}

void inject_crash(std::string_view point) {
  const char* env = std::getenv("SPECVAE_CRASH");
  if (env == nullptr || *env == '\0') return;
  std::string_view want(env);
  long nth = 1;
  if (const auto colon = want.rfind(':'); colon != std::string_view::npos) {
    nth = std::strtol(std::string(want.substr(colon + 1)).c_str(), nullptr, 10);
    want = want.substr(0, colon);
  }
  if (const auto at = want.find('@'); at != std::string_view::npos) {
    if (std::to_string(g_rank.load()) != want.substr(at + 1)) return;
    want = want.substr(0, at);
  }
  if (want != point) return;
  static std::atomic<long> hits{0};
  if (++hits != nth) return;
  std::fprintf(stderr, "specvae: crash injected at %.*s (SPECVAE_CRASH)\n", int(point.size()), point.data());
  std::fflush(stderr);
  std::_Exit(137);
}

}  // namespace specvae
