#!/usr/bin/env bash
# Online validation on this machine (issue "Online hybrid engine on hardware"): requests
# arriving as a Poisson process on the two-lane host platform, under the CPU-interference
# trace examples/state/host-cpu-interference.csv, served on the real kernels and in the
# simulator, for cpu-only, greedy-eft and an rl agent; one `sparoa validate` per policy.
#
#   scripts/online-validation.sh [BUILD_DIR] [OUT_DIR]
#
# Steps: (1) fit host-2core-2lanes to this machine on ResNet-18 profiles (the validated model
# is not among them); (2) train a small rl agent in the simulator on the fitted file, idle and
# with CPU bursts (a few minutes; not the curriculum); (3) validate each policy. Run it on an
# idle machine: every measured figure is a measurement. Environment: SPAROA_ONLINE_MODEL
# (squeezenet1_1), SPAROA_ONLINE_RATE (requests/s, 40), SPAROA_ONLINE_REQUESTS (480: about
# 12 s, the length of the trace), SPAROA_RL_STEPS (60000).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-$build/online-validation}
sparoa=$build/bin/sparoa
zoo=$build/zoo
model=${SPAROA_ONLINE_MODEL:-squeezenet1_1}
rate=${SPAROA_ONLINE_RATE:-40}
requests=${SPAROA_ONLINE_REQUESTS:-480}
steps=${SPAROA_RL_STEPS:-60000}
sparsity=0.5
state=examples/state/host-cpu-interference.csv
mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "=== (1) fit host-2core-2lanes on resnet18 profiles"
"$sparoa" profile -m resnet18 --sparsity "$sparsity" --zoo-dir "$zoo" -p host-2core-2lanes --lanes cpu0 \
  --kernels dense,sparse --in-context -q -o "$out/r18.csv"
"$sparoa" profile -m resnet18 --sparsity "$sparsity" --zoo-dir "$zoo" -p host-2core-2lanes --lanes cpu0 --corun \
  --kernels dense --in-context -q -o "$out/r18-corun.csv"
"$sparoa" calibrate --profile "$out/r18.csv" --profile "$out/r18-corun.csv" -p host-2core-2lanes -o "$out/fitted.yaml" \
  > "$out/calibrate.txt"

echo "=== (2) a small rl agent for the fitted platform ($steps decisions)"
cat > "$out/rl.yaml" <<YAML
seed: 1
workers: 2
episodes_per_job: 8
warmup_steps: 5000
updates_per_step: 0.0625
buffer: 100000
state_variants: 2
sac: {hidden: 64, batch: 64, initial_alpha: 0.05, target_entropy: 0.2}
stages:
  - name: host
    steps: $steps
    models: [$model, resnet18, mobilenetv2]
    sparsity: [$sparsity]
    platforms: [$out/fitted.yaml]
    states: [idle, cpu-bursts]
YAML
"$sparoa" train rl --config "$out/rl.yaml" --zoo-dir "$zoo" -o "$out/agent.bin" > "$out/train.txt"

echo "=== (3) validate: $model, poisson:$rate, $requests requests, $state"
for policy in cpu-only greedy-eft rl; do
  extra=()
  [[ $policy == rl ]] && extra=(--agent "$out/agent.bin")
  "$sparoa" validate -m "$model" --sparsity "$sparsity" --zoo-dir "$zoo" -p "$out/fitted.yaml" --policy "$policy" "${extra[@]}" \
    --arrivals "poisson:$rate" --requests "$requests" --state "$state" --csv "$out/$policy.csv" | tee "$out/$policy.txt"
done
echo "results in $out"
