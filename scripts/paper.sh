#!/usr/bin/env bash
# Runs the SparOA evaluation (experiments/paper/*.yaml) and draws each figure:
#   scripts/paper.sh [OUT] [FILE...]     (default OUT: out/paper; default: every file)
# Each sweep resumes where an earlier run stopped; the reports land in OUT/<file>/report/.
# Needs a build with SimGrid (scripts/build.sh build). About 10 minutes on 2 cores, most of
# it the predictor's labelling (e-predictor, 7 minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SPAROA_BIN:-$root/build/bin/sparoa}
out=${1:-out/paper}
shift || true
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$root"/experiments/paper/[a-z]-*.yaml "$root"/experiments/paper/sensitivity.yaml)
[ -x "$bin" ] || { echo "paper.sh: no sparoa binary at $bin (scripts/build.sh build)" >&2; exit 1; }
status=0
for f in "${files[@]}"; do
  name=$(basename "$f" .yaml)
  echo "== $name"
  "$bin" sweep "$f" --out "$out/$name" || status=$?
  "$bin" report "$out/$name" || status=$?
done
exit $status
