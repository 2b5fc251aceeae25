#!/usr/bin/env bash
# Device checks for a machine with a GPU (CUDA 13, PyTorch, no network, none of our Debian
# libraries), from the bundle tests/gpu/prepare_device_bundle.sh made (.device/ by default):
# the GPU test suite (NCCL's tests apart, then a memcheck subset under compute-sanitizer when
# present), training and scoring throughput next to PyTorch on the same GPU, and exact kNN +
# LOF at 1M and 10M points (fewer when the 1M run says 10M would not fit). Each step has a
# time limit and is skipped, and said so, once the 7.5-minute budget is spent; a test that
# kills the process is named and the tests after it run in a fresh one; results.md is
# written as each step ends and says when the bundle was built from other sources than the
# tree beside it. OUTDIR gets at most 7 files (the device tool returns no more than 8):
# results.md, steps.log (environment, libraries, timings), gpu_tests.log/.xml,
# sanitizer.log, bench_train.log (specvae and PyTorch), bench_knn.log.
# Usage: run_device_checks.sh OUTDIR   (env: SPECVAE_DEVICE_BUNDLE)
set -u
OUT=${1:?usage: run_device_checks.sh OUTDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${SPECVAE_DEVICE_BUNDLE:-}" ]; then BUNDLE=$SPECVAE_DEVICE_BUNDLE
elif [ -x "$HERE/bin/specvae_gpu_tests" ]; then BUNDLE=$HERE          # run from inside the bundle
else BUNDLE=$(cd "$HERE/../.." && pwd)/.device; fi
BIN=$BUNDLE/bin
# The PyTorch peer: the tree's copy when run from the repo (edits after bundling count).
TORCH_PY=$BUNDLE/torch_train.py
[ -f "$HERE/../../bench/gpu/torch_train.py" ] && TORCH_PY=$(cd "$HERE/../../bench/gpu" && pwd)/torch_train.py
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.md
STEPS=$OUT/steps.log
T0=$(date +%s)
BUDGET=450   # seconds for all steps; the last (10M kNN) gets what the others left
note() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$STEPS"; }
lim() { local l=$(( BUDGET - ($(date +%s) - T0) )); [ "$l" -gt "$1" ] && l=$1; [ "$l" -lt 0 ] && l=0; echo "$l"; }
# time_for STEP: true when at least 10 s of the budget are left, else says the step is skipped.
time_for() { [ "$(lim 10)" -ge 10 ] && return 0; note "SKIPPED (budget of ${BUDGET}s spent): $1"; echo "- SKIPPED (budget spent): $1" >> "$RESULTS"; return 1; }
manifest() { grep -m1 "^$1: " "$BUNDLE/MANIFEST.txt" 2>/dev/null | cut -d' ' -f2-; }
: > "$STEPS"
[ -x "$BIN/specvae_gpu_tests" ] ||
  note "NO BUNDLE at $BUNDLE: run tests/gpu/prepare_device_bundle.sh here and carry .device"
# Run from the repository: the bundle must have been built from the sources beside it.
STALE=""
if [ -f "$HERE/source_hash.sh" ] && [ -d "$HERE/../../src" ]; then
  tree_hash=$(bash "$HERE/source_hash.sh" "$HERE/../.." 2>/dev/null)
  [ "$tree_hash" != "$(manifest sources)" ] &&
    STALE="built from sources $(manifest sources), the tree beside it is $tree_hash (rerun prepare_device_bundle.sh)"
  [ -n "$STALE" ] && note "STALE BUNDLE: $STALE"
fi

# CUDA libraries of the machine: the toolkit's and the driver's folders, else pip's nvidia-*
# wheels next to torch (NCCL is no part of the toolkit: there it is often only a wheel).
# The bundle's own folder goes last: the machine's libstdc++/libgcc_s (newer) win for every
# library in our processes, the bundle fills in what the machine lacks (libfmt, toml++).
LIBS=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
         /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && LIBS=${LIBS:+$LIBS:}$d
done
has_lib() {  # $1 in the loader's cache or in a folder of LIBS / LD_LIBRARY_PATH
  ldconfig -p 2>/dev/null | grep -q "/$1\$" && return 0
  local d dirs
  IFS=: read -ra dirs <<< "${LIBS}:${LD_LIBRARY_PATH:-}"
  for d in "${dirs[@]}"; do [ -n "$d" ] && [ -e "$d/$1" ] && return 0; done
  return 1
}
SITES=$(timeout 10 python3 -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
missing_libs=()
for lib in libnccl.so.2 libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
  has_lib "$lib" && continue
  found=""
  for sp in $SITES; do
    found=$(find "$sp"/nvidia -maxdepth 3 -name "$lib" 2>/dev/null | head -1)
    [ -n "$found" ] && break
  done
  if [ -n "$found" ]; then LIBS=${LIBS:+$LIBS:}$(dirname "$found"); note "$lib: $found"
  else missing_libs+=("$lib"); fi
done
for lib in "${missing_libs[@]}"; do  # last resort, one bounded search of the whole disk
  found=$(timeout 20 find / -xdev -name "$lib" -path '*nvidia*' 2>/dev/null | head -1)
  if [ -n "$found" ]; then LIBS=${LIBS:+$LIBS:}$(dirname "$found"); note "$lib: $found"
  else note "$lib: NOT FOUND on this machine"; fi
done
LIBS=${LIBS:+$LIBS:}$BUNDLE/lib
# Only our programs see the bundle's libraries (python/torch keep their own).
run() { LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
NVSMI=$(command -v nvidia-smi || ls /usr/local/nvidia/bin/nvidia-smi 2>/dev/null || echo nvidia-smi)
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer \
  /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)

{
  echo "== machine"
  uname -a; ldd --version 2>&1 | head -1
  echo "bundle: $BUNDLE ($(manifest commit); $(manifest architectures))"
  echo "LD_LIBRARY_PATH for our programs: $LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "compute-sanitizer: ${SANITIZER:-none}; python3: $(command -v python3); torch script: $TORCH_PY"
  timeout 20 "$NVSMI" 2>&1
  for b in "$BIN"/*; do echo "== ldd $b"; run ldd "$b" 2>&1; done
} >> "$STEPS" 2>&1
{
  echo "# specvae device checks"
  echo
  echo "- bundle: $(manifest commit); sources $(manifest sources)"
  [ -n "$STALE" ] && echo "- **STALE BUNDLE**: $STALE"
  echo "- GPU: $(timeout 20 "$NVSMI" --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  echo "- $(ldd --version 2>&1 | head -1) (the bundle needs $(manifest architectures | grep -o 'GLIBC_[0-9.]*' || echo '?'))"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$RESULTS"
if grep -qiE 'not found|No such file' "$STEPS"; then
  missing=$(grep -iE 'not found|No such file' "$STEPS" | sort -u)
  note "missing libraries or programs:"; echo "$missing" | tee -a "$STEPS"
  echo "- MISSING: $(echo "$missing" | tr -s ' \t' ' ' | tr '\n' ';')" >> "$RESULTS"
fi

summary() { grep -E '^\[ +(PASSED|FAILED|SKIPPED) +\] [0-9]+ tests?' "$1" | tr '\n' ' '; }
note "GPU test suite (all but NCCL)"
# A CUDA error aborts the process (and can poison its context): the tests not yet started are
# run again in a fresh process, up to 3 times, and the test that ended it is named.
: > "$OUT/gpu_tests.log"
started() { grep -oE '^\[ RUN      \] [A-Za-z_0-9/.]+' "$OUT/gpu_tests.log" | awk '{print $4}'; }
exclude='NcclAllReduce.*'
crashed=()
for attempt in 1 2 3 4; do
  time_for "GPU test suite, attempt $attempt" || { rc=124; break; }
  run timeout -k 5 "$(lim 90)" "$BIN/specvae_gpu_tests" --gtest_filter="-$exclude" \
    --gtest_output="xml:$OUT/gpu_tests.xml" >> "$OUT/gpu_tests.log" 2>&1
  rc=$?
  { [ "$rc" -le 1 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && break
  last=$(started | tail -1)
  [ -n "$last" ] || break
  crashed+=("$last (exit $rc)")
  exclude="NcclAllReduce.*:$(started | sort -u | paste -sd:)"
  echo "==== $last ended the process (exit $rc); running the tests not yet started" >> "$OUT/gpu_tests.log"
done
main_summary=$(summary "$OUT/gpu_tests.log")
[ "${#crashed[@]}" -gt 0 ] && main_summary="$main_summary (over ${attempt} processes: $(grep -c '^\[       OK \]' "$OUT/gpu_tests.log") OK, ${#crashed[@]} crashed)"
note "NCCL tests"
NCCL_LOG=$(mktemp)
echo "==== specvae_gpu_nccl_tests (NCCL_DEBUG=WARN)" > "$NCCL_LOG"
rc_nccl=124
if time_for "NCCL tests"; then
  NCCL_DEBUG=WARN run timeout -k 5 "$(lim 30)" "$BIN/specvae_gpu_nccl_tests" >> "$NCCL_LOG" 2>&1
  rc_nccl=$?
fi
{
  echo; echo "## Tests"; echo
  echo "- specvae_gpu_tests (all but NCCL): exit $rc; $main_summary"
  echo "- specvae_gpu_nccl_tests: exit $rc_nccl (127: NCCL not found); $(summary "$NCCL_LOG")"
  grep -h -m1 'no GPU:' "$OUT/gpu_tests.log" | sed 's/^ */  - /'
  grep -h -oE '^\[  FAILED  \] [A-Za-z_0-9]+\.[A-Za-z_0-9/]+' "$OUT/gpu_tests.log" "$NCCL_LOG" | sort -u | sed 's/^/  - /'
  for c in "${crashed[@]}"; do echo "  - [ CRASHED  ] $c"; done
} >> "$RESULTS"
cat "$NCCL_LOG" >> "$OUT/gpu_tests.log"; rm -f "$NCCL_LOG"

if [ -n "$SANITIZER" ] && time_for "compute-sanitizer memcheck subset"; then
  note "compute-sanitizer memcheck subset"
  run timeout -k 5 "$(lim 75)" "$SANITIZER" --tool memcheck --error-exitcode 3 --print-limit 20 "$BIN/specvae_gpu_tests" \
    --gtest_filter='CudaBackendOps.*:CudaKnn.RandomPoints*:CudaKnn.MoreDuplicates*:CudaLof.FewPoints*:DeviceShard.*:GpuDevice.*:CudaTrainingStep.MatchesReferenceInFp32' \
    > "$OUT/sanitizer.log" 2>&1
  echo "- compute-sanitizer memcheck (ops, kNN, shard, one training step): exit $? (3 = errors, 124/137 = over its time limit) — $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer.log" | tail -1); $(summary "$OUT/sanitizer.log"); last test started: $(grep -oE '^\[ RUN      \] [A-Za-z_0-9/.]+' "$OUT/sanitizer.log" | tail -1 | awk '{print $4}')" >> "$RESULTS"
elif [ -z "$SANITIZER" ]; then
  echo "- compute-sanitizer: not found on this machine" >> "$RESULTS"
fi

TRAIN=$OUT/bench_train.log
note "training/scoring throughput (specvae cuda)"
echo "==== specvae_bench_gpu_train 50 5" > "$TRAIN"
if time_for "specvae_bench_gpu_train"; then
  run timeout -k 5 "$(lim 70)" "$BIN/specvae_bench_gpu_train" 50 5 >> "$TRAIN" 2>&1
  echo "==== specvae exit $?" >> "$TRAIN"
fi
note "training throughput (pytorch)"
echo "==== python3 $TORCH_PY 50 5" >> "$TRAIN"
if time_for "PyTorch training peer"; then
  PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 70)" python3 "$TORCH_PY" 50 5 >> "$TRAIN" 2>&1
  echo "==== torch exit $?" >> "$TRAIN"
