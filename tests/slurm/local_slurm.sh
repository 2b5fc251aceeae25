#!/usr/bin/env bash
# A single-node Slurm on this machine, for the job-script tests: its own munge key and socket,
# its own slurm.conf, state and logs, all under DIR; nothing in /etc is read or changed.
#   local_slurm.sh start DIR   start munged, slurmctld and slurmd; prints `export SLURM_CONF=...`;
#                              the node has features gpu and cpu, and 4 GPUs where device files
#                              can be made (DIR/gpus says 4 or 0)
#   local_slurm.sh stop DIR    stop the three daemons started in DIR
#   local_slurm.sh wait DIR JOBID [TIMEOUT_S]
#                              wait until the job has ended (requeues included); prints its
#                              final state and exit code, e.g. "COMPLETED 0:0"
# Exit 77 from start: the daemons cannot run here (no slurm-wlm/munge, or they would not come
# up); the reason is the last line on stderr.
set -euo pipefail

cmd=${1:?usage: local_slurm.sh start|stop|wait DIR ...}
dir=${2:?usage: local_slurm.sh start|stop|wait DIR ...}

skip() { echo "local_slurm: cannot start a Slurm here: $1" >&2; exit 77; }

# A TCP port nobody listens on (from the top of the ephemeral range down).
free_port() {
  local p
  for p in $(seq "$1" 1 $(( $1 + 400 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  return 1
}

stop() {
  local f
  for f in slurmd slurmctld munged; do
    if [[ -s "$dir/run/$f.pid" ]]; then
      kill "$(cat "$dir/run/$f.pid")" 2>/dev/null || true
    fi
  done
  # Daemons take a moment to go; wait so the next start finds its ports free.
  for f in slurmd slurmctld munged; do
    if [[ -s "$dir/run/$f.pid" ]]; then
      local pid
      pid=$(cat "$dir/run/$f.pid")
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/run/$f.pid"
    fi
  done
}

start() {
  for b in munged mungekey slurmctld slurmd sbatch scontrol; do
    command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] || skip "$b is not installed (Debian: slurm-wlm, munge)"
  done
  export PATH=$PATH:/usr/sbin
  [[ $(id -u) -eq 0 ]] || skip "slurmd must run as root to start jobs as their owner (this is uid $(id -u))"
  stop
  rm -rf "$dir"
  mkdir -p "$dir"/{munge,run,spool/ctld,spool/d,log,tmp}
  chmod 700 "$dir/munge"
  mungekey -c -k "$dir/munge/munge.key" >/dev/null 2>&1 || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$dir/munge/munge.key"
  # --force: the folder is ours, whatever its parents' permissions (a test's build tree).
  munged --force -S "$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" \
    >/dev/null 2>&1 || skip "munged did not start: $(tail -1 "$dir/log/munged.log" 2>/dev/null)"

  local host cpus mem ctld_port d_port
  host=$(hostname -s)
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)
  cpus=${cpus:-$(getconf _NPROCESSORS_ONLN)}
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=$(( ${mem:-2048} * 9 / 10 ))
  ctld_port=$(free_port 46817) || skip "no free TCP port for slurmctld"
  d_port=$(free_port $(( ctld_port + 1 ))) || skip "no free TCP port for slurmd"
  : >"$dir/plugstack.conf"
  # Four GPUs for the GPU-node script's --gpus-per-node=4: character devices that are not GPUs
  # (Slurm only needs device files to hand out). Where mknod is not allowed, no GPUs.
  local gres_types="" node_gres="" gpus=0
  mkdir -p "$dir/dev"
  if (for i in 0 1 2 3; do mknod "$dir/dev/gpu$i" c 1 3 2>/dev/null || exit 1; done); then
    printf 'AutoDetect=off\nName=gpu File=%s/dev/gpu[0-3]\n' "$dir" >"$dir/gres.conf"
    gres_types="GresTypes=gpu"
    node_gres="Gres=gpu:4"
    gpus=4
  fi
  echo "$gpus" >"$dir/gpus"
  cat >"$dir/slurm.conf" <<EOF
ClusterName=specvae-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
KillWait=5
OverTimeLimit=0
MinJobAge=300
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
$gres_types
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Features=gpu,cpu $node_gres State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" -c -i >"$dir/log/slurmctld.out" 2>&1 ||
    skip "slurmctld did not start: $(tail -1 "$dir/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" -N "$host" >"$dir/log/slurmd.out" 2>&1 ||
    skip "slurmd did not start: $(tail -1 "$dir/log/slurmd.log" 2>/dev/null)"
  # Up when the node takes jobs.
  local state=""
  for _ in $(seq 1 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
    [[ "$state" == idle* ]] && break
    sleep 0.2
  done
  if [[ "$state" != idle* ]]; then
    local why
    why="node state '${state:-unknown}' after 30 s: $(tail -1 "$dir/log/slurmd.log" 2>/dev/null)"
    stop
    skip "$why"
  fi
  echo "export SLURM_CONF=$SLURM_CONF"
}

# Polls scontrol (sbatch --wait polls with a growing back-off and can return half a minute late).
wait_job() {
  local job=${3:?usage: local_slurm.sh wait DIR JOBID [TIMEOUT_S]} timeout=${4:-600}
  export SLURM_CONF=$dir/slurm.conf
  local state="" exitcode="" t0=$SECONDS
  while (( SECONDS - t0 < timeout )); do
    local line
    line=$(scontrol -o show job "$job" 2>/dev/null || true)
    state=$(sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
    exitcode=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
    case "$state" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
        echo "$state $exitcode"
        return 0
        ;;
    esac
    sleep 0.5
  done
  echo "TIMEDOUT-WAITING ${state:-unknown}"
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  wait) wait_job "$@" ;;
  *) echo "usage: local_slurm.sh start|stop|wait DIR ..." >&2; exit 2 ;;
esac
