#!/usr/bin/env bash
# specvae on one machine: N MPI ranks through mpirun, the whole chain.
#   bash jobs/slurm/workstation.sh CONFIG.toml [ranks]     ranks: one per GPU, or 2 without GPUs
# or as a Slurm batch job on one node (a lab cluster), requeued when its time limit is near:
#   sbatch -n 4 -c 8 --requeue --signal=B:USR1@120 --open-mode=append jobs/slurm/workstation.sh CONFIG.toml
# In a job, ranks is the job's task count, and SPECVAE (or PATH) names the binary.
#SBATCH -N 1
#SBATCH --requeue
#SBATCH --signal=B:USR1@300
#SBATCH --open-mode=append
#SBATCH -J specvae
set -euo pipefail
config=${1:?usage: workstation.sh CONFIG.toml [ranks]}

# The binary: SPECVAE, else the one jobs/build.sh made (build-ci with CUDA, build-cpu without),
# else specvae on PATH. specvae-job sits beside it.
specvae=${SPECVAE:-}
if [[ -z "$specvae" && -z "${SLURM_JOB_ID:-}" ]]; then
  root=$(cd "$(dirname "$0")/../.." && pwd)
  for b in "$root/build-ci" "$root/build-cpu" "$root/build"; do
    [[ -z "$specvae" && -x "$b/src/specvae" ]] && specvae=$b/src/specvae
  done
fi
specvae=$(command -v "${specvae:-specvae}") ||
  { echo "workstation.sh: no specvae binary; run: bash jobs/build.sh --target specvae (or set SPECVAE)" >&2; exit 1; }

if [[ -n "${SLURM_JOB_ID:-}" ]]; then
  ranks=${2:-${SLURM_NTASKS:-1}}
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  echo "specvae job $SLURM_JOB_ID: run $(( ${SLURM_RESTART_COUNT:-0} + 1 )), $ranks rank(s) on $(hostname -s)"
else
  gpus=$(nvidia-smi -L 2>/dev/null | wc -l || true)
  ranks=${2:-$(( gpus > 0 ? gpus : 2 ))}
fi
flags=()
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
(( ranks > $(getconf _NPROCESSORS_ONLN) )) && flags+=(--oversubscribe)
# --bind-to none: each rank's OpenMP threads spread over its share of the machine.
exec "$(dirname "$specvae")/specvae-job" mpirun -np "$ranks" --bind-to none "${flags[@]}" \
  "$specvae" run --config "$config"
