#!/usr/bin/env bash
# Evaluates an rl agent on held-out models and held-out hardware-state traces against every
# baseline, the threshold policy and the oracle (sparoa compare per case), then writes
# OUT/summary.md with the issue's three checks per case: the share of the gap between the
# best baseline and the oracle the agent closes, its energy against greedy-eft, and (on
# interference traces) whether it beats every static schedule.
#
#   scripts/evaluate-rl.sh AGENT OUT [BUILD_DIR]
#
# Cases: resnet50, efficientnet_b0 and vit_tiny_16 (held out of experiments/rl/curriculum.yaml)
# at 50% weight sparsity, on the AGX Orin (MAXN) and the Orin Nano (15 W), on an idle board
# (one inference) and under the two committed held-out traces (100 inferences back to back).
set -euo pipefail
agent=$1
out=$2
build=${3:-build}
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
for platform in agx-orin-64gb-maxn orin-nano-8gb-15w; do
  for model in resnet50 efficientnet_b0 vit_tiny_16; do
    for state in idle heldout-gpu-interference heldout-mixed; do
      csv="$out/$model-$platform-$state.csv"
      [ -s "$csv" ] && continue  # resume
      args=(compare -m "$model" --sparsity 0.5 -p "$platform" --agent "$agent" --no-search --oracle-runs 100 --csv "$csv.tmp")
      [ "$state" != idle ] && args+=(--state "$root/experiments/rl/traces/$state.csv" -n 100)
      echo "== $model $platform $state"
      "$build/bin/sparoa" "${args[@]}" > "$out/$model-$platform-$state.log"
      mv "$csv.tmp" "$csv"
    done
  done
done
/usr/bin/python3 "$root/scripts/rl_evaluation_report.py" "$out"/*.csv > "$out/summary.md"
cat "$out/summary.md"
