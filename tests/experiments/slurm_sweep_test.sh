#!/usr/bin/env bash
# A sweep as a Slurm job array on a real single-node cluster started here
# (scripts/local-slurm.sh): submit, lose a shard, collect (names the missing cells),
# re-submit (runs only those), collect again; the results equal a local sweep's, each cell
# once. Exit 77 (skipped) with one line when the cluster cannot start.
# Usage: slurm_sweep_test.sh SPAROA_BIN SOURCE_DIR SCRATCH_DIR
set -euo pipefail
bin=$1 src=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
cluster="$dir/cluster"
if ! conf=$("$src/scripts/local-slurm.sh" start "$cluster" 4 2>"$dir/start.err"); then
  echo "SKIPPED: no local Slurm: $(tail -n1 "$dir/start.err")"
  exit 77
fi
export "$conf"
trap '"$src/scripts/local-slurm.sh" stop "$cluster" >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$dir/exp.yaml" <<'YAML'
schema_version: 1
name: slurm-test
command: simulate
matrix:
  platform: [agx-orin-64gb-maxn, orin-nano-8gb-15w]
  policy: [cpu-only, gpu-only, greedy-eft]
fixed:
  model: mobilenetv3_small
  requests: 20
YAML
"$bin" inspect -m mobilenetv3_small --summary >/dev/null  # the zoo model, built once

t0=$(date +%s.%N)
"$bin" sweep "$dir/exp.yaml" --slurm --array-size 3 --sbatch-option=--mem=100M --out "$dir/out" >"$dir/submit1.out" 2>&1 \
  || { cat "$dir/submit1.out"; fail "first submission"; }
grep -q "6 pending cells of slurm-test as 3 array tasks" "$dir/submit1.out" || fail "submission line: $(cat "$dir/submit1.out")"
# While that array waits or runs, a second submission is refused: it would run the cells twice.
if "$bin" sweep "$dir/exp.yaml" --slurm --out "$dir/out" >"$dir/submit-early.out" 2>&1; then
  squeue -h | grep -q . && fail "a submission while the first array was queued was accepted"
else
  grep -q "still queued or running" "$dir/submit-early.out" || fail "early submission: $(cat "$dir/submit-early.out")"
fi
for _ in $(seq 1200); do [ -z "$(squeue -h)" ] && break; sleep 0.1; done
[ -z "$(squeue -h)" ] || fail "the array did not finish"
"$bin" sweep collect "$dir/out" >"$dir/collect1.out"
t1=$(date +%s.%N)
grep -q "6 cells: 6 ok, 0 failed, 0 missing" "$dir/collect1.out" || { cat "$dir"/out/slurm/*.log; fail "first collect: $(cat "$dir/collect1.out")"; }
[ "$(ls "$dir"/out/shards/*.csv | wc -l)" -eq 3 ] || fail "expected 3 shard files"
grep -qx "#SBATCH --mem=100M" "$dir/out/slurm/submission-0.sbatch" || fail "the extra sbatch option is not in the script"

# A lost array task: its shard file and the merged results are gone.
rm "$dir/out/shards/shard-0-1.csv" "$dir/out/results.csv"
"$bin" sweep collect "$dir/out" >"$dir/collect.out"
grep -q "6 cells: 4 ok, 0 failed, 2 missing" "$dir/collect.out" || fail "collect after a lost shard: $(cat "$dir/collect.out")"
[ "$(grep -c '^  missing ' "$dir/collect.out")" -eq 2 ] || fail "missing cells not listed"

"$bin" sweep "$dir/exp.yaml" --slurm --wait --out "$dir/out" >"$dir/submit2.out" 2>&1 \
  || { cat "$dir/submit2.out"; fail "re-submission"; }
grep -q "2 pending cells of slurm-test as 2 array tasks" "$dir/submit2.out" || fail "re-submission ran more than the missing cells: $(cat "$dir/submit2.out")"
grep -q "6 cells: 6 ok, 0 failed, 0 missing" "$dir/submit2.out" || fail "second collect: $(cat "$dir/submit2.out")"
"$bin" sweep "$dir/exp.yaml" --slurm --out "$dir/out" | grep -q "nothing to submit" || fail "a third submission submitted"

# The same cells locally: the same numbers, cell by cell.
"$bin" sweep "$dir/exp.yaml" --out "$dir/local" -j 2 --no-progress >/dev/null
numbers() {  # cell id and every column but the wall-clock ones and provenance time/host
  /usr/bin/python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
skip = {"wall_s", "sim_wall_s", "finished_at", "host"}
for r in sorted(rows, key=lambda r: (r["cell"], r["row"])):
    print(",".join(f"{k}={v}" for k, v in r.items() if k not in skip))
PY
}
diff <(numbers "$dir/out/results.csv") <(numbers "$dir/local/results.csv") || fail "Slurm and local results differ"
[ "$(numbers "$dir/out/results.csv" | wc -l)" -eq 6 ] || fail "expected 6 rows"
echo "slurm sweep: 6 cells in $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s as 3 array tasks; lost shard re-run; results equal the local sweep's"
