#!/usr/bin/env bash
# README command (2): install what is missing, build, and run every test once under the
# strictest build that can afford it: an ASan+UBSan build runs every test but the large models
# and the long learning runs, which the Release build runs; a clang build fuzzes every loader
# for a few seconds each; a ThreadSanitizer build runs the replay and online engines' tests and
# the RL workers'; the board build is cross-compiled for aarch64. Prints how long each step
# took; exits non-zero on any failure.
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
# sweep_cli_test. So do the kill tests of crash_safe_output_test (they test what a SIGKILL
# leaves on disk, not memory; their commands run under ASan in their own tests) and the batch
# tuning search (many simulations of code the simulate and compare tests cover).
asan_skip='^(slurm_sweep|report_py|DemoCli\.|TrainCli\.|TrainRlCli\.TrainsAnAgent|SacInSimulator\.LearnsTheKnownBestPlacement|ThresholdPredictor\.Learns|Oracle\.UnprunedExhaustive|Zoo/EveryZooModelOnHardware\..*"resnet18"|CrashSafeOutputs\.|TuneCli\.)'
step "tests (ASan+UBSan)" env SPAROA_SKIP_LARGE_MODELS=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900 -E "$asan_skip"
# The Release build runs what the sanitizer run leaves out: those tests and every test of the
# large zoo models (VGG-16, ResNet-50, BERT-small), whose names carry the model's name.
step "tests (Release: large models, long runs)" ctest --test-dir build -j"$jobs" --output-on-failure --timeout 900 \
  -R "$asan_skip|\"(vgg16|resnet50|bert_small)\""

# Every loader fuzzed for 5 s (fuzz/README.md): a crash, leak, hang or allocation over 1 GiB
# fails the run. The long campaigns are scripts/fuzz.sh with a longer -t.
step "fuzz (clang, 5 s per target)" scripts/fuzz.sh -t 5 -j "$jobs" -o build-fuzz/ci-run

# ThreadSanitizer on the threaded parts: the replay and online engines (lane threads, their
# queues and condition variables) and the RL training with parallel rollout workers.
# tests/tsan.supp suppresses OpenMP only (Debian's libgomp is not TSan-instrumented).
tsan_tests=(tests/hw/engine/replay_test tests/hw/engine/online_engine_test tests/policies/rl_sim_test)
step "build (TSan)" scripts/build.sh build-tsan --target replay_test online_engine_test rl_sim_test \
  -DSPAROA_TSAN=ON -DSPAROA_WITH_CUDA=OFF -DSPAROA_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8
run_tsan() {
  local status=0
  for t in "${tsan_tests[@]}"; do
    # (the SAC learning test is a long single-threaded run: the determinism test covers the workers)
    TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" "build-tsan/$t" \
      --gtest_filter=-SacInSimulator.LearnsTheKnownBestPlacement || status=1
  done
  return $status
}
step "tests (TSan)" run_tsan

# The board build (no SimGrid, CPU kernels, no CUDA) cross-compiled for aarch64 with Debian's
# cross compiler and arm64 packages, unoptimised: it must compile and link there.
step "cross-compile (aarch64 board)" scripts/cross-aarch64.sh --check build-aarch64

echo
echo "step                                time"
printf '%s\n' "${timing[@]}"
