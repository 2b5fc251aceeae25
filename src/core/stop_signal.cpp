// SIGUSR1/SIGTERM as a request to stop at a safe point (include/specvae/core/stop_signal.hpp).
// The two signals are blocked in every thread (set before MPI or any library starts one) and
// taken by one thread of ours with sigwait: no computing thread is ever interrupted by them,
// so no library call sees an EINTR or runs a handler in the middle of its work.
#include "specvae/core/stop_signal.hpp"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <thread>

namespace specvae {
namespace {

std::atomic<int> g_stoppable{0};
std::atomic<int> g_signal{0};

void wait_for_signals(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (g_stoppable.load() > 0) {
      g_signal.store(sig);
      continue;
    }
    // Not in a section that can stop cleanly: what the signal does by default (end the process).
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
  }
}

}  // namespace

void install_stop_handlers() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(wait_for_signals, set).detach();
}

int stop_signal() { return g_signal.load(); }

std::string stop_signal_name() {
  const int s = g_signal.load();
  switch (s) {
    case SIGUSR1: return "SIGUSR1";
    case SIGTERM: return "SIGTERM";
    case 0: return "no signal";
    default: return "signal " + std::to_string(s);
  }
}

StoppableSection::StoppableSection() { ++g_stoppable; }
StoppableSection::~StoppableSection() { --g_stoppable; }

}  // namespace specvae
