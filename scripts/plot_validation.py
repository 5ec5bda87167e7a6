"""Plots `sparoa validate` comparison CSVs: per-operator simulated against measured time
(log-log, one series per CSV) and end-to-end latency, into one PNG.

    /usr/bin/python3 scripts/plot_validation.py OUT.png LABEL=FILE.csv [LABEL=FILE.csv ...]

Uses Debian's python3-matplotlib (headless Agg backend)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    header, body = {}, []
    with open(path) as f:
        for line in f:
            if line.startswith("# ") and ": " in line:
                k, v = line[2:].rstrip("\n").split(": ", 1)
                header[k] = v
            elif not line.startswith("#"):
                body.append(line)
    return header, list(csv.DictReader(body))


out = sys.argv[1]
series = [arg.split("=", 1) for arg in sys.argv[2:]]
fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
lo, hi = float("inf"), 0.0
bars = []
for label, path in series:
    h, rows = load(path)
    m = [float(r["measured_us"]) for r in rows if float(r["measured_us"]) > 0]
    s = [float(r["simulated_us"]) for r in rows if float(r["measured_us"]) > 0]
    lo, hi = min(lo, min(m + s)), max(hi, max(m + s))
    ax.scatter(m, s, s=10, alpha=0.6,
               label=f"{label}: median |error| {100 * float(h['op_median_abs_error']):.0f}%")
    bars.append((label, float(h["latency_mean_measured_us"]) / 1000, float(h["latency_mean_simulated_us"]) / 1000,
                 float(h["latency_mean_error"])))
    title = f"{h['model']} on {h['platform']} ({h['schedule']})"
ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1, label="simulated = measured")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("measured operator time (us)")
ax.set_ylabel("simulated operator time (us)")
ax.set_title("per operator")
ax.legend(fontsize=8)
labels = ["measured"] + [f"simulated\n{b[0]}" for b in bars]
values = [bars[0][1]] + [b[2] for b in bars]
colours = ["grey"] + [f"C{i}" for i in range(len(bars))]
bx.bar(labels, values, color=colours)
for i, b in enumerate(bars):
    bx.annotate(f"{100 * b[3]:+.1f}%", (i + 1, b[2]), ha="center", va="bottom")
bx.set_ylabel("mean latency (ms)")
bx.set_title("end to end")
fig.suptitle(title)
fig.tight_layout()
fig.savefig(out, dpi=110)
print(f"plot: {out}")
