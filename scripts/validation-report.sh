#!/usr/bin/env bash
# The simulator-versus-hardware validation report on this machine (issue "Calibration and
# validation"): profiles every zoo model on the two host platforms, fits the cost model
# leave-one-model-out (the model being validated is never in the profiles its parameters were
# fitted on), validates dense, sparse and two-lane schedules with the fitted and with the
# uncalibrated platform files, and writes a Markdown report.
#
#   scripts/validation-report.sh [BUILD_DIR] [OUT_DIR] [MODELS]
#
# Run it on an idle machine: every figure is a measurement. Defaults: build,
# build/validation, every zoo model. Takes about 10 minutes on 2 cores with every model.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-$build/validation}
models=${3:-mobilenetv3_small,mobilenetv2,squeezenet1_1,efficientnet_b0,resnet18,resnet50,vit_tiny_16,bert_small,vgg16}
sparoa=$build/bin/sparoa
zoo=$build/zoo
sparsity=0.5     # pruned, so that sparse kernels have zeros to skip
iterations=${SPAROA_VALIDATION_ITERATIONS:-20}
repetitions=${SPAROA_PROFILE_REPETITIONS:-9}
mkdir -p "$out"/profiles "$out"/fitted "$out"/schedules "$out"/runs
IFS=, read -r -a model_list <<< "$models"
start=$SECONDS

echo "=== profiles ($repetitions repetitions per operator)"
for m in "${model_list[@]}"; do
  "$sparoa" zoo build --out "$zoo" --models "$m" --sparsity "$sparsity" >/dev/null
  "$sparoa" profile -m "$m" --sparsity "$sparsity" --zoo-dir "$zoo" -p host-2core-1lane --kernels dense,sparse \
    -r "$repetitions" --in-context -q -o "$out/profiles/1lane-$m.csv"
  "$sparoa" profile -m "$m" --sparsity "$sparsity" --zoo-dir "$zoo" -p host-2core-2lanes --lanes cpu0 \
    --kernels dense,sparse -r "$repetitions" --in-context -q -o "$out/profiles/2lanes-$m.csv"
  "$sparoa" profile -m "$m" --sparsity "$sparsity" --zoo-dir "$zoo" -p host-2core-2lanes --lanes cpu0 --corun \
    --kernels dense -r "$repetitions" --in-context -q -o "$out/profiles/2lanes-corun-$m.csv"
done

echo "=== leave-one-model-out calibration"
for m in "${model_list[@]}"; do
  for p in 1lane 2lanes; do
    args=()
    for other in "${model_list[@]}"; do
      [ "$other" = "$m" ] && continue
      args+=(--profile "$out/profiles/$p-$other.csv")
      [ "$p" = 2lanes ] && args+=(--profile "$out/profiles/2lanes-corun-$other.csv")
    done
    "$sparoa" calibrate "${args[@]}" -p "host-2core-$p" -o "$out/fitted/$p-without-$m.yaml" > "$out/fitted/$p-without-$m.txt"
  done
done
# And one fit on every model, for the record.
all1=() all2=()
for m in "${model_list[@]}"; do
  all1+=(--profile "$out/profiles/1lane-$m.csv")
  all2+=(--profile "$out/profiles/2lanes-$m.csv" --profile "$out/profiles/2lanes-corun-$m.csv")
done
"$sparoa" calibrate "${all1[@]}" -p host-2core-1lane -o "$out/fitted/1lane-all.yaml" > "$out/fitted/1lane-all.txt"
"$sparoa" calibrate "${all2[@]}" -p host-2core-2lanes -o "$out/fitted/2lanes-all.yaml" > "$out/fitted/2lanes-all.txt"

echo "=== validation ($iterations iterations per run)"
for m in "${model_list[@]}"; do
  file=$(ls "$zoo/$m-s0.50-u-"*.onnx | head -1)
  s=$out/schedules
  "$sparoa" schedule template "$file" --platform host-2core-1lane --lane cpu0 -o "$s/$m-dense.yaml" >/dev/null
  "$sparoa" schedule template "$file" --platform host-2core-1lane --lane cpu0 --kernel sparse -o "$s/$m-sparse.yaml" >/dev/null
  "$sparoa" schedule template "$file" --platform host-2core-2lanes --lane cpu0,cpu1 -o "$s/$m-2lanes.yaml" >/dev/null
  "$sparoa" schedule template "$file" --platform host-2core-2lanes --lane cpu0,cpu1 --kernel sparse \
    -o "$s/$m-2lanes-mixed.yaml" >/dev/null
  for sched in dense sparse 2lanes 2lanes-mixed; do
    case $sched in dense|sparse) p=1lane ;; *) p=2lanes ;; esac
    for cal in uncalibrated fitted; do
      platform=host-2core-$p
      [ "$cal" = fitted ] && platform=$out/fitted/$p-without-$m.yaml
      "$sparoa" validate -m "$file" -p "$platform" -s "$s/$m-$sched.yaml" -n "$iterations" \
        --csv "$out/runs/$m-$sched-$cal.csv" > "$out/runs/$m-$sched-$cal.txt"
    done
  done
  echo "$m done ($((SECONDS - start)) s)"
done

/usr/bin/python3 scripts/validation_report.py "$out" "${model_list[@]}" > "$out/report.md"
echo "report: $out/report.md ($((SECONDS - start)) s)"
