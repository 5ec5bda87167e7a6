#!/usr/bin/env bash
# Cross-compiles the board build for aarch64 on a Debian 12 amd64 machine: the hardware half
# without SimGrid (graph, platforms, traces, hw with the CPU kernels, policies and the CLI),
# with Debian's cross compiler and Debian's arm64 -dev packages unpacked into a folder (not
# installed: libyaml-cpp-dev:arm64 cannot sit beside the amd64 one). CUDA is off: Debian has
# no aarch64 CUDA; the GPU code is compiled by the native build. Checks that the result is an
# AArch64 executable. Usage: scripts/cross-aarch64.sh [--check] [OUT_DIR]   (default
# build-aarch64/). --check (CI) compiles without optimisation and as a unity build (8 files
# per unit): it proves that everything compiles and links for aarch64 in a fraction of the
# time; without it the build is Release, file by file.
#
# Needs g++-aarch64-linux-gnu and the arm64 architecture in apt's sources; as root it adds
# them (scripts/install-deps.sh installs the compiler).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build_type=Release
extra=()
if [ "${1:-}" = "--check" ]; then
  build_type=None
  extra=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8)  # as the sanitizer build: half the time
  shift
fi
out="$(realpath -m "${1:-$src/build-aarch64}")"  # absolute: CMake refuses relative include paths
sysroot="$out/sysroot"
mkdir -p "$out"

if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "cross-aarch64: no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)" >&2
  exit 1
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "cross-aarch64: apt knows no arm64 packages; as root: dpkg --add-architecture arm64 && apt-get update" >&2
    exit 1
  fi
  dpkg --add-architecture arm64
  apt-get update -qq
fi

# The arm64 libraries the board build links, their -dev packages, and the header-only ones.
packages=(
  libdnnl-dev:arm64 libdnnl2:arm64 libonnx-dev:arm64 libonnx1:arm64 libonnxifi:arm64
  libprotobuf-dev:arm64 libprotobuf32:arm64 libprotobuf-lite32:arm64
  libyaml-cpp-dev:arm64 libyaml-cpp0.7:arm64 libyaml-dev:arm64 libyaml-0-2:arm64 libssl-dev:arm64 libssl3:arm64
  libfmt-dev:arm64 libfmt9:arm64 zlib1g:arm64 zlib1g-dev:arm64 libboost1.74-dev:arm64
  libeigen3-dev libcli11-dev nlohmann-json3-dev
)
stamp="$sysroot/.packages"
if [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
  rm -rf "$sysroot" "$out/debs"
  mkdir -p "$sysroot" "$out/debs"
  (cd "$out/debs" && apt-get download "${packages[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  n=0
  for deb in "$out"/debs/*.deb; do
    dpkg -x "$deb" "$sysroot"
    n=$((n + 1))
  done
  [ "$n" -eq "${#packages[@]}" ] || { echo "cross-aarch64: downloaded $n of ${#packages[@]} packages" >&2; exit 1; }
  echo "${packages[*]}" >"$stamp"
fi

export SPAROA_AARCH64_SYSROOT="$sysroot"
cmake -S "$src" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" \
  -DSPAROA_WITH_SIMGRID=OFF -DSPAROA_WITH_CUDA=OFF -DSPAROA_BUILD_TESTS=OFF -DSPAROA_BUILD_BENCHMARKS=OFF \
  -DProtobuf_PROTOC_EXECUTABLE=/usr/bin/protoc "${extra[@]}" >"$out/configure.log"
ninja -C "$out/build" sparoa
machine="$(readelf -h "$out/build/bin/sparoa" | sed -n 's/^ *Machine: *//p')"
if [ "$machine" != "AArch64" ]; then
  echo "cross-aarch64: bin/sparoa is built for '$machine', not AArch64" >&2
  exit 1
fi
echo "cross-aarch64: $out/build/bin/sparoa is an AArch64 executable (board build: no SimGrid, no CUDA; $build_type)"
