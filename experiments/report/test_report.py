"""Tests of report.py on tiny synthetic sweeps and traces (standard library only).

    /usr/bin/python3 -m unittest discover -s experiments/report -p 'test_*.py'

Each sweep folder is written here: experiment.yaml as JSON (which YAML reads), experiment.path
and a results.csv with the lead, key, output and provenance columns sparoa sweep writes.
"""

import contextlib
import csv
import importlib.util
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "report.py"
_spec = importlib.util.spec_from_file_location("sparoa_report", SCRIPT)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

LEAD = ["cell", "row", "rows", "status", "error", "wall_s"]
PROV = ["config_sha256", "run_seed", "inputs_sha256", "platform_sha256", "git_revision", "simgrid_version", "sparoa_version",
        "host", "finished_at"]
COMPARE_OUT = ["policy", "ok", "latency_mean_ms", "latency_p99_ms", "energy_per_inference_mJ", "speedup_vs_cpu_only",
               "speedup_vs_best_baseline", "rho_threshold", "intensity_threshold", "runs", "note"]


def make_sweep(root, name, command, matrix, report_keys, cells, fixed=None, outputs=COMPARE_OUT):
    """cells: list of (settings dict, list of output row dicts, or an error string for a failed cell)."""
    d = Path(root) / name
    d.mkdir(parents=True)
    fixed = fixed or {}
    exp = {"schema_version": 1, "name": name, "description": f"test sweep {name}", "command": command,
           "matrix": matrix, "fixed": fixed, "report": report_keys}
    (d / "experiment.yaml").write_text(json.dumps(exp, indent=1))
    (d / "experiment.path").write_text(str(d / "original.yaml") + "\n")
    keys = list(matrix) + [k for k in fixed if k not in matrix]
    with open(d / "results.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(LEAD + keys + outputs + PROV)
        for i, (settings, rows) in enumerate(cells):
            cell = f"{i:016x}"
            values = [str(settings[k]) for k in keys]
            prov = ["sha", "1", "in", "pl", "rev1", "3.4", "0.1", "host", "2026-01-01T00:00:00Z"]
            if isinstance(rows, str):
                w.writerow([cell, 0, 1, "failed", rows, "0.1"] + values + [""] * len(outputs) + prov)
                continue
            for j, r in enumerate(rows):
                w.writerow([cell, j, len(rows), "ok", "", "1.0"] + values + [r.get(c, "") for c in outputs] + prov)
    return d


def compare_rows(latency, energy=None, failed=()):
    rows = []
    for policy, lat in latency.items():
        ok = policy not in failed
        rows.append({"policy": policy, "ok": "1" if ok else "0", "latency_mean_ms": f"{lat:.6f}" if ok else "",
                     "energy_per_inference_mJ": f"{(energy or {}).get(policy, lat):.6f}" if ok else "",
                     "note": "a, b"})
    return rows


def run_main(args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = report.main([str(a) for a in args])
    return rc, err.getvalue()


def analyse(d):
    return report.analyse(report.Sweep(d))[1]


class SweepTests(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def speedup_sweep(self, name="sp", figure="speedup", extra=None):
        cells = [
            ({"model": "m-a", "platform": "agx-orin-64gb-maxn"},
             compare_rows({"cpu-only": 8, "gpu-only": 4, "heft": 5, "greedy-eft": 2, "sparoa": 1, "oracle": 0.5,
                           "lower-bound": 0.4})),
            ({"model": "m-b", "platform": "agx-orin-64gb-maxn"},
             compare_rows({"cpu-only": 9, "gpu-only": 3, "heft": 6, "greedy-eft": 6, "sparoa": 1.5, "random": 7,
                           "oracle": 1.4, "lower-bound": 1}, failed=("random",))),
            ({"model": "m-c", "platform": "agx-orin-64gb-maxn"}, "simulation failed: out of memory"),
        ]
        rep = {"figure": figure, "paper": "average speedup 1.22x-1.31x over all baselines", "notes": "tiny case"}
        rep.update(extra or {})
        return make_sweep(self.tmp, name, "compare", {"model": ["m-a", "m-b", "m-c"],
                                                      "platform": ["agx-orin-64gb-maxn"]}, rep, cells)

    def test_speedup_geomean(self):
        d = self.speedup_sweep()
        a = analyse(d)
        # m-a: best baseline greedy-eft 2 -> 2.0x; over the four baselines (8+4+5+2)/4 = 4.75x; cpu 8x.
        # m-b: best baseline gpu-only 3 -> 2.0x; (6+2+4+4)/4 = 4.0x; cpu 6x. random failed: not drawn.
        self.assertEqual(a.headline_columns[0], "platform")
        self.assertEqual(len(a.headline_rows), 1)  # only sparoa: oracle, lower-bound, baselines left out
        row = a.headline_rows[0]
        self.assertEqual(row[:3], ["agx-orin-64gb-maxn", "sparoa", 2])
        self.assertEqual(row[3], "2.00x")
        self.assertEqual(row[4], f"{math.sqrt(4.75 * 4.0):.2f}x")  # 4.36x
        self.assertEqual(row[5], f"{math.sqrt(8 * 6):.2f}x")  # 6.93x
        self.assertEqual(row[6], "8.00x (m-a)")
        self.assertIn("sparoa 4.36x", a.one_line)
        by_model = {r[a.columns.index("model")]: r for r in a.rows}
        self.assertAlmostEqual(by_model["m-b"][a.columns.index("mean_speedup_vs_baselines")], 4.0)
        self.assertEqual(by_model["m-b"][a.columns.index("best_baseline")], "gpu-only")

    def test_speedup_files_summary_and_determinism(self):
        d = self.speedup_sweep(extra={"policies": ["sparoa", "oracle"]})
        rc, err = run_main(["sweep", d])
        self.assertEqual((rc, err), (0, ""))
        out = d / "report"
        for f in ("sp.png", "sp.svg", "sp.csv", "summary.md"):
            self.assertTrue((out / f).is_file(), f)
        self.assertEqual(sorted(p.name for p in out.iterdir()), ["sp.csv", "sp.png", "sp.svg", "summary.md"])
        text = (out / "summary.md").read_text()
        self.assertIn(f"sparoa sweep {d / 'original.yaml'}", text)
        self.assertIn(f"sparoa report {d.resolve()}", text)
        self.assertIn("Cells: 2 ok, 1 failed, 3 total", text)
        self.assertIn("simulation failed: out of memory", text)
        self.assertIn("Paper: average speedup 1.22x-1.31x over all baselines", text)
        self.assertIn("Ours: average speedup over all baselines", text)
        self.assertIn("- tiny case", text)
        self.assertIn("git_revision: `rev1` (2 cells)", text)
        self.assertIn("agx-orin-64gb-maxn: ", text)  # the shipped platform's provenance line
        self.assertIn("| agx-orin-64gb-maxn | oracle |", text)
        png, svg = (out / "sp.png").read_bytes(), (out / "sp.svg").read_bytes()
        self.assertTrue(png.startswith(b"\x89PNG"))
        rc, _ = run_main(["sweep", d, "--out", self.tmp / "again"])
        self.assertEqual(rc, 0)
        self.assertEqual((self.tmp / "again" / "sp.png").read_bytes(), png)
        self.assertEqual((self.tmp / "again" / "sp.svg").read_bytes(), svg)

    def test_energy_percent(self):
        cells = [
            ({"model": "m-a", "platform": "p"},
             compare_rows({"cpu-only": 5, "greedy-eft": 2, "sparoa": 1}, energy={"cpu-only": 30, "greedy-eft": 10,
                                                                                 "sparoa": 8})),
            ({"model": "m-b", "platform": "p"},
             compare_rows({"cpu-only": 5, "greedy-eft": 2, "sparoa": 1}, energy={"cpu-only": 30, "greedy-eft": 10,
                                                                                 "sparoa": 12.5})),
        ]
        d = make_sweep(self.tmp, "en", "compare", {"model": ["m-a", "m-b"], "platform": ["p"]},
                       {"figure": "energy"}, cells)
        a = analyse(d)
        # 20% less and 25% more; geomean of the ratios sqrt(0.8 * 1.25) = 1: 0% less.
        self.assertEqual(a.headline_rows, [["sparoa", 2, "-25.0%", "20.0%", "0.0%"]])
        pct = [r[a.columns.index("percent_less_energy")] for r in a.rows]
        self.assertEqual([round(x, 6) for x in pct], [20.0, -25.0])
        self.assertIn("sparoa -25.0%..20.0% (geomean 0.0%)", a.one_line)

    def test_sensitivity_holds_and_changes(self):
        def cell(perturb, p1, p2):
            return ({"model": "m", "perturb": perturb, "platform": "p"},
                    compare_rows({"cpu-only": 10, "greedy-eft": 4, "p1": p1, "p2": p2}))
        cells = [cell("none", 1, 2), cell("gpu_efficiency=0.7", 1.5, 2.5), cell("gpu_efficiency=1.5", 3, 2)]
        d = make_sweep(self.tmp, "se", "compare",
                       {"model": ["m"], "perturb": ["none", "gpu_efficiency=0.7", "gpu_efficiency=1.5"]},
                       {"figure": "sensitivity", "policies": ["p1", "p2"]}, cells, fixed={"platform": "p"})
        a = analyse(d)
        verdicts = {r[-3]: (r[-2], r[-1]) for r in a.headline_rows}
        self.assertEqual(verdicts["none"], ("p1 < p2", "reference"))
        self.assertEqual(verdicts["gpu_efficiency=0.7"], ("p1 < p2", "holds"))
        self.assertEqual(verdicts["gpu_efficiency=1.5"], ("p2 < p1", "swaps: p1/p2"))
        self.assertTrue(a.one_line.startswith("ranking of p1, p2 holds in 1 of 2 perturbed case(s) (policies within 2% "
                                              "of each other count as tied); swaps under gpu_efficiency=1.5"), a.one_line)
        lat = {"a": 1.0, "b": 2.0, "c": 3.0}
        self.assertEqual(report.ranking_change(lat, dict(lat), 0.02), "")
        self.assertEqual(report.ranking_change(lat, {"a": 1.0, "c": 3.0}, 0.02), "missing: b")
        # Within the tolerance two policies are tied: their order flipping is no swap.
        self.assertEqual(report.ranking_change({"a": 1.0, "b": 1.01}, {"a": 1.01, "b": 1.0}, 0.02), "")
        self.assertEqual(report.ranking_change({"a": 1.0, "b": 1.1}, {"a": 1.1, "b": 1.0}, 0.02), "a/b")

    def test_sensitivity_needs_policies(self):
        cells = [({"model": "m", "perturb": "none"}, compare_rows({"cpu-only": 1, "p1": 1}))]
        d = make_sweep(self.tmp, "se2", "compare", {"model": ["m"], "perturb": ["none"]},
                       {"figure": "sensitivity"}, cells)
        with self.assertRaises(report.ReportError) as e:
            analyse(d)
        self.assertIn("report.policies", e.exception.where)

    def test_bars_normalise(self):
        sim_out = ["latency_mean_ms", "energy_per_inference_J"]
        lat = {("m1", "cpu-only"): 10, ("m1", "sparoa"): 5, ("m2", "cpu-only"): 20, ("m2", "sparoa"): 8}
        cells = []
        for (m, p), v in lat.items():
            for seed, f in (("1", 0.9), ("2", 1.1)):  # two seeds: each bar is their mean
                cells.append(({"model": m, "policy": p, "seed": seed},
                              [{"latency_mean_ms": f"{v * f:.6f}", "energy_per_inference_J": f"{v / 100:.6f}"}]))
        d = make_sweep(self.tmp, "ba", "simulate", {"model": ["m1", "m2"], "policy": ["cpu-only", "sparoa"],
                                                    "seed": ["1", "2"]},
                       {"figure": "bars", "x": "model", "series": ["policy"], "y": "latency_mean_ms",
                        "y2": "energy_per_inference_J", "normalise": {"policy": "cpu-only"},
                        "labels": {"sparoa": "SparOA"}}, cells, outputs=sim_out)
        a = analyse(d)
        ratio = {(r[0], r[1]): r[a.columns.index("latency_mean_ms_ratio")] for r in a.rows}
        self.assertAlmostEqual(ratio[("m1", "sparoa")], 0.5)
        self.assertAlmostEqual(ratio[("m2", "sparoa")], 0.4)
        self.assertAlmostEqual(ratio[("m1", "cpu-only")], 1.0)
        means = {(r[0], r[1]): r[a.columns.index("latency_mean_ms")] for r in a.rows}
        self.assertAlmostEqual(means[("m2", "cpu-only")], 20.0)
        self.assertEqual([r[a.columns.index("rows")] for r in a.rows], [2, 2, 2, 2])
        self.assertIn("SparOA 0.40x-0.50x", a.one_line)
        self.assertEqual(a.headline_rows[1][:2], ["m1", "SparOA"])
        rc, err = run_main(["sweep", d])
        self.assertEqual((rc, err), (0, ""))

    def test_bars_bad_normalise_level(self):
        cells = [({"model": "m1", "policy": "a"}, [{"latency_mean_ms": "1"}])]
        d = make_sweep(self.tmp, "bb", "simulate", {"model": ["m1"], "policy": ["a"]},
                       {"figure": "bars", "x": "model", "series": ["policy"], "y": "latency_mean_ms",
                        "normalise": {"policy": "cpu-only"}}, cells, outputs=["latency_mean_ms"])
        rc, err = run_main(["sweep", d])
        self.assertEqual(rc, 1)
        self.assertIn("report.normalise.policy", err)

    def test_quadrant_counts(self):
        ins = ["index", "operator", "type", "intensity", "weight_elements", "weight_sparsity", "quadrant"]
        ops = [{"index": 0, "operator": "c0", "type": "Conv", "intensity": "50", "weight_elements": "10",
                "weight_sparsity": "0.9", "quadrant": "sparse/high-I"},
               {"index": 1, "operator": "r1", "type": "Relu", "intensity": "0.2", "weight_elements": "0",
                "weight_sparsity": "0", "quadrant": "dense/low-I"},
               {"index": 2, "operator": "c2", "type": "Conv", "intensity": "2", "weight_elements": "10",
                "weight_sparsity": "0.1", "quadrant": "dense/low-I"}]
        d = make_sweep(self.tmp, "qu", "inspect", {"model": ["m"], "sparsity": ["0", "0.9"]},
                       {"figure": "quadrants", "rho": 0.5, "intensity": 10},
                       [({"model": "m", "sparsity": "0"}, ops[1:]), ({"model": "m", "sparsity": "0.9"}, ops)],
                       outputs=ins)
        a = analyse(d)
        self.assertEqual(a.headline_columns, ["subplot", "sparse/high-I", "dense/low-I", "without weights", "operators"])
        self.assertEqual(a.headline_rows, [["sparsity=0", 0, 2, 1, 2], ["sparsity=0.9", 1, 2, 1, 3]])

    def test_table(self):
        cells = [({"model": m, "batch": b}, [{"latency_mean_ms": str(i)}])
                 for i, (m, b) in enumerate([("m2", "1"), ("m1", "4"), ("m1", "1")])]
        d = make_sweep(self.tmp, "ta", "simulate", {"model": ["m1", "m2"], "batch": ["1", "4"]},
                       {"figure": "table", "columns": ["latency_mean_ms"]}, cells, outputs=["latency_mean_ms"])
        a = analyse(d)
        self.assertEqual(a.rows, [["m1", "1", "2"], ["m1", "4", "1"], ["m2", "1", "0"]])

    def test_error_unknown_figure_one_line(self):
        d = self.speedup_sweep(figure="speedups")
        p = subprocess.run([sys.executable, str(SCRIPT), "sweep", str(d)], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("sparoa: error: "), lines[0])
        self.assertIn("report.figure", lines[0])
        self.assertIn("speedup, cpu-speedup", lines[0])
        self.assertFalse((d / "report").exists())

    def test_error_missing_results(self):
        d = self.speedup_sweep()
        os.remove(d / "results.csv")
        p = subprocess.run([sys.executable, str(SCRIPT), "sweep", str(d)], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertRegex(p.stderr, r"^sparoa: error: .*results\.csv: missing")

    def test_error_missing_column_unknown_key_empty(self):
        d = self.speedup_sweep(name="k", extra={"colour": "red"})
        rc, err = run_main(["sweep", d])
        self.assertEqual(rc, 1)
        self.assertIn("report.colour: unknown key for figure 'speedup'", err)
        d = make_sweep(self.tmp, "mc", "compare", {"model": ["m"]}, {"figure": "speedup"},
                       [({"model": "m"}, [{"policy": "cpu-only", "ok": "1"}])],
                       outputs=["policy", "ok", "energy_per_inference_mJ"])
        rc, err = run_main(["sweep", d])
        self.assertEqual(rc, 1)
        self.assertIn("results.csv: latency_mean_ms: missing column", err)
        d = make_sweep(self.tmp, "em", "compare", {"model": ["m"]}, {"figure": "speedup"}, [({"model": "m"}, "boom")])
        rc, err = run_main(["sweep", d])
        self.assertEqual(rc, 1)
        self.assertIn("no cell ran well (1 failed; the first: boom)", err)
        self.assertEqual(len(err.splitlines()), 1)


class GanttTests(unittest.TestCase):
    HEADER = ("schema_version,source,run_id,request_id,batch_id,iteration,record,op,device,lane,kernel,fused_group,"
              "start_us,end_us,energy_J,energy_method")

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)
        rows = ["# seed: 1", "# power_mode: MAXN", self.HEADER]
        for i in range(30):
            lane = ("cpu", "core0") if i % 3 == 0 else ("gpu", "stream0")
            rows.append(f"1,sim,run-1,{i},{i},0,op,\"op,{i}\",{lane[0]},{lane[1]},{'sparse' if i % 2 else 'dense'},,"
                        f"{i * 100},{i * 100 + 80},0.001,attributed")
            rows.append(f"1,sim,run-1,{i},{i},0,transfer,op{i},gpu,stream0,,,{i * 100 + 80},{i * 100 + 95},0,none")
            rows.append(f"1,sim,run-1,{i},{i},0,launch,op{i},cpu,launch,,,{i * 100},{i * 100 + 5},0,none")
        rows.append("1,sim,run-1,-1,-1,-1,idle,,gpu,,,,0,10,0,none")
        self.trace = self.tmp / "trace.csv"
        self.trace.write_text("\n".join(rows) + "\n")

    def tearDown(self):
        self._tmp.cleanup()

    def test_gantt_writes_png_and_svg(self):
        out = self.tmp / "figs" / "g.png"
        rc, err = run_main(["gantt", self.trace, "--out", out, "--from-ms", "0.5", "--to-ms", "2.000000"])
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.read_bytes().startswith(b"\x89PNG"))
        svg = (self.tmp / "figs" / "g.svg").read_text()
        for label in ("cpu/core0", "cpu/launch", "gpu/stream0", "run-1", "sparse kernel"):
            self.assertIn(label, svg)
        self.assertEqual(sorted(p.name for p in out.parent.iterdir()), ["g.png", "g.svg"])

    def test_gantt_errors(self):
        rc, err = run_main(["gantt", self.trace, "--out", self.tmp / "g.png", "--from-ms", "900"])
        self.assertEqual(rc, 1)
        self.assertIn("no op, transfer or launch record", err)
        bad = self.tmp / "bad.csv"
        bad.write_text(self.trace.read_text().replace(",lane,", ",lanes,"))
        rc, err = run_main(["gantt", bad, "--out", self.tmp / "g.png"])
        self.assertEqual(rc, 1)
        self.assertIn("bad.csv: lane: missing column", err)
        rc, err = run_main(["gantt", self.tmp / "none.csv", "--out", self.tmp / "g.png"])
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.splitlines()), 1)
        self.assertFalse((self.tmp / "g.png").exists())


if __name__ == "__main__":
    unittest.main()
