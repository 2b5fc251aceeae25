// The failure path of the check family, without formatting dependencies, so that CUDA
// translation units (kernels/cuda_check.cuh) can use it too. Most code includes error.hpp.
#pragma once

#include <source_location>
#include <string_view>

namespace specvae {

// The MPI rank printed in every failure message; set by init_distributed().
void set_error_rank(int rank);
int error_rank();

// How a failed check ends the job. The default calls std::abort; the distributed runtime
// installs MPI_Abort so that no rank is left hanging in a collective.
using AbortHandler = void (*)(int exit_code);
void set_abort_handler(AbortHandler handler);

// Prints "specvae: <what> failed at file:line (rank r): detail" to stderr and aborts the job.
[[noreturn]] void fail_check(std::string_view what, std::string_view detail,
                             std::source_location where);

// A failed HDF5 call. The io layer installs a hook that reads HDF5's error stack: a failure of
// the file system (no space, a quota, an I/O error) becomes an InputError naming the file, and
// anything else is a failed check with HDF5's innermost message as its detail.
using Hdf5FailureHook = void (*)(std::string_view call, std::string& detail);
void set_hdf5_failure_hook(Hdf5FailureHook hook);
[[noreturn]] void fail_hdf5(std::string_view call, std::source_location where);

}  // namespace specvae
