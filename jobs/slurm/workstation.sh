#!/usr/bin/env bash
# specvae on one machine: N MPI ranks (default: one per GPU, or 2 without GPUs).
#   bash jobs/slurm/workstation.sh CONFIG.toml [ranks]
set -euo pipefail
config=${1:?usage: workstation.sh CONFIG.toml [ranks]}
gpus=$(nvidia-smi -L 2>/dev/null | wc -l || true)
ranks=${2:-$(( gpus > 0 ? gpus : 2 ))}
specvae=${SPECVAE:-$(dirname "$0")/../../build/src/specvae}
flags=()
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
(( ranks > $(nproc) )) && flags+=(--oversubscribe)
exec mpirun -np "$ranks" "${flags[@]}" "$specvae" run --config "$config"