fi
{
  echo; echo "## Training and scoring (spectra/s, median of 5 blocks of 50 steps)"; echo
  grep -m1 -E '^(cuda: |no GPU)' "$TRAIN" | sed 's/^/- specvae: /'
  grep -m1 -E '^torch ' "$TRAIN" | sed 's/^/- /'
  grep -E 'two-pass path instead' "$TRAIN" | sed 's/^.*(\(.*\))$/- cuBLASLt rows: \1/'
  grep -E '^==== .* exit' "$TRAIN" | sed 's/^==== /- /'
  echo
  python3 - "$TRAIN" <<'PY'
import sys
ours, torch = {}, {}
for line in open(sys.argv[1], errors="replace"):
    p = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(p) == 4 and p[3].replace('.', '').isdigit():
        (torch if "pytorch" in p[0] else ours)[(p[0], p[1], p[2])] = float(p[3])
print("| what | batch | math | specvae cuda | pytorch eager | ratio |\n|---|---|---|---|---|---|")
for (what, batch, math), v in ours.items():
    t = torch.get(("train step (pytorch eager)", batch, math)) if what.startswith("train") else None
    name = what.replace(" (specvae cuda)", "").replace("(specvae cuda, ", "(")
    print(f"| {name} | {batch} | {math} | {v:,.0f} | {'' if t is None else f'{t:,.0f}'} | "
          f"{'' if not t else f'{v / t:.2f}x'} |")
PY
} >> "$RESULTS" 2>&1

