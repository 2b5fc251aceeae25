// One error family for the whole job: always-on checks for library statuses and internal
// invariants (print what failed, file:line and rank, then abort every rank), and exceptions
// for bad input (files, config, data) that the CLI turns into a clear message.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "specvae/core/fail.hpp"

namespace specvae {

// Bad user input: a file, an HDU, a row, a config key. The message names what and where.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration key with a wrong type, an unknown name or a value out of range.
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

// Fault injection for the tests of failure paths: throws InputError("fault injected at
// <point>") where the environment variable SPECVAE_FAULT names this point, as "<point>" (every
// rank) or "<point>@<rank>" (one rank). Unset, it costs one getenv.
void inject_fault(std::string_view point);

// Crash injection for the tests of resumption: ends the process at once, as `kill -9` would
// (std::_Exit(137): no destructor runs, nothing is cleaned up), where SPECVAE_CRASH names this
// point as "<point>[@<rank>][:<n>]" (on the n-th time it is reached, the first by default).
void inject_crash(std::string_view point);

}  // namespace specvae

// Internal invariant: always on (also in release builds).
#define SPECVAE_CHECK(cond, ...)                                                              \
  do {                                                                                        \
    if (!(cond)) [[unlikely]]                                                                 \
      ::specvae::fail_check("check `" #cond "`", ::fmt::format("" __VA_ARGS__),              \
                            std::source_location::current());                                \
  } while (0)

// MPI status (MPI_SUCCESS expected).
#define SPECVAE_MPI_CHECK(call)                                                               \
  do {                                                                                        \
    int specvae_mpi_rc_ = (call);                                                             \
    if (specvae_mpi_rc_ != 0) [[unlikely]]                                                    \
      ::specvae::fail_check("MPI call `" #call "`",                                           \
                            ::specvae::detail::mpi_error_string(specvae_mpi_rc_),             \
                            std::source_location::current());                                \
  } while (0)

// HDF5 status: herr_t or hid_t, negative on failure. Evaluates to the value.
#define SPECVAE_HDF5_CHECK(call)                                                              \
  ([&]() {                                                                                    \
    auto specvae_h5_rc_ = (call);                                                             \
    if (specvae_h5_rc_ < 0) [[unlikely]]                                                      \
      ::specvae::fail_hdf5("HDF5 call `" #call "`", std::source_location::current());         \
    return specvae_h5_rc_;                                                                    \
  }())

// CFITSIO status variable (0 = OK). For files a user gave us, prefer throwing InputError.
#define SPECVAE_FITS_CHECK(status)                                                            \
  do {                                                                                        \
    int specvae_fits_rc_ = (status);                                                          \
    if (specvae_fits_rc_ != 0) [[unlikely]]                                                   \
      ::specvae::fail_check("CFITSIO status", ::specvae::detail::fits_error_string(specvae_fits_rc_), \
                            std::source_location::current());                                \
  } while (0)

namespace specvae::detail {
std::string mpi_error_string(int code);
std::string fits_error_string(int status);
}  // namespace specvae::detail
