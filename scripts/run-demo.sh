#!/usr/bin/env bash
# README command (1): install what is missing, build, and run the main job, `sparoa demo`:
# the tour of the whole loop (the workload's quadrants; cpu-only and gpu-only on the
# simulated Jetson AGX Orin 64GB in MAXN; profiling this machine, calibrating its platform
# file and validating a two-lane schedule against the simulator), with Perfetto timelines
# and a PNG plot in build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p build
scripts/build.sh build >/dev/null
build/bin/sparoa demo "$@"
