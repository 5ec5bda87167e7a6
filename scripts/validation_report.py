"""Tables of the validation report from the comparison CSVs of `sparoa validate`
(scripts/validation-report.sh writes them): end-to-end latency error per model and schedule,
uncalibrated next to fitted, and the per-operator error distribution."""
import csv
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
models = sys.argv[2:]
schedules = ["dense", "sparse", "2lanes", "2lanes-mixed"]
names = {"dense": "1 lane, dense", "sparse": "1 lane, sparse", "2lanes": "2 lanes, dense",
         "2lanes-mixed": "2 lanes, sparse+dense"}


def load(path):
    header, rows = {}, []
    lines = path.read_text().splitlines()
    body = []
    for line in lines:
        if line.startswith("# ") and ": " in line:
            k, v = line[2:].split(": ", 1)
            header[k] = v
        elif not line.startswith("#"):
            body.append(line)
    rows = list(csv.DictReader(body))
    return header, rows


runs = {}
for m in models:
    for s in schedules:
        for cal in ("uncalibrated", "fitted"):
            p = out / "runs" / f"{m}-{s}-{cal}.csv"
            if p.exists():
                runs[(m, s, cal)] = load(p)


def pct(v):
    return f"{100 * v:+.1f}%"


print("# Simulator against hardware on this machine\n")
print("End-to-end latency error (simulated mean / measured mean - 1), fitted leave-one-model-out; "
      "per-operator median |error| in brackets.\n")
print("| model | schedule | measured (ms) | uncalibrated | fitted |")
print("|---|---|---|---|---|")
abs_e2e = {"uncalibrated": [], "fitted": []}
per_sched = {s: {"uncalibrated": [], "fitted": []} for s in schedules}
op_errors = {"uncalibrated": [], "fitted": []}
op_medians = {"uncalibrated": [], "fitted": []}
for m in models:
    for s in schedules:
        cells = []
        measured = ""
        for cal in ("uncalibrated", "fitted"):
            r = runs.get((m, s, cal))
            if r is None:
                cells.append("n/a")
                continue
            h, rows = r
            e = float(h["latency_mean_error"])
            measured = f"{float(h['latency_mean_measured_us']) / 1000:.2f}"
            abs_e2e[cal].append(abs(e))
            per_sched[s][cal].append(abs(e))
            op_errors[cal] += [abs(float(x["error"])) for x in rows]
            op_medians[cal].append(float(h["op_median_abs_error"]))
            cells.append(f"{pct(e)} ({100 * float(h['op_median_abs_error']):.0f}%)")
        print(f"| {m} | {names[s]} | {measured} | {cells[0]} | {cells[1]} |")

print("\nMean absolute percentage error of end-to-end latency:\n")
print("| schedule | uncalibrated | fitted |")
print("|---|---|---|")
for s in schedules:
    u, f = per_sched[s]["uncalibrated"], per_sched[s]["fitted"]
    if u and f:
        print(f"| {names[s]} | {100 * statistics.mean(u):.1f}% | {100 * statistics.mean(f):.1f}% |")
if abs_e2e["fitted"]:
    print(f"| all | {100 * statistics.mean(abs_e2e['uncalibrated']):.1f}% | {100 * statistics.mean(abs_e2e['fitted']):.1f}% |")

print("\nPer-operator |error| over every operator of every run:\n")
print("| | uncalibrated | fitted |")
print("|---|---|---|")
for label, q in (("median", 0.5), ("p75", 0.75), ("p90", 0.9)):
    cells = []
    for cal in ("uncalibrated", "fitted"):
        v = sorted(op_errors[cal])
        cells.append(f"{100 * v[min(len(v) - 1, int(q * len(v)))]:.1f}%" if v else "n/a")
    print(f"| {label} | {cells[0]} | {cells[1]} |")
for cal in ("uncalibrated", "fitted"):
    if op_medians[cal]:
        print(f"\nMedian over runs of the per-run median |error| ({cal}): {100 * statistics.median(op_medians[cal]):.1f}%")
