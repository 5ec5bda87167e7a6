"""Plots the learning curve that `sparoa train rl` writes (one row per round) into a PNG:
the mean episode return and latency over the model's lower bound against decisions
collected, with the curriculum's stage changes marked, and the entropy temperature.

    /usr/bin/python3 scripts/plot_learning_curve.py CURVE.csv OUT.png

Uses Debian's python3-matplotlib (headless Agg backend)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def smooth(values, k):
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    sys.exit("no rounds in " + sys.argv[1])
x = [int(r["env_steps"]) for r in rows]
k = max(1, len(rows) // 50)
fig, (ax, bx) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
ratio = [float(r["mean_latency_ratio"]) for r in rows]
ax.plot(x, ratio, color="#bbbbbb", linewidth=0.6, label="per round")
ax.plot(x, smooth(ratio, k), color="#1f77b4", label=f"mean of {k} rounds")
ax.set_ylabel("latency / lower bound")
ax.grid(alpha=0.3)
last = None
for xi, r in zip(x, rows):
    if r["stage"] != last:
        ax.axvline(xi, color="#999999", linestyle=":")
        ax.text(xi, max(ratio), " " + r["stage"], va="top", fontsize=8)
        last = r["stage"]
ax.legend()
bx.plot(x, [float(r["alpha"]) for r in rows], color="#d62728", label="alpha")
bx.plot(x, [float(r["entropy"]) for r in rows], color="#2ca02c", label="policy entropy")
bx.set_xlabel("decisions collected")
bx.grid(alpha=0.3)
bx.legend()
fig.suptitle("sparoa train rl: " + sys.argv[1])
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