KNN=$OUT/bench_knn.log
: > "$KNN"
{
  echo; echo "## Exact kNN + LOF (k = 20, 10-d, one GPU)"; echo
  echo "| what | N | wall | tiles | min NOF | GEMM profile |"; echo "|---|---|---|---|---|---|"
} >> "$RESULTS"
knn() {  # N method profile limit: its row goes to results.md as soon as it is known
  echo "==== specvae_bench_gpu_knn $1 $2 $3 (limit $4 s)" >> "$KNN"
  local before rc
  before=$(grep -c '^|' "$KNN")
  run timeout -k 5 "$4" "$BIN/specvae_bench_gpu_knn" "$1" "$2" "$3" >> "$KNN" 2>&1
  rc=$?
  [ -n "$(tail -c1 "$KNN")" ] && echo >> "$KNN"  # a row cut off by the limit ends its line
  echo "==== exit $rc ($1 $2; 124/137 = over the $4 s limit)" >> "$KNN"
  grep '^|' "$KNN" | tail -n +"$((before + 1))" >> "$RESULTS"
  [ "$rc" -ne 0 ] && echo "| $2, exit $rc (124/137 = over the $4 s limit) | $1 | | | | |" >> "$RESULTS"
  return $rc
}
rc_fused=1
if time_for "exact kNN, 1M, cuBLAS tiles"; then
  note "exact kNN + LOF, 1M points (cuBLAS tiles, profiled)"
  knn 1000000 gemm 1 "$(lim 60)"
