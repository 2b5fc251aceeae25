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

}  // namespace specvae
