#!/usr/bin/env bash
# Device checks for a machine with a GPU (CUDA 13, PyTorch, no network, none of our Debian
# libraries), from the bundle tests/gpu/prepare_device_bundle.sh made (.device/ by default):
# the GPU test suite (then a memcheck subset under compute-sanitizer when present), training
# and scoring throughput next to PyTorch on the same GPU, and exact kNN + LOF at 1M and 10M
# points. Each step has a time limit (≈ 7.5 min in all); logs and results.md go to OUTDIR.
# Usage: run_device_checks.sh OUTDIR   (env: SPECVAE_DEVICE_BUNDLE)
set -u
OUT=${1:?usage: run_device_checks.sh OUTDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${SPECVAE_DEVICE_BUNDLE:-}" ]; then BUNDLE=$SPECVAE_DEVICE_BUNDLE
elif [ -x "$HERE/bin/specvae_gpu_tests" ]; then BUNDLE=$HERE          # run from inside the bundle
else BUNDLE=$(cd "$HERE/../.." && pwd)/.device; fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.md
T0=$(date +%s)
note() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/steps.log"; }

# CUDA libraries of the machine: the toolkit's, else pip's nvidia-* wheels next to torch.
LIBS=$BUNDLE/lib
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && LIBS=$LIBS:$d
done
for lib in libnccl.so.2 libcublas.so.13 libcudart.so.13; do
  if ! ldconfig -p 2>/dev/null | grep -q "$lib" && ! ls ${LIBS//:/\/$lib } 2>/dev/null | grep -q .; then
    found=$(find / -xdev -name "$lib" -path '*nvidia*' 2>/dev/null | head -1)
    [ -n "$found" ] && LIBS=$LIBS:$(dirname "$found")
  fi
done
# Only our programs see the bundle's libraries (python/torch keep their own).
run() { LD_LIBRARY_PATH="$LIBS:${LD_LIBRARY_PATH:-}" "$@"; }
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)

{
  echo "# specvae device checks"
  echo
  echo "- bundle: $(head -2 "$BUNDLE/MANIFEST.txt" 2>/dev/null | tail -1)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$RESULTS"
run ldd "$BUNDLE/bin/specvae_gpu_tests" > "$OUT/ldd.txt" 2>&1
if grep -q "not found" "$OUT/ldd.txt"; then note "missing libraries:"; grep "not found" "$OUT/ldd.txt" | tee -a "$OUT/steps.log"; fi

note "GPU test suite"
run timeout 100 "$BUNDLE/bin/specvae_gpu_tests" --gtest_output="xml:$OUT/gpu_tests.xml" > "$OUT/gpu_tests.log" 2>&1
rc=$?
summary=$(grep -E '^\[ +(PASSED|FAILED|SKIPPED) +\] [0-9]+ tests?' "$OUT/gpu_tests.log" | tr '\n' ' ')
{ echo; echo "## Tests"; echo; echo "- specvae_gpu_tests: exit $rc; $summary"; } >> "$RESULTS"
grep -E '^\[  FAILED  \] [A-Za-z_0-9]+\.[A-Za-z_0-9]+' "$OUT/gpu_tests.log" | sort -u | sed 's/^/  - /' >> "$RESULTS"

if [ -n "$SANITIZER" ]; then
  note "compute-sanitizer memcheck subset"
  run timeout 80 "$SANITIZER" --tool memcheck --error-exitcode 3 --print-limit 20 "$BUNDLE/bin/specvae_gpu_tests" \
    --gtest_filter='CudaBackendOps.*:CudaKnn.RandomPoints*:CudaKnn.MoreDuplicates*:CudaLof.FewPoints*:DeviceShard.*:GpuDevice.*' \
    > "$OUT/sanitizer.log" 2>&1
  echo "- compute-sanitizer memcheck (ops, kNN, shard): exit $? — $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer.log" | tail -1)" >> "$RESULTS"
else
  echo "- compute-sanitizer: not found on this machine" >> "$RESULTS"
fi

note "training/scoring throughput (specvae cuda)"
run timeout 75 "$BUNDLE/bin/specvae_bench_gpu_train" 50 5 > "$OUT/bench_train.md" 2> "$OUT/bench_train.log"
echo "specvae bench exit $?" >> "$OUT/bench_train.log"
note "training throughput (pytorch)"
timeout 75 python3 "$BUNDLE/torch_train.py" 50 5 > "$OUT/bench_torch.md" 2> "$OUT/bench_torch.log"
echo "torch exit $?" >> "$OUT/bench_torch.log"
{
  echo; echo "## Training and scoring (spectra/s, median of 5 blocks of 50 steps)"; echo
  echo "$(head -1 "$OUT/bench_train.log")"; echo "$(head -1 "$OUT/bench_torch.log")"; echo
  python3 - "$OUT/bench_train.md" "$OUT/bench_torch.md" <<'PY'
import sys
def rows(path):
    out = {}
    for line in open(path):
        p = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(p) == 4 and p[3].replace('.', '').isdigit():
            out[(p[0], p[1], p[2])] = float(p[3])
    return out
ours, torch = rows(sys.argv[1]), rows(sys.argv[2])
print("| what | batch | math | specvae cuda | pytorch eager | ratio |\n|---|---|---|---|---|---|")
for (what, batch, math), v in ours.items():
    t = torch.get(("train step (pytorch eager)", batch, math)) if what.startswith("train") else None
    print(f"| {what.split(' (')[0]} | {batch} | {math} | {v:,.0f} | {'' if t is None else f'{t:,.0f}'} | "
          f"{'' if not t else f'{v / t:.2f}x'} |")
PY
} >> "$RESULTS" 2>&1

note "exact kNN + LOF, 1M points (cuBLAS tiles, profiled; then the fused scan)"
run timeout 60 "$BUNDLE/bin/specvae_bench_gpu_knn" 1000000 gemm 1 > "$OUT/bench_knn_1m.md" 2>&1
echo "exit $? (gemm)" >> "$OUT/bench_knn_1m.md"
run timeout 30 "$BUNDLE/bin/specvae_bench_gpu_knn" 1000000 fused 0 >> "$OUT/bench_knn_1m.md" 2>&1
echo "exit $? (fused)" >> "$OUT/bench_knn_1m.md"
left=$(( 450 - ($(date +%s) - T0) ))
[ "$left" -lt 30 ] && left=30
note "exact kNN + LOF, 10M points, fused scan (limit ${left}s)"
run timeout "$left" "$BUNDLE/bin/specvae_bench_gpu_knn" 10000000 fused 0 > "$OUT/bench_knn_10m.md" 2>&1
echo "exit $? (124 = over the ${left}s limit)" >> "$OUT/bench_knn_10m.md"
{
  echo; echo "## Exact kNN + LOF (k = 20, 10-d, one GPU)"; echo
  echo "| what | N | wall | tiles | min NOF | GEMM profile |"; echo "|---|---|---|---|---|---|"
  grep '^|' "$OUT/bench_knn_1m.md"; grep '^|' "$OUT/bench_knn_10m.md"
  grep -h '^exit' "$OUT/bench_knn_1m.md" "$OUT/bench_knn_10m.md" | sed 's/^/- /'
  echo; echo "total device-check time: $(( $(date +%s) - T0 )) s"
} >> "$RESULTS"
note "done"
cat "$RESULTS"
