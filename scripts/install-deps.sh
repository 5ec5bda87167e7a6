#!/usr/bin/env bash
# Installs what sparoa needs from Debian 12's packages (run as root). Only missing packages
# are installed, so a second run costs a second. CUDA 13 and cuDNN 9 are used when present
# (they are not in Debian's registry); the build works without them.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libsimgrid-dev libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libyaml-cpp-dev libeigen3-dev libboost-graph-dev libssl-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-onnx python3-numpy python3-matplotlib
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them with apt-get)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
