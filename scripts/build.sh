#!/usr/bin/env bash
# Configures and builds one build folder: scripts/build.sh DIR [cmake options...]
set -euo pipefail
dir=$1; shift
jobs=$(nproc)
cmake -S "$(dirname "$0")/.." -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 \
  || { mkdir -p "$dir"; cat "$dir.configure.log" >&2; exit 1; }
grep -E "^-- sparoa:|^CMake Warning" -A2 "$dir.configure.log" || true
cmake --build "$dir" -j"$jobs"
