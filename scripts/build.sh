#!/usr/bin/env bash
# Configures and builds one build folder: scripts/build.sh DIR [--target T...] [cmake options...]
# (--target: build only those targets, e.g. the test programs of a sanitizer run).
set -euo pipefail
dir=$1; shift
jobs=$(nproc)
targets=()
if [[ ${1:-} == --target ]]; then
  shift
  while (($#)) && [[ $1 != -* ]]; do targets+=("$1"); shift; done
fi
cmake -S "$(dirname "$0")/.." -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 \
  || { mkdir -p "$dir"; cat "$dir.configure.log" >&2; exit 1; }
grep -E "^-- sparoa:|^CMake Warning" -A2 "$dir.configure.log" || true
if ((${#targets[@]})); then
  cmake --build "$dir" -j"$jobs" --target "${targets[@]}"
else
  cmake --build "$dir" -j"$jobs"
fi
