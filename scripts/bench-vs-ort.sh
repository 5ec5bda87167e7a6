#!/usr/bin/env bash
# Dense CPU kernels against ONNX Runtime on the same machine, the same models and the same
# input bytes: the zoo CNNs at batch 1 with 2 threads. ONNX Runtime 1.30 (npm package
# onnxruntime-node, installed with --ignore-scripts into bench/ort/node_modules) runs with all
# graph optimisations on, intra-op threads 2, inter-op 1, sequential execution. sparoa runs the
# default schedule (every operator dense on one lane of all cores), unfused and with
# `--fuse` (the usual fusions declared). Medians of RUNS runs after warm-up.
#
#   scripts/bench-vs-ort.sh [BUILD_DIR] [RUNS] [MODELS...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}; shift || true
runs=${1:-30}; shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mobilenetv3_small mobilenetv2 squeezenet1_1 efficientnet_b0 resnet18 resnet50 vgg16)
sparoa=$build/bin/sparoa
zoo=$build/zoo
if [ ! -f bench/ort/node_modules/onnxruntime-node/package.json ]; then
  (cd bench/ort && npm install --ignore-scripts --no-audit --no-fund >/dev/null)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p50() { awk '/latency p50/ {print $(NF-1)}'; }
printf '%-18s %12s %12s %12s %10s %10s\n' model "ORT ms" "ours ms" "fused ms" "ours/ORT" "fused/ORT"
log_sum=0; log_sum_fused=0; n=0
for m in "${models[@]}"; do
  ours=$("$sparoa" run -m "$m" --zoo-dir "$zoo" --warmup 5 -n "$runs" --save-inputs "$tmp/$m" | p50)
  fused=$("$sparoa" run -m "$m" --zoo-dir "$zoo" --warmup 5 -n "$runs" --inputs "$tmp/$m" --fuse | p50)
  file=$(ls "$zoo/$m"-s0.00-u-*.onnx | head -1)
  ort=$(node bench/ort/ort_bench.mjs "$file" "$tmp/$m" --runs "$runs" --warmup 5 --threads 2 |
        sed -n 's/.*"median_ms":\([0-9.e+-]*\).*/\1/p')
  r=$(awk -v a="$ours" -v b="$ort" 'BEGIN {printf "%.3f", a / b}')
  rf=$(awk -v a="$fused" -v b="$ort" 'BEGIN {printf "%.3f", a / b}')
  printf '%-18s %12.3f %12.3f %12.3f %10s %10s\n' "$m" "$ort" "$ours" "$fused" "$r" "$rf"
  log_sum=$(awk -v s="$log_sum" -v r="$r" 'BEGIN {print s + log(r)}')
  log_sum_fused=$(awk -v s="$log_sum_fused" -v r="$rf" 'BEGIN {print s + log(r)}')
  n=$((n + 1))
done
awk -v s="$log_sum" -v f="$log_sum_fused" -v n="$n" \
  'BEGIN {printf "geometric mean of ours/ORT: unfused %.3f, fused %.3f (%d models)\n", exp(s / n), exp(f / n), n}'
