#!/usr/bin/env bash
# Installs what sparoa needs from Debian 12's packages (run as root). Only missing packages
# are installed, so a second run costs a second. CUDA 13 and cuDNN 9 are used when present
# (they are not in Debian's registry); the build works without them.
# Slurm (slurmctld, slurmd, client commands) and munge are for the sweep runner's tests, which
# start a throw-away cluster with scripts/local-slurm.sh; their packages would start system-wide
# daemons, so they are installed while a temporary policy-rc.d forbids that.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libsimgrid-dev libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libyaml-cpp-dev libyaml-dev libeigen3-dev libboost-graph-dev libssl-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-onnx python3-numpy python3-matplotlib python3-yaml
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  clang-14 libclang-rt-14-dev
)
slurm_packages=(slurmctld slurmd slurm-client munge)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
missing_slurm=()
for p in "${slurm_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_slurm+=("$p")
done
all_missing=("${missing[@]}" "${missing_slurm[@]}")
if [ ${#all_missing[@]} -eq 0 ]; then
  echo "install-deps: all $((${#packages[@]} + ${#slurm_packages[@]})) packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${all_missing[*]}; run as root (or install them with apt-get)" >&2
  exit 1
fi
echo "install-deps: installing ${all_missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#missing_slurm[@]} -gt 0 ]; then
  # A policy-rc.d that exits 101 keeps the packages' scripts from starting munged, slurmctld and
  # slurmd system-wide; it is removed (and any earlier one put back) however the install ends.
  policy=/usr/sbin/policy-rc.d
  saved_policy=""
  restore_policy() {
    rm -f "$policy"
    if [ -n "$saved_policy" ]; then mv -f "$saved_policy" "$policy"; fi
  }
  if [ -e "$policy" ] || [ -L "$policy" ]; then
    saved_policy=$(mktemp "$policy.install-deps.XXXXXX")
    mv -f "$policy" "$saved_policy"
  fi
  trap restore_policy EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  printf '#!/bin/sh\n# Temporary, from scripts/install-deps.sh: start no daemons while installing.\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  apt-get install -y -qq --no-install-recommends "${missing_slurm[@]}" >/dev/null
  restore_policy
  trap - EXIT INT TERM HUP
fi
echo "install-deps: done"
