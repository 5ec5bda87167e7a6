#!/usr/bin/env bash
# README command (2): install what is missing, build, and run every test: the Release build
# (all tests, the large zoo models included), an ASan+UBSan build (all tests but the large
# models and the long learning runs below), and the board build cross-compiled for aarch64. Prints how long each step took; exits
# non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
declare -a timing=()
step() {  # step NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  "$@"
  timing+=("$(printf '%-34s %5d s' "$name" $((SECONDS - start)))")
}

step "install dependencies" scripts/install-deps.sh
mkdir -p build build-asan
# Both builds are unity builds (8 files per unit): about a third less build time, which keeps
# CI well inside its budget. A file that forgets an include can hide behind an earlier one of
# its unit here; the default build (scripts/build.sh without these flags, as users and boards
# build) compiles every file on its own and shows it.
step "build (Release)" scripts/build.sh build -DSPAROA_CONFORMANCE_TESTS=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8
step "tests (Release)" ctest --test-dir build -j"$jobs" --output-on-failure --timeout 900
step "build (ASan+UBSan)" scripts/build.sh build-asan -DSPAROA_SANITIZE=ON -DSPAROA_CONFORMANCE_TESTS=ON -DSPAROA_WITH_CUDA=OFF \
  -DSPAROA_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8
# Left out of the sanitizer run (the Release run has them): the demo (every command it calls
# has its own tests here), the tests whose time goes into many identical training or search
# iterations (the SAC and predictor training runs, the unpruned exhaustive oracle) and
# ResNet-18 on the CPU kernels (the other zoo models run the same kernels). Their code paths
# stay covered here by shorter tests (SAC determinism and checkpoints, predictor round trip,
# pruned oracle, the other models). The local-Slurm sweep and the report script's Python
# tests run once, in Release: the sweep runner's code they use is under the sanitizers in
# sweep_cli_test.
asan_skip='^(slurm_sweep|report_py|DemoCli\.|TrainCli\.|TrainRlCli\.TrainsAnAgent|SacInSimulator\.LearnsTheKnownBestPlacement|ThresholdPredictor\.Learns|Oracle\.UnprunedExhaustive|Zoo/EveryZooModelOnHardware\..*"resnet18")'
step "tests (ASan+UBSan)" env SPAROA_SKIP_LARGE_MODELS=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900 -E "$asan_skip"

# The board build (no SimGrid, CPU kernels, no CUDA) cross-compiled for aarch64 with Debian's
# cross compiler and arm64 packages, unoptimised: it must compile and link there.
step "cross-compile (aarch64 board)" scripts/cross-aarch64.sh --check build-aarch64

echo
echo "step                                time"
printf '%s\n' "${timing[@]}"
