#!/usr/bin/env bash
# Installs every Debian package that specvae's build, tests and default job need.
# Idempotent: when everything is present it prints nothing and exits 0.
# Usage: jobs/install_deps.sh [--with-bench]   (bench adds PyTorch for the side-by-side scripts)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libcfitsio-dev
  libopenblas-dev libdnnl-dev
  libfaiss-dev libopencv-ml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  python3 python3-numpy python3-sklearn python3-astropy python3-h5py
  chromium  # the report's tests open it in a headless browser
  slurm-wlm munge  # e2e_slurm_jobs starts a one-node Slurm to run the job scripts
)
if [[ "${1:-}" == "--with-bench" ]]; then
  packages+=(python3-torch python3-scipy)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "specvae: installing ${#missing[@]} Debian package(s): ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/specvae-apt.log 2>&1 || { cat /tmp/specvae-apt.log; exit 1; }
echo "specvae: dependencies installed"
