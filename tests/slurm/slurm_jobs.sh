#!/usr/bin/env bash
# The job scripts in jobs/slurm/ under a real Slurm (a single-node cluster started here by
# local_slurm.sh), each submitted with sbatch as a user would:
#  1. workstation.sh as a 2-task batch job: the whole chain through mpirun; the reference;
#  2. perlmutter_cpu.sbatch (srun, 2 ranks) with a 2-minute time limit that falls in the middle of
#     training and --signal=B:USR1@25: Slurm's warning reaches specvae through the script, the
#     job requeues itself and finishes; its final checkpoints, metrics and catalogue are the
#     reference's, bit for bit;
#  3. perlmutter.sbatch (GPU-node script: -C gpu, --gpus-per-node=4, -q regular) on a node
#     that offers 4 GPUs, run on the CPU backend: Slurm takes its options, every rank sees all
#     of the node's GPUs, the chain finishes.
# Exit 77 (skipped) with the reason when the Slurm daemons cannot run here.
# Usage: slurm_jobs.sh SPECVAE PYTHON WORKDIR
set -euo pipefail
specvae=$1; python=$2; work=$3
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(cd "$here/../../jobs/slurm" && pwd)
cluster=$work/slurm
rm -rf "$work"; mkdir -p "$work"

fail() {
  echo "FAIL: $1"
  [[ -n "${2:-}" && -f "$2" ]] && { echo "--- $2 (last 40 lines)"; tail -40 "$2"; }
  exit 1
}
set +e
eval "$(bash "$here/local_slurm.sh" start "$cluster")"
rc=$?
set -e
(( rc == 77 )) && exit 77
(( rc == 0 )) || fail "local_slurm.sh start exited $rc"
trap 'bash "$here/local_slurm.sh" stop "$cluster"' EXIT
export SLURM_CONF
gpus=$(cat "$cluster/gpus")

# One configuration for both runs of the chain; only the output folder differs. Training takes
# about 90 s on 2 cores, so Slurm's warning (25 s before a 2-minute limit, sent up to 30 s early
# by slurmctld's 30 s timer: 35-65 s into the job) arrives in the middle of it.
config() {
  cat <<EOF
[run]
out_dir = "$1"
[simulate]
n_spectra = 1200
spectra_per_file = 300
[train]
epochs = ${2:-400}
min_steps = 0
batch_size = 32
threads = 1
checkpoint_every = 50
[score]
recon_samples = 2
EOF
}
config "$work/ref" >"$work/ref.toml"
config "$work/requeued" >"$work/requeued.toml"
config "$work/gpu" 3 >"$work/gpu.toml"
wait_job() { bash "$here/local_slurm.sh" wait "$cluster" "$1" "$2"; }
# This Slurm does not bind ranks to cores (TaskPlugin=task/none): no OpenMP pinning either.
submit_env=ALL,SPECVAE=$specvae,SPECVAE_THREADS_PER_CORE=1,OMP_PROC_BIND=false

# 1. workstation.sh, 2 tasks, no time pressure.
echo "== workstation.sh as a batch job (reference)"
job=$(sbatch --parsable -n 2 -c 1 -o "$work/ref.log" --export="$submit_env" "$jobs/workstation.sh" "$work/ref.toml")
state=$(wait_job "$job" 900) || fail "workstation job $job did not end: $state" "$work/ref.log"
[[ "$state" == "COMPLETED 0:0" ]] || fail "workstation job $job ended $state" "$work/ref.log"
grep -q "run: report done" "$work/ref.log" || fail "workstation job: no report" "$work/ref.log"
grep -q "on 2 ranks" "$work/ref.log" || fail "workstation job: not 2 ranks" "$work/ref.log"
[[ -s "$work/ref/catalogue/catalogue.h5" ]] || fail "workstation job: no catalogue" "$work/ref.log"

# 2. perlmutter_cpu.sbatch under a time limit that falls mid-training.
echo "== perlmutter_cpu.sbatch with a 2-minute limit"
job=$(sbatch --parsable -N 1 --ntasks-per-node=2 -c 1 -t 2 --time-min=2 --signal=B:USR1@25 -o "$work/requeued.log" \
  --export="$submit_env" "$jobs/perlmutter_cpu.sbatch" "$work/requeued.toml")
state=$(wait_job "$job" 900) || fail "requeued job $job did not end: $state" "$work/requeued.log"
[[ "$state" == "COMPLETED 0:0" ]] || fail "requeued job $job ended $state" "$work/requeued.log"
grep -q "requeuing" "$work/requeued.log" || fail "the job was never requeued" "$work/requeued.log"
runs=$(grep -c "^specvae job $job: run " "$work/requeued.log" || true)
(( runs >= 2 )) || fail "the log shows $runs run(s) of the job, expected 2 or more" "$work/requeued.log"
if grep -q "stopped by SIGUSR1 after" "$work/requeued.log"; then
  echo "   Slurm's warning stopped training: $(grep -o 'stopped by SIGUSR1 after [^;]*' "$work/requeued.log" | head -1)"
  grep -q "resuming after epoch" "$work/requeued.log" || fail "stopped in training but never resumed" "$work/requeued.log"
else
  echo "   (Slurm's warning came outside training on this machine: the requeued run redid that stage)"
fi
echo "   $runs runs; $(grep -c 'requeuing' "$work/requeued.log") requeue(s)"

"$python" "$here/../e2e/same_training.py" "$work/ref/train" "$work/requeued/train" --epochs 400 \
  --catalogues "$work/ref/catalogue" "$work/requeued/catalogue" ||
  fail "the requeued job's results differ from the reference" "$work/requeued.log"

# 3. perlmutter.sbatch: the GPU-node script's options on a node with 4 GPUs.
echo "== perlmutter.sbatch (GPU-node options, CPU backend)"
extra=()
(( gpus == 4 )) || extra=(--gpus-per-node=0)  # no fake GPU devices could be made here
job=$(sbatch --parsable -N 1 --ntasks-per-node=2 -c 1 -t 10 --time-min=10 "${extra[@]}" -o "$work/gpu.log" \
  --export="$submit_env,SPECVAE_BACKEND=cpu" "$jobs/perlmutter.sbatch" "$work/gpu.toml")
state=$(wait_job "$job" 600) || fail "GPU-script job $job did not end: $state" "$work/gpu.log"
[[ "$state" == "COMPLETED 0:0" ]] || fail "GPU-script job $job ended $state" "$work/gpu.log"
[[ -s "$work/gpu/catalogue/catalogue.h5" ]] || fail "GPU-script job: no catalogue" "$work/gpu.log"
rm -rf "$work/ref/survey" "$work/requeued/survey" "$work/gpu/survey"
echo "PASS: workstation.sh, perlmutter_cpu.sbatch requeued at its time limit, perlmutter.sbatch"
