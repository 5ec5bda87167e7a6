#!/usr/bin/env bash
# README command (1): install what is missing, build, and run the main job: the workload
# demo (MobileNetV3-Small pruned to three sparsities, its quadrants), then the simulator on
# the embedded default board (Jetson AGX Orin 64GB, MAXN): the same model all on the CPU and
# all on the GPU under Poisson arrivals, with a Chrome trace to open in Perfetto.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p build
scripts/build.sh build >/dev/null
build/bin/sparoa demo "$@"
for placement in cpu-only gpu-only; do
  echo
  echo "== sparoa simulate -m mobilenetv3_small --sparsity 0.5 -p agx-orin-64gb-maxn --policy $placement" \
       "--arrivals poisson:200 -n 200"
  build/bin/sparoa simulate -m mobilenetv3_small --sparsity 0.5 -p agx-orin-64gb-maxn --policy "$placement" \
    --arrivals poisson:200 -n 200 --trace "build/demo-$placement.json" --csv "build/demo-$placement.csv"
done
echo
echo "Traces: build/demo-cpu-only.json and build/demo-gpu-only.json (open in https://ui.perfetto.dev);"
echo "per-operator CSVs beside them."