fi
if time_for "exact kNN, 1M, fused scan"; then
  note "exact kNN + LOF, 1M points (fused scan)"
  knn 1000000 fused 0 "$(lim 30)"
  rc_fused=$?
fi
# Exact kNN is quadratic: 10M takes ≈ 100× the 1M fused wall time. Run 10M when that fits in
# what is left, else the largest N (in millions, ≥ 2M) that does, so the run ends with a number.
left=$(( BUDGET - ($(date +%s) - T0) ))
t1m=$(awk -F'|' '$2 ~ /fused scan/ && $3 + 0 == 1000000 { print $4 + 0 }' "$KNN" | tail -1)
if [ "$rc_fused" -ne 0 ] || [ -z "$t1m" ]; then
  note "skipping the large kNN run: the 1M fused scan failed or did not run (exit $rc_fused)"
elif [ "$left" -lt 20 ]; then
  note "skipping the large kNN run: ${left}s left"
else
  n=$(awk -v t="$t1m" -v left="$left" 'BEGIN { m = int(sqrt(0.7 * (left - 10) / (t > 0.01 ? t : 0.01))); if (m > 10) m = 10; print m }')
  if [ "$n" -lt 2 ]; then
    note "skipping the large kNN run: 1M took ${t1m}s, ${left}s left"
  else
    note "exact kNN + LOF, ${n}M points, fused scan (1M took ${t1m}s; limit ${left}s)"
    knn "${n}000000" fused 0 "$left"
  fi
fi
{
  grep -m1 '^no GPU' "$KNN" | sed 's/^/- /'
  echo; echo "total device-check time: $(( $(date +%s) - T0 )) s"
} >> "$RESULTS"
note "done"
cat "$RESULTS"
