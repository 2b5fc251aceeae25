#!/usr/bin/env bash
# Prints one hash over the sources the device bundle's programs are built from (build files,
# src/, kernels/, include/, tests/gpu, tests/common and bench/gpu C++/CUDA), so that
# run_device_checks.sh can tell a bundle built from other sources than the tree beside it.
# Usage: source_hash.sh REPO_ROOT
set -euo pipefail
cd "${1:?usage: source_hash.sh REPO_ROOT}"
find CMakeLists.txt cmake src kernels include tests/gpu tests/common bench/gpu -type f \
  \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.in' \
     -o -name '*.cmake' -o -name 'CMakeLists.txt' -o -name '*.html' \) 2>/dev/null |
  LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
