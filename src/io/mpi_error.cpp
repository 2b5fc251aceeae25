// The text of an MPI error code (SPECVAE_MPI_CHECK, core/error.hpp): here, in the lowest layer
// that speaks MPI (parallel HDF5), so io and everything above it can use the check.
#include <mpi.h>

#include <string>

#include <fmt/format.h>

#include "specvae/core/error.hpp"

namespace specvae::detail {

std::string mpi_error_string(int code) {
  char buffer[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buffer, &len) != MPI_SUCCESS) return fmt::format("MPI error {}", code);
  return std::string(buffer, static_cast<std::size_t>(len));
}

}  // namespace specvae::detail
