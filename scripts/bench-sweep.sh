#!/usr/bin/env bash
# Sweep throughput: cells per minute of one experiment (N cheap simulate cells) on a local
# pool of 1 and of 2 workers, and as a Slurm job array on a single-node cluster started here
# (scripts/local-slurm.sh), with the overhead Slurm adds per cell. Prints a table.
#   scripts/bench-sweep.sh [CELLS] [SCRATCH]      (default 40 cells, /tmp/sparoa-bench-sweep)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SPAROA_BIN:-$root/build/bin/sparoa}
cells=${1:-40}
dir=${2:-/tmp/sparoa-bench-sweep}
rm -rf "$dir" && mkdir -p "$dir"
seeds=$(seq -s, 1 "$cells")
cat >"$dir/exp.yaml" <<YAML
schema_version: 1
name: bench-sweep
command: simulate
matrix:
  seed: [$seeds]
fixed:
  model: mobilenetv3_small
  platform: agx-orin-64gb-maxn
  policy: greedy-eft
  arrivals: poisson:300
  requests: 50
YAML
"$bin" inspect -m mobilenetv3_small --summary >/dev/null   # the zoo model, built before timing
now() { date +%s.%N; }
rate() { awk "BEGIN{printf \"%.1f\", $1 * 60 / ($3 - $2)}"; }
mean_cell() { /usr/bin/python3 -c "import csv,sys; r=[float(x['wall_s']) for x in csv.DictReader(open(sys.argv[1]))]; print(f'{sum(r)/len(r):.3f}')" "$1"; }
# Overhead per cell: the CPU-time the runner spends per cell beyond the cell itself, i.e.
# wall x workers / cells - mean cell wall time.
overhead() { awk "BEGIN{printf \"%.3f\", ($2 - $1) * $3 / $4 - $5}"; }
declare -a rows=()
for j in 1 2; do
  t0=$(now)
  "$bin" sweep "$dir/exp.yaml" --out "$dir/local-$j" -j "$j" --no-progress >/dev/null
  t1=$(now)
  m=$(mean_cell "$dir/local-$j/results.csv")
  rows+=("$(printf '%-22s %8s %12s %14s %16s' "local, $j worker(s)" "$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")" "$(rate "$cells" "$t0" "$t1")" "$m" "$(overhead "$t0" "$t1" "$j" "$cells" "$m")")")
done
if conf=$("$root/scripts/local-slurm.sh" start "$dir/cluster" 2 2>"$dir/slurm.err"); then
  export "$conf"
  trap '"$root/scripts/local-slurm.sh" stop "$dir/cluster" >/dev/null 2>&1 || true' EXIT
  for k in 2 "$cells"; do
    t0=$(now)
    "$bin" sweep "$dir/exp.yaml" --slurm --array-size "$k" --wait --out "$dir/slurm-$k" >/dev/null
    t1=$(now)
    m=$(mean_cell "$dir/slurm-$k/results.csv")
    rows+=("$(printf '%-22s %8s %12s %14s %16s' "slurm, $k tasks" "$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")" "$(rate "$cells" "$t0" "$t1")" "$m" "$(overhead "$t0" "$t1" 2 "$cells" "$m")")")
  done
else
  rows+=("slurm: skipped: $(tail -n1 "$dir/slurm.err")")
fi
echo "$cells cells (simulate mobilenetv3_small, 50 requests each) on $(nproc) CPUs"
printf '%-22s %8s %12s %14s %16s\n' "runner" "wall s" "cells/min" "mean cell s" "overhead/cell s"
printf '%s\n' "${rows[@]}"
