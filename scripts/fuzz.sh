#!/usr/bin/env bash
# Fuzzes every loader with libFuzzer (fuzz/README.md): builds build-fuzz with clang 14 (ASan,
# UBSan, coverage in our libraries), then runs each target for SECONDS, one after another.
#
#   scripts/fuzz.sh [-t SECONDS] [-o DIR] [-j JOBS] [--build DIR] [TARGET...]
#
# DIR (default out/fuzz) keeps each target's growing corpus (DIR/corpus/TARGET), so runs add up,
# and its crashes (DIR/crashes/TARGET). The seeds are fuzz/seeds/TARGET, the repository's own
# files of that format, and fuzz/regressions/TARGET (inputs that once crashed). -j runs that
# many targets at once. Prints one line per target: executions, edges covered out of those
# instrumented, the share of inputs past the first parse and accepted whole, and crashes;
# writes the same table to DIR/summary.tsv. Exits 1 when any target crashed, leaked, timed
# out or ran out of memory (the input is in DIR/crashes/TARGET; `fuzz_TARGET FILE` replays it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=60 out=$root/out/fuzz build=$root/build-fuzz jobs=1
targets=()
while (($#)); do
  case $1 in
    -t) seconds=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
# The target list of fuzz/CMakeLists.txt: the words between "set(SPAROA_FUZZ_TARGETS" and ")".
all=$(awk '/^set\(SPAROA_FUZZ_TARGETS$/ { on = 1; next } on && /\)/ { sub(/\).*/, ""); print; exit } on' \
  "$root/fuzz/CMakeLists.txt" | tr -s ' \n' ' ')
((${#targets[@]})) || read -r -a targets <<<"$(echo $all)"
for t in "${targets[@]}"; do
  [[ " $(echo $all) " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (targets: $(echo $all))" >&2; exit 2; }
done

command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
if [[ ! -f $build/build.ninja ]]; then
  mkdir -p "$build"
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DSPAROA_FUZZ=ON -DSPAROA_WITH_SIMGRID=OFF -DSPAROA_WITH_CUDA=OFF \
    -DSPAROA_BUILD_TESTS=OFF -DSPAROA_BUILD_BENCHMARKS=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 \
    >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log" >&2; exit 2; }
fi
cmake --build "$build" --target fuzz_targets -j"$(nproc)"

# The repository's own files of each format (fuzz/seed_dirs.txt), beside the committed seeds.
extra_seeds() {
  awk -v t="$1" -v r="$root" '$1 == t { print r "/" $2 }' "$root/fuzz/seed_dirs.txt"
}

run_one() {
  local t=$1 log=$out/logs/$1.log
  mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$out/logs"
  local seeds=()
  for d in "$root/fuzz/seeds/$t" "$root/fuzz/regressions/$t" $(extra_seeds "$t"); do
    [[ -d $d ]] && seeds+=("$d")
  done
  # Bounds: 2 GiB resident, no single allocation over 1 GiB, 10 s per input; leaks count.
  # The child's own exit status is read from the log: a crash still gets its table row. The
  # outer timeout ends a fuzzer stuck in its own out-of-memory report (seen once).
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    timeout -k 10 $((seconds + 120)) "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" "${seeds[@]}" >"$log" 2>&1 || true
}

export -f run_one extra_seeds
export root out build seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

status=0
summary=$out/summary.tsv
{
  printf 'target\texecs\texec_per_s\tedges\tedges_instrumented\tcorpus\tpast_first_parse\taccepted\tcrashes\n'
  for t in "${targets[@]}"; do
    log=$out/logs/$t.log
    [[ -f $log ]] || : >"$log"
    # (|| true: a log without a line, from a target that crashed at once, still gets its row)
    execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    rate=$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    instrumented=$(grep -ao '([0-9]* inline 8-bit counters)' "$log" | head -1 | tr -dc '0-9' || true)
    cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    corpus=$(find "$out/corpus/$t" -type f | wc -l)
    counts=$(grep -ao "sparoa-fuzz: $t .*" "$log" | tail -1 || true)
    parsed=$(sed -nE 's/.*past-first-parse [0-9]+ \(([0-9.]+%)\).*/\1/p' <<<"$counts")
    accepted=$(sed -nE 's/.*accepted [0-9]+ \(([0-9.]+%)\).*/\1/p' <<<"$counts")
    crashes=$(find "$out/crashes/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if grep -aq 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log" || ((crashes > 0)); then
      status=1
      crashes=$((crashes > 0 ? crashes : 1))
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${instrumented:-?}" \
      "$corpus" "${parsed:-?}" "${accepted:-?}" "$crashes"
  done
} >"$summary"
column -t -s $'\t' "$summary"
if ((status)); then
  echo "fuzz.sh: crashes found: see $out/logs/TARGET.log and $out/crashes/TARGET/ (replay: $build/fuzz/fuzz_TARGET FILE)" >&2
fi
exit $status
