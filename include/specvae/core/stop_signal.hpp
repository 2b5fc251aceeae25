// Stop requests from a batch system. Slurm warns a job before its time limit or a preemption
// with a signal (`--signal=B:USR1@300` to the batch script, which passes it on; SIGTERM to every
// task at the limit itself). Inside a StoppableSection (training) SIGUSR1 and SIGTERM only set
// a flag that the section polls at its next safe point, where it saves its state and throws
// Stopped; the process then exits with kExitStopped, which a job script takes as "requeue me".
// Outside such a section both signals end the process as they would by default.
#pragma once

#include <stdexcept>
#include <string>

namespace specvae {

// sysexits' EX_TEMPFAIL: stopped on request with its state saved; the same command continues.
inline constexpr int kExitStopped = 75;

class Stopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Blocks SIGUSR1 and SIGTERM in every thread and takes them in one of its own (main calls it
// once, first, before any thread exists).
void install_stop_handlers();

// The signal that asked this process to stop (0: none).
int stop_signal();
// Its name, e.g. "SIGUSR1".
std::string stop_signal_name();

// While one is alive, SIGUSR1/SIGTERM set the flag instead of ending the process. A signal that
// came before the section started (when it ended the process) cannot be pending here.
class StoppableSection {
 public:
  StoppableSection();
  ~StoppableSection();
  StoppableSection(const StoppableSection&) = delete;
  StoppableSection& operator=(const StoppableSection&) = delete;
};

}  // namespace specvae
