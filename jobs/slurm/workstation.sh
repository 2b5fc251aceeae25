#!/usr/bin/env bash
# specvae on one machine: N MPI ranks (default: one per GPU, or 2 without GPUs).
#   bash jobs/slurm/workstation.sh CONFIG.toml [ranks]
set -euo pipefail
config=${1:?usage: workstation.sh CONFIG.toml [ranks]}
gpus=$(nvidia-smi -L 2>/dev/null | wc -l || true)
ranks=${2:-$(( gpus > 0 ? gpus : 2 ))}
# The binary jobs/build.sh made (build-ci with CUDA, build-cpu without), unless SPECVAE names one.
root=$(cd "$(dirname "$0")/../.." && pwd)
specvae=${SPECVAE:-}
for b in "$root/build-ci" "$root/build-cpu" "$root/build"; do
  [[ -z "$specvae" && -x "$b/src/specvae" ]] && specvae=$b/src/specvae
done
[[ -n "$specvae" ]] || { echo "workstation.sh: no specvae binary; run: bash jobs/build.sh --target specvae" >&2; exit 1; }
flags=()
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
(( ranks > $(nproc) )) && flags+=(--oversubscribe)
exec mpirun -np "$ranks" "${flags[@]}" "$specvae" run --config "$config"
