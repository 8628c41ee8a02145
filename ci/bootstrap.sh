#!/usr/bin/env bash
# Installs the system libraries poyo-swift builds against. Idempotent: does nothing when all are present.
set -euo pipefail
pkgs=(ocl-icd-opencl-dev opencl-headers libclblast-dev libhdf5-dev libopenblas-dev pocl-opencl-icd clinfo pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all system packages present"
  exit 0
fi
echo "bootstrap: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done"
