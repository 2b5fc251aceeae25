#!/usr/bin/env bash
# The layering (ARCHITECTURE.md), checked on the built libraries: every specvae symbol a layer's
# library needs must be defined in that library or in a layer below it. A call upward (io
# calling the model, the model calling a stage) fails here even where the final link would let
# it through because a higher library happened to be pulled in already.
# Usage: check_layers.sh DIR (the folder holding libspecvae_*.a)
set -euo pipefail
dir=$1
order=(base neighbours gpu io parallel model stages pipeline)
libs_of() {
  case $1 in
    gpu) echo "$dir/libspecvae_gpu.a $( [[ -f $dir/libspecvae_gpu_nccl.a ]] && echo "$dir/libspecvae_gpu_nccl.a")" ;;
    *) echo "$dir/libspecvae_$1.a" ;;
  esac
}
symbols() {  # $1: -u (needed) or --defined-only; then archives. specvae's own symbols only.
  local mode=$1; shift
  nm -C "$mode" "$@" 2>/dev/null | grep -v ':$' | sed -E 's/^[0-9a-f]* *[A-Za-z] //' | grep -E '^(vtable for |typeinfo for |typeinfo name for )?specvae::' | sort -u
}
below="" bad=0
for layer in "${order[@]}"; do
  mine=$(libs_of "$layer")
  for f in $mine; do [[ -f $f ]] || { echo "no $f: build first"; exit 2; }; done
  # shellcheck disable=SC2086
  missing=$(comm -23 <(symbols -u $mine) <(symbols --defined-only $mine $below))
  if [[ -n $missing ]]; then
    echo "layer $layer needs what no layer at or below it defines (a call upward):"
    echo "$missing" | sed 's/^/  /' | head -20
    bad=1
  fi
  below="$below $mine"
done
[[ $bad == 0 ]] && echo "layers ${order[*]}: no call upward"
exit $bad
