#!/usr/bin/env bash
# The README's test command: install what is needed, configure (CUDA compiled), build, and
# run every test (unit, MPI under mpiexec -np 2 and 3, e2e; GPU tests skip without a GPU).
# The build folder is the one `jobs/run_default.sh` uses (jobs/build.sh), so running both
# builds once.
# Usage: bash jobs/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

build=$(bash jobs/build.sh | tail -n 1)
ctest --test-dir "$build" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
