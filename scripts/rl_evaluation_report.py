"""Summarises `sparoa compare --csv` files of rl evaluation cases (scripts/evaluate-rl.sh)
into a Markdown table: per case the best baseline, the oracle, the agent, the share of the
baseline-to-oracle gap the agent closes, its energy against greedy-eft, and whether it beats
every static schedule (the interference check).

    /usr/bin/python3 scripts/rl_evaluation_report.py CASE.csv [...]"""
import csv
import os
import sys

BASELINES = {"cpu-only", "gpu-only", "heft", "greedy-eft"}
ONLINE = {"greedy-eft", "rl"}

rows = []
for path in sys.argv[1:]:
    case = os.path.basename(path)[: -len(".csv")]
    data = {r["policy"]: r for r in csv.DictReader(open(path)) if r["ok"] == "1" and r["policy"] != "lower-bound"}
    if "rl" not in data or "oracle" not in data:
        rows.append((case, None))
        continue
    lat = {k: float(v["latency_mean_ms"]) for k, v in data.items()}
    en = {k: float(v["energy_per_inference_mJ"]) for k, v in data.items()}
    best_name = min((k for k in lat if k in BASELINES), key=lambda k: lat[k])
    best, oracle, rl = lat[best_name], lat["oracle"], lat["rl"]
    gap = best - oracle
    closed = (best - rl) / gap if gap > 0.005 * best else None
    static_best_name = min((k for k in lat if k not in ONLINE), key=lambda k: lat[k])
    rows.append((case, dict(best_name=best_name, best=best, oracle=oracle, rl=rl, closed=closed,
                            rl_e=en["rl"], g=lat.get("greedy-eft"), g_e=en.get("greedy-eft"),
                            sparoa=lat.get("sparoa"), static_best=lat[static_best_name],
                            static_best_name=static_best_name)))

print("| case | best baseline ms | sparoa ms | oracle ms | rl ms | gap closed | rl energy mJ | greedy-eft ms / mJ | rl beats every static schedule |")
print("|---|---|---|---|---|---|---|---|---|")
passed = {"gap": [0, 0], "energy": [0, 0], "adapt": [0, 0]}
for case, r in rows:
    if r is None:
        print(f"| {case} | failed | | | | | | | |")
        continue
    if r["closed"] is None:
        closed = "no gap" + (" (rl within 0.5%)" if r["rl"] <= 1.005 * r["best"] else " (rl worse)")
        ok_gap = r["rl"] <= 1.005 * r["best"]
    else:
        closed = f"{100 * r['closed']:.0f}%"
        ok_gap = r["closed"] >= 0.5
    passed["gap"][0] += ok_gap
    passed["gap"][1] += 1
    ok_energy = r["rl_e"] < r["g_e"] and r["rl"] <= r["g"]
    passed["energy"][0] += ok_energy
    passed["energy"][1] += 1
    beats = r["rl"] < r["static_best"]
    adapt = f"{'yes' if beats else 'no'} (best static {r['static_best_name']} {r['static_best']:.3f})"
    if "interference" in case:
        passed["adapt"][0] += beats
        passed["adapt"][1] += 1
    print(f"| {case} | {r['best_name']} {r['best']:.3f} | {r['sparoa']:.3f} | {r['oracle']:.3f} | {r['rl']:.3f} | {closed} "
          f"| {r['rl_e']:.2f} | {r['g']:.3f} / {r['g_e']:.2f} | {adapt} |")
print()
print(f"* closes at least half the gap (or matches the best baseline where there is no gap): {passed['gap'][0]}/{passed['gap'][1]} cases")
print(f"* less energy than greedy-eft at equal or lower latency: {passed['energy'][0]}/{passed['energy'][1]} cases")
print(f"* beats every static schedule (oracle included) on the GPU-interference trace: {passed['adapt'][0]}/{passed['adapt'][1]} cases")
