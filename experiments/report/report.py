#!/usr/bin/python3
"""The drawing half of `sparoa report`.

    report.py sweep DIR [--out OUTDIR]
    report.py gantt TRACE.csv --out FILE.png [--from-ms A] [--to-ms B]

`sweep` reads DIR/experiment.yaml, DIR/experiment.path and DIR/results.csv (written by
`sparoa sweep`) and writes <name>.png, <name>.svg, <name>.csv and summary.md into OUTDIR
(default DIR/report). The figure is chosen by the experiment's `report.figure`; README.md
beside this file lists the kinds and their keys. `gantt` draws a trace CSV (sparoa simulate
--csv, sparoa run --csv) as one row per lane, and writes the PNG and an SVG beside it.

Exit status 0 when everything was written; 1 on bad input, with one line on stderr:
`sparoa: error: <file or key>: <what>`. Needs only the standard library, PyYAML and
matplotlib (Debian: python3-yaml, python3-matplotlib); every file is written under a
temporary name in its folder and renamed into place, and the same input gives the same bytes.
"""

import csv
import logging
import math
import os
import re
import sys
import tempfile
from pathlib import Path

LEAD_COLUMNS = ("cell", "row", "rows", "status", "error", "wall_s")
PROVENANCE_COLUMNS = ("config_sha256", "run_seed", "inputs_sha256", "platform_sha256", "git_revision", "simgrid_version",
                      "sparoa_version", "host", "finished_at")
COMMANDS = ("simulate", "compare", "inspect", "train-thresholds", "train-rl", "bench-policy")
# The baselines "speedup over the best baseline" is measured against (as sparoa compare).
BASELINES = ("cpu-only", "gpu-only", "heft", "greedy-eft")
# Rows of a comparison that are not one of our policies: the default policy set leaves them out.
NOT_OURS = frozenset(BASELINES + ("oracle", "lower-bound"))
COMMON_KEYS = ("figure", "title", "paper", "notes")
TRACE_COLUMNS = ("run_id", "source", "record", "op", "device", "lane", "kernel", "start_us", "end_us")
TRACE_RECORDS = ("op", "transfer", "launch", "reorder", "idle")
QUADRANT_ORDER = ("sparse/low-I", "sparse/high-I", "dense/low-I", "dense/high-I")
MAX_TABLE_ROWS_MD = 200  # rows of a `table` headline in summary.md (all of them are in the CSV)
MAX_TABLE_ROWS_FIG = 40  # ... and in its figure


class ReportError(Exception):
    """Bad input: printed as one line, `sparoa: error: WHERE: WHAT`, exit status 1."""

    def __init__(self, where, what):
        super().__init__(f"{where}: {what}")
        self.where = str(where)
        self.what = str(what)


def one_line(text):
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------------------------
# Libraries: imported late, so that a missing one is one line naming the Debian package.

def import_yaml():
    try:
        import yaml
    except ImportError:
        raise ReportError("report", "PyYAML is missing (install the Debian package python3-yaml)") from None
    return yaml


def import_pyplot():
    # Warnings about an unwritable cache folder or a missing font would be extra stderr lines.
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    try:
        import matplotlib
    except ImportError:
        raise ReportError("report", "matplotlib is missing (install the Debian package python3-matplotlib)") from None
    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "svg.hashsalt": "sparoa-report",  # element ids from a fixed salt, not a random one
        "svg.fonttype": "none",           # text as text: small files, no glyph paths
        "font.size": 9,
        "axes.titlesize": 9,
        "legend.fontsize": 8,
        "figure.dpi": 100,
    })
    import matplotlib.pyplot as plt
    return plt


# ---------------------------------------------------------------------------------------------
# Files

def write_atomically(path, write):
    """Calls write(temporary path) in path's folder, then renames the result onto path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=str(path.parent))
        os.close(fd)
    except OSError as e:
        raise ReportError(str(path), f"cannot write: {e.strerror or e}") from None
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ReportError(str(path), f"cannot write: {e.strerror or e}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    write_atomically(path, write)


def write_csv(path, columns, rows):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            for r in rows:
                w.writerow(["" if v is None else (csv_number(v) if isinstance(v, float) else v) for v in r])
    write_atomically(path, write)


def save_figure(fig, png, svg):
    """PNG and SVG with no date and a fixed id salt: the same figure gives the same bytes."""
    write_atomically(png, lambda tmp: fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight",
                                                  metadata={"Software": None}))
    write_atomically(svg, lambda tmp: fig.savefig(tmp, format="svg", bbox_inches="tight",
                                                  metadata={"Date": None, "Creator": None}))


def read_text(path, what="cannot read"):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise ReportError(str(path), "missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(str(path), f"{what}: {getattr(e, 'strerror', None) or one_line(e)}") from None


# ---------------------------------------------------------------------------------------------
# Numbers and text

def csv_number(x):
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.6g}"


def fmt_num(x, digits=4):
    return "-" if x is None else f"{x:.{digits}g}"


def fmt_x(x):
    return "-" if x is None else f"{x:.2f}x"


def fmt_pct(x):
    return "-" if x is None else f"{x:.1f}%"


def fmt_range(values, fmt, sep="-"):
    """'1.22x-1.31x', or one value when both ends read the same."""
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo}{sep}{hi}"


def case_header(panel_keys):
    return "platform" if panel_keys == ["platform"] else "case"


def geomean(values):
    xs = [x for x in values if x is not None]
    if not xs or any(x <= 0 for x in xs):
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def mean(values):
    xs = [x for x in values if x is not None]
    return sum(xs) / len(xs) if xs else None


def md_table(columns, rows):
    def cell(v):
        return str(v).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def setting_label(keys, values):
    """`agx-orin-64gb-maxn, sparsity=0.5`: model, platform and policy values speak for themselves."""
    parts = []
    for k, v in zip(keys, values):
        parts.append(v if k in ("model", "platform", "policy") else f"{k}={v}")
    return ", ".join(parts)


def level_text(v):
    """A YAML value as sparoa sweep writes it into results.csv (lists joined with commas)."""
    if isinstance(v, list):
        return ",".join(level_text(x) for x in v)
    if isinstance(v, dict):
        return ",".join(f"{k}={level_text(x)}" for k, x in v.items())
    return "" if v is None else str(v)


# ---------------------------------------------------------------------------------------------
# A sweep's results folder

class Sweep:
    """experiment.yaml (every scalar as the text written there), experiment.path, and the ok rows
    of results.csv: the first complete record of each cell, one that ran well preferred."""

    def __init__(self, directory):
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise ReportError(str(directory), "not a folder (give the results folder of sparoa sweep)")
        self.exp_file = self.dir / "experiment.yaml"
        self.results_file = self.dir / "results.csv"
        self.notes = []
        self._read_experiment()
        self._orders = {}

    # -- experiment.yaml ------------------------------------------------------------------------
    def _read_experiment(self):
        yaml = import_yaml()
        ef = self.exp_file
        text = read_text(ef)
        try:
            doc = yaml.load(text, Loader=yaml.BaseLoader)  # scalars stay text, as results.csv has them
        except yaml.YAMLError as e:
            raise ReportError(str(ef), "not valid YAML: " + one_line(e)) from None
        if not isinstance(doc, dict):
            raise ReportError(str(ef), "expected a mapping (name, command, matrix, fixed, metrics, report)")
        name = doc.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise ReportError(f"{ef}: name", "missing or not a name of letters, digits, '-', '_' and '.'")
        self.name = name
        command = doc.get("command")
        if command not in COMMANDS:
            raise ReportError(f"{ef}: command", f"expected one of {', '.join(COMMANDS)}")
        self.command = command
        desc = doc.get("description", "")
        self.description = desc if isinstance(desc, str) else ""
        matrix = doc.get("matrix")
        if not isinstance(matrix, dict) or not matrix:
            raise ReportError(f"{ef}: matrix", "expected a mapping of factors to lists of levels")
        self.matrix = {}
        for k, v in matrix.items():
            levels = [level_text(x) for x in v] if isinstance(v, list) else [level_text(v)]
            self.matrix[str(k)] = levels
        fixed = doc.get("fixed") or {}
        if not isinstance(fixed, dict):
            raise ReportError(f"{ef}: fixed", "expected a mapping of keys to values")
        self.fixed = {str(k): level_text(v) for k, v in fixed.items()}
        self.keys = list(self.matrix) + [k for k in self.fixed if k not in self.matrix]
        report = doc.get("report")
        if report is None:
            raise ReportError(f"{ef}: report", "missing (add a report: mapping with a figure kind)")
        if not isinstance(report, dict):
            raise ReportError(f"{ef}: report", "expected a mapping (figure, title, paper, ...)")
        self.report = {str(k): v for k, v in report.items()}
        pf = self.dir / "experiment.path"
        try:
            with open(pf, encoding="utf-8") as f:
                lines = f.read().splitlines()
            self.origin = Path(lines[0].strip()) if lines and lines[0].strip() else None
        except (OSError, UnicodeDecodeError):
            self.origin = None
        if self.origin is None:
            self.notes.append(f"{pf} is missing or empty: relative paths are taken from {self.dir}.")
            self.origin = self.exp_file.resolve()

    def where(self, key):
        return f"{self.exp_file}: report.{key}"

    # -- results.csv ----------------------------------------------------------------------------
    def read_results(self):
        rf = self.results_file
        try:
            f = open(rf, encoding="utf-8", newline="")
        except FileNotFoundError:
            raise ReportError(str(rf), "missing (has sparoa sweep run?)") from None
        except OSError as e:
            raise ReportError(str(rf), f"cannot read: {e.strerror}") from None
        records, dropped = [], 0
        try:
            with f:
                reader = csv.reader(f)
                header = next(reader, None)
                if not header:
                    raise ReportError(str(rf), "empty (no header)")
                for col in LEAD_COLUMNS + tuple(self.keys):
                    if col not in header:
                        raise ReportError(f"{rf}: {col}", "missing column")
                self.header = header
                cur = None
                for fields in reader:
                    line = reader.line_num
                    if len(fields) != len(header):
                        dropped += 1
                        cur = None
                        continue
                    r = dict(zip(header, fields))
                    r["_line"] = line
                    try:
                        ri, rn = int(r["row"]), int(r["rows"])
                    except ValueError:
                        dropped += 1
                        cur = None
                        continue
                    if ri == 0:
                        cur = {"cell": r["cell"], "n": rn, "rows": [r]}
                        records.append(cur)
                    elif cur is not None and cur["cell"] == r["cell"] and cur["n"] == rn and ri == len(cur["rows"]):
                        cur["rows"].append(r)
                    else:
                        dropped += 1
        except (csv.Error, UnicodeDecodeError) as e:
            raise ReportError(str(rf), f"not a readable CSV: {one_line(e)}") from None
        chosen, duplicates = {}, 0
        for rec in records:
            if len(rec["rows"]) != rec["n"]:
                dropped += len(rec["rows"])  # cut short by a kill: the sweep runs the cell again
                continue
            rec["ok"] = all(r["status"] == "ok" for r in rec["rows"])
            old = chosen.get(rec["cell"])
            if old is None:
                chosen[rec["cell"]] = rec
            else:
                duplicates += 1
                if rec["ok"] and not old["ok"]:
                    chosen[rec["cell"]] = rec
        if dropped:
            self.notes.append(f"{dropped} row(s) of incomplete or torn records in results.csv were left out.")
        if duplicates:
            self.notes.append(f"{duplicates} later record(s) of cells already in results.csv were not used "
                              "(the first complete record of a cell counts, one that ran well preferred).")
        self.cells = list(chosen.values())
        self.ok_cells = [c for c in self.cells if c["ok"]]
        self.failed_cells = [c for c in self.cells if not c["ok"]]
        self.rows = [r for c in self.ok_cells for r in c["rows"]]
        self.in_matrix = sum(1 for c in self.cells if self._in_matrix(c["rows"][0]))
        if not self.rows:
            if self.failed_cells:
                err = one_line(self.failed_cells[0]["rows"][0].get("error", ""))
                raise ReportError(str(rf), f"no cell ran well ({len(self.failed_cells)} failed; the first: {err})")
            raise ReportError(str(rf), "no results yet (no complete ok cell)")

    def _in_matrix(self, row):
        return (all(row.get(k) in levels for k, levels in self.matrix.items())
                and all(row.get(k) == v for k, v in self.fixed.items() if k not in self.matrix))

    def matrix_size(self):
        n = 1
        for levels in self.matrix.values():
            n *= len(levels)
        return n

    # -- columns ----------------------------------------------------------------------------------
    def require(self, columns, why):
        for col in columns:
            if col not in self.header:
                raise ReportError(f"{self.results_file}: {col}",
                                  f"missing column (the figure '{why}' needs it; is it left out by metrics?)")

    def number(self, row, col):
        """The column's number, None when empty (or not finite); bad text is an error."""
        v = row.get(col, "")
        if v is None or v.strip() == "":
            return None
        try:
            x = float(v)
        except ValueError:
            raise ReportError(f"{self.results_file}:{row['_line']}: {col}", f"not a number: '{v}'") from None
        return x if math.isfinite(x) else None

    def order_of(self, col):
        """Levels of a column: the matrix's order first, then the rest as they appear."""
        if col not in self._orders:
            order = list(self.matrix.get(col, []))
            if col in self.fixed and self.fixed[col] not in order:
                order.append(self.fixed[col])
            seen = set(order)
            for r in self.rows:
                v = r.get(col, "")
                if v not in seen:
                    seen.add(v)
                    order.append(v)
            self._orders[col] = order
        return self._orders[col]

    def sort_key(self, cols):
        index = {c: {v: i for i, v in enumerate(self.order_of(c))} for c in cols}
        return lambda values: tuple(index[c].get(v, len(index[c])) for c, v in zip(cols, values))

    def present(self, col, rows=None):
        """The levels of col found in rows (default: all ok rows), in order_of's order."""
        have = {r.get(col, "") for r in (self.rows if rows is None else rows)}
        return [v for v in self.order_of(col) if v in have]

    def varying(self, exclude=()):
        """The experiment's keys that take more than one value among the ok rows."""
        return [k for k in self.keys if k not in exclude and len({r[k] for r in self.rows}) > 1]


# ---------------------------------------------------------------------------------------------
# report: options

class Options:
    def __init__(self, sweep, kind, allowed):
        self.s = sweep
        self.r = sweep.report
        for key in self.r:
            if key not in COMMON_KEYS and key not in allowed:
                takes = ", ".join(COMMON_KEYS + tuple(allowed))
                raise ReportError(sweep.where(key), f"unknown key for figure '{kind}' (it takes: {takes})")

    def text(self, key, default=None, required=False):
        v = self.r.get(key)
        if v is None or v == "":
            if required:
                raise ReportError(self.s.where(key), "missing (this figure needs it)")
            return default
        if not isinstance(v, str):
            raise ReportError(self.s.where(key), "expected a single value")
        return v

    def number(self, key, required=False):
        v = self.text(key, required=required)
        if v is None:
            return None
        try:
            x = float(v)
        except ValueError:
            raise ReportError(self.s.where(key), f"expected a number, not '{v}'") from None
        if not math.isfinite(x):
            raise ReportError(self.s.where(key), f"expected a finite number, not '{v}'")
        return x

    def list(self, key, required=False):
        v = self.r.get(key)
        if v is None or v == "" or v == []:
            if required:
                raise ReportError(self.s.where(key), "missing (this figure needs a list)")
            return []
        if isinstance(v, str):
            items = [x.strip() for x in v.split(",")]
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            items = [x.strip() for x in v]
        else:
            raise ReportError(self.s.where(key), "expected a list of names")
        if any(not x for x in items):
            raise ReportError(self.s.where(key), "an empty name in the list")
        return items

    def mapping(self, key):
        v = self.r.get(key)
        if v is None or v == "":
            return {}
        if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
            raise ReportError(self.s.where(key), "expected a mapping of names to values")
        return {str(k): x for k, x in v.items()}

    def column(self, key, required=False):
        col = self.text(key, required=required)
        if col is not None and col not in self.s.header:
            raise ReportError(self.s.where(key), f"column '{col}' is not in results.csv "
                              f"(its columns: {', '.join(c for c in self.s.header if c not in LEAD_COLUMNS)})")
        return col


class Analysis:
    """What one figure kind derives: the CSV table, the headline, and a function drawing the figure."""

    def __init__(self):
        self.columns, self.rows = [], []
        self.headline_columns, self.headline_rows = [], []
        self.one_line = ""
        self.notes = []
        self.draw = None  # draw(plt) -> figure


# ---------------------------------------------------------------------------------------------
# Drawing helpers

def palette(n):
    import matplotlib
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    size = 10 if n <= 10 else 20
    return [cmap(i % size) for i in range(n)]


def panel_figure(plt, panels, groups, per_group=1, height=2.8):
    width = min(22.0, max(6.5, 1.2 + 0.22 * max(1, len(groups)) * max(1, per_group) + 0.25 * len(groups)))
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, 0.9 + height * len(panels)), squeeze=False,
                             layout="constrained")
    return fig, [a[0] for a in axes]


def grouped_bars(ax, groups, series, value, colours, log=False, labels=None):
    """Bars of value[(group, series)] (None: no bar), one cluster per group."""
    n = max(1, len(series))
    width = 0.8 / n
    if log:
        log_axis(ax.yaxis)
    drawn = False
    for j, s in enumerate(series):
        xs, ys = [], []
        for i, g in enumerate(groups):
            v = value.get((g, s))
            if v is None or (log and v <= 0):
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(v)
        if xs:
            drawn = True
            ax.bar(xs, ys, width=width * 0.92, color=colours[j], label=(labels or series)[j])
    ax.set_xticks(range(len(groups)))
    long_labels = sum(len(str(g)) for g in groups) > 60
    ax.set_xticklabels([str(g) for g in groups], rotation=30 if long_labels else 0,
                       ha="right" if long_labels else "center")
    ax.set_xlim(-0.6, len(groups) - 0.4)
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def log_axis(axis):
    """A log axis labelled 0.5, 2, 30 rather than 5 x 10^-1: minor ticks get labels only when the
    axis spans less than about one and a half decades."""
    from matplotlib.ticker import FuncFormatter
    if axis is axis.axes.yaxis:
        axis.axes.set_yscale("log")
    else:
        axis.axes.set_xscale("log")

    def minor(v, _pos):
        lo, hi = sorted(axis.get_view_interval())
        if v <= 0 or lo <= 0:
            return ""
        span = math.log10(hi / lo)
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        if span <= 0.6 or (span <= 1.5 and mantissa in (2, 3, 5)):
            return f"{v:g}"
        return ""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def legend_right(ax, names, colours):
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=c, label=n) for n, c in zip(names, colours)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


# ---------------------------------------------------------------------------------------------
# compare results: one case per cell, the latency and energy of each policy that ran

def compare_cases(s, kind, extra=(), exclude=()):
    s.require(("model", "policy", "ok", "latency_mean_ms") + tuple(extra), kind)
    panel_keys = (["platform"] if "platform" in s.header and "platform" not in exclude else [])
    panel_keys += [k for k in s.varying(exclude=("model", "platform") + tuple(exclude))]
    by_cell = {}
    for r in s.rows:
        c = by_cell.get(r["cell"])
        if c is None:
            c = by_cell[r["cell"]] = {"model": r["model"], "panel": tuple(r.get(k, "") for k in panel_keys),
                                      "row": r, "lat": {}, "energy": {}}
        p = r["policy"]
        if r["ok"].strip() != "1" or p in c["lat"]:
            continue
        lat = s.number(r, "latency_mean_ms")
        if lat is None or lat <= 0:
            continue
        c["lat"][p] = lat
        if "energy_per_inference_mJ" in s.header:
            e = s.number(r, "energy_per_inference_mJ")
            if e is not None and e > 0:
                c["energy"][p] = e
    cases = list(by_cell.values())
    pk = s.sort_key(panel_keys)
    mk = s.sort_key(["model"])
    cases.sort(key=lambda c: (pk(c["panel"]), mk((c["model"],))))
    panels = []
    for c in cases:
        if c["panel"] not in panels:
            panels.append(c["panel"])
    return cases, panel_keys, panels


def best_baseline(case):
    have = [(case["lat"][b], b) for b in BASELINES if b in case["lat"]]
    return min(have) if have else None


def chosen_policies(s, opts, default_exclude):
    present = s.present("policy")
    listed = opts.list("policies")
    if listed:
        for p in listed:
            if p not in present:
                raise ReportError(s.where("policies"), f"policy '{p}' is in no row (present: {', '.join(present)})")
        return listed
    chosen = [p for p in present if p not in default_exclude]
    if not chosen:
        raise ReportError(s.where("policies"), f"no policy to draw (present: {', '.join(present)})")
    return chosen


def panel_labels(panel_keys, panels):
    return [setting_label(panel_keys, p) or "all" for p in panels]


def models_in(cases, panel):
    out = []
    for c in cases:
        if c["panel"] == panel and c["model"] not in out:
            out.append(c["model"])
    return out


def model_bars_draw(cases, panels, labels, policies, value, ylabel, ref, log=False):
    """The draw function of the compare kinds: one panel per case, models along x, a bar per
    policy; `value(panel, model, policy)` is the bar's height or None; a line at `ref`."""
    def draw(plt):
        colours = palette(len(policies))
        groups_all = [models_in(cases, p) for p in panels]
        fig, axes = panel_figure(plt, panels, max(groups_all, key=len), len(policies))
        for ax, panel, label, groups in zip(axes, panels, labels, groups_all):
            heights = {(m, p): value(panel, m, p) for m in groups for p in policies}
            grouped_bars(ax, groups, policies, {k: v for k, v in heights.items() if v is not None}, colours, log=log)
            ax.axhline(ref, color="black", lw=0.8)
            ax.set_ylabel(ylabel)
            ax.set_title(label)
        legend_right(axes[0], policies, colours)
        return fig
    return draw


# -- speedup ----------------------------------------------------------------------------------

def kind_speedup(s, opts):
    a = Analysis()
    cases, panel_keys, panels = compare_cases(s, "speedup")
    policies = chosen_policies(s, opts, NOT_OURS)
    labels = panel_labels(panel_keys, panels)
    a.columns = panel_keys + ["model", "policy", "latency_mean_ms", "best_baseline", "best_baseline_latency_ms",
                              "speedup_vs_best_baseline"] + \
        [f"speedup_vs_{b.replace('-', '_')}" for b in BASELINES] + ["mean_speedup_vs_baselines"]
    values = {}  # (panel, model, policy) -> (vs best, mean vs baselines, vs cpu-only)
    skipped = 0
    for c in cases:
        best = best_baseline(c)
        if best is None:
            skipped += 1
            continue
        for p in policies:
            lat = c["lat"].get(p)
            if lat is None:
                continue
            per = {b: c["lat"][b] / lat for b in BASELINES if b in c["lat"]}
            vs_best = best[0] / lat
            avg = mean(per.values())
            values[(c["panel"], c["model"], p)] = (vs_best, avg, per.get("cpu-only"))
            a.rows.append(list(c["panel"]) + [c["model"], p, lat, best[1], best[0], vs_best] +
                          [per.get(b) for b in BASELINES] + [avg])
    if skipped:
        a.notes.append(f"{skipped} case(s) had no baseline that ran and are left out.")
    if not values:
        raise ReportError(str(s.results_file), "no case where a baseline and a drawn policy both ran")
    a.headline_columns = ([case_header(panel_keys)] if panel_keys else []) + [
        "policy", "models", "vs best baseline (geomean)", "avg over baselines (geomean)",
        "vs cpu-only (geomean)", "vs cpu-only (max)"]
    avg_by_policy = {p: [] for p in policies}
    for panel, label in zip(panels, labels):
        for p in policies:
            vals = [(m, values[(panel, m, p)]) for m in models_in(cases, panel) if (panel, m, p) in values]
            if not vals:
                continue
            g_best = geomean(v[0] for _, v in vals)
            g_avg = geomean(v[1] for _, v in vals)
            g_cpu = geomean(v[2] for _, v in vals)
            cpu = [(v[2], m) for m, v in vals if v[2] is not None]
            mx = max(cpu) if cpu else None
            avg_by_policy[p].append(g_avg)
            a.headline_rows.append(([label] if panel_keys else []) + [
                p, len(vals), fmt_x(g_best), fmt_x(g_avg), fmt_x(g_cpu),
                f"{fmt_x(mx[0])} ({mx[1]})" if mx else "-"])
    parts = []
    for p in policies:
        xs = [x for x in avg_by_policy[p] if x is not None]
        if xs:
            parts.append(f"{p} {fmt_range(xs, fmt_x)}")
    where = " (range over " + ("platforms" if panel_keys == ["platform"] else "cases") + ")" if len(panels) > 1 else ""
    a.one_line = "average speedup over all baselines, geomean over models: " + ", ".join(parts) + where

    a.draw = model_bars_draw(cases, panels, labels, policies,
                             lambda pa, m, p: values[(pa, m, p)][0] if (pa, m, p) in values else None,
                             "speedup over the\nbest baseline", 1.0)
    return a


# -- cpu-speedup ------------------------------------------------------------------------------

def kind_cpu_speedup(s, opts):
    a = Analysis()
    cases, panel_keys, panels = compare_cases(s, "cpu-speedup")
    policies = chosen_policies(s, opts, ("cpu-only", "lower-bound"))
    labels = panel_labels(panel_keys, panels)
    a.columns = panel_keys + ["model", "policy", "latency_mean_ms", "cpu_only_latency_ms", "speedup_vs_cpu_only"]
    values = {}
    skipped = 0
    for c in cases:
        cpu = c["lat"].get("cpu-only")
        if cpu is None:
            skipped += 1
            continue
        for p in policies:
            lat = c["lat"].get(p)
            if lat is not None:
                values[(c["panel"], c["model"], p)] = cpu / lat
                a.rows.append(list(c["panel"]) + [c["model"], p, lat, cpu, cpu / lat])
    if skipped:
        a.notes.append(f"{skipped} case(s) where cpu-only did not run are left out.")
    if not values:
        raise ReportError(str(s.results_file), "no case where cpu-only and a drawn policy both ran")
    a.headline_columns = ["policy", "max speedup over cpu-only", "model", case_header(panel_keys),
                          "geomean over cases", "cases"]
    best_overall = None
    label_of = dict(zip(panels, labels))
    for p in policies:
        vals = [(v, k[1], label_of[k[0]]) for k, v in values.items() if k[2] == p]
        if not vals:
            continue
        mx = max(vals, key=lambda t: t[0])
        a.headline_rows.append([p, fmt_x(mx[0]), mx[1], mx[2], fmt_x(geomean(v for v, _, _ in vals)), len(vals)])
        if best_overall is None or mx[0] > best_overall[0]:
            best_overall = (mx[0], p, mx[1], mx[2])
    a.one_line = (f"largest speedup over cpu-only: {fmt_x(best_overall[0])} ({best_overall[1]}, "
                  f"{best_overall[2]} on {best_overall[3]})")

    a.draw = model_bars_draw(cases, panels, labels, policies, lambda pa, m, p: values.get((pa, m, p)),
                             "speedup over cpu-only\n(log scale)", 1.0, log=True)
    return a


# -- energy -----------------------------------------------------------------------------------

def kind_energy(s, opts):
    a = Analysis()
    cases, panel_keys, panels = compare_cases(s, "energy", extra=("energy_per_inference_mJ",))
    baseline = opts.text("baseline", "greedy-eft")
    if baseline not in s.present("policy"):
        raise ReportError(s.where("baseline"), f"policy '{baseline}' is in no row "
                          f"(present: {', '.join(s.present('policy'))})")
    policies = chosen_policies(s, opts, NOT_OURS)
    labels = panel_labels(panel_keys, panels)
    a.columns = panel_keys + ["model", "policy", "energy_per_inference_mJ", "baseline", "baseline_energy_mJ",
                              "energy_ratio", "percent_less_energy"]
    values = {}
    skipped = 0
    for c in cases:
        eb = c["energy"].get(baseline)
        if eb is None:
            skipped += 1
            continue
        for p in policies:
            e = c["energy"].get(p)
            if e is not None:
                pct = (eb - e) / eb * 100.0
                values[(c["panel"], c["model"], p)] = (pct, e / eb)
                a.rows.append(list(c["panel"]) + [c["model"], p, e, baseline, eb, e / eb, pct])
    if skipped:
        a.notes.append(f"{skipped} case(s) where {baseline} did not run are left out.")
    if not values:
        raise ReportError(str(s.results_file), f"no case where {baseline} and a drawn policy both ran")
    a.notes.append(f"Percent less energy per inference than {baseline}: positive means less. The geomean column "
                   f"is 1 - geomean(E_policy / E_{baseline}), as a percentage.")
    a.headline_columns = ([case_header(panel_keys)] if len(panels) > 1 else []) + [
        "policy", "cases", f"min % less than {baseline}", "max % less", "geomean % less"]
    scopes = [(lbl, [pn]) for pn, lbl in zip(panels, labels)] + [("all", panels)] if len(panels) > 1 else [("", panels)]
    parts = []
    for label, pans in scopes:
        for p in policies:
            vals = [v for k, v in values.items() if k[2] == p and k[0] in pans]
            if not vals:
                continue
            g = geomean(r for _, r in vals)
            pcts = [x for x, _ in vals]
            row = [p, len(vals), fmt_pct(min(pcts)), fmt_pct(max(pcts)), fmt_pct((1 - g) * 100 if g else None)]
            a.headline_rows.append(([label] if len(panels) > 1 else []) + row)
            if label in ("", "all"):
                rng = fmt_range(pcts, lambda v: f"{v:.1f}%", "..")
                parts.append(f"{p} {rng} (geomean {(1 - g) * 100:.1f}%)")
    a.one_line = f"energy per inference, percent less than {baseline}: " + ", ".join(parts)

    a.draw = model_bars_draw(cases, panels, labels, policies,
                             lambda pa, m, p: values[(pa, m, p)][0] if (pa, m, p) in values else None,
                             f"% less energy per\ninference than {baseline}", 0.0)
    return a


# -- quadrants --------------------------------------------------------------------------------

def kind_quadrants(s, opts):
    a = Analysis()
    s.require(("weight_sparsity", "intensity", "weight_elements", "quadrant"), "quadrants")
    rho = opts.number("rho", required=True)
    ith = opts.number("intensity", required=True)
    keys = s.varying()
    sk = s.sort_key(keys)
    combos = sorted({tuple(r[k] for k in keys) for r in s.rows}, key=sk)
    quads = [q for q in QUADRANT_ORDER if any(r["quadrant"] == q for r in s.rows)]
    quads += [q for q in s.present("quadrant") if q not in quads]
    a.columns = keys + [c for c in ("index", "operator", "type") if c in s.header] + [
        "weight_sparsity", "intensity", "weight_elements", "quadrant"]
    points = {c: [] for c in combos}
    not_drawn = 0
    for r in s.rows:
        c = tuple(r[k] for k in keys)
        x = s.number(r, "weight_sparsity")
        y = s.number(r, "intensity")
        w = s.number(r, "weight_elements") or 0
        a.rows.append(list(c) + [r[col] for col in ("index", "operator", "type") if col in s.header] + [
            x, y, w, r["quadrant"]])
        if x is None or y is None or y <= 0:
            not_drawn += 1
            continue
        points[c].append((x, y, w > 0, r["quadrant"]))
    if not_drawn:
        a.notes.append(f"{not_drawn} operator(s) without a positive intensity are counted but not drawn (log axis).")
    labels = [setting_label(keys, c) or s.name for c in combos]
    a.headline_columns = ["subplot"] + quads + ["without weights", "operators"]
    parts = []
    for c, label in zip(combos, labels):
        rows = [r for r in s.rows if tuple(r[k] for k in keys) == c]
        counts = [sum(1 for r in rows if r["quadrant"] == q) for q in quads]
        weightless = sum(1 for r in rows if (s.number(r, "weight_elements") or 0) <= 0)
        a.headline_rows.append([label] + counts + [weightless, len(rows)])
        parts.append(f"{label}: " + ", ".join(f"{q} {n}" for q, n in zip(quads, counts) if n))
    a.one_line = "operators per quadrant: " + "; ".join(parts)
    a.notes.append(f"Threshold lines at rho* = {rho:g} (weight sparsity) and I* = {ith:g} FLOP/byte; the quadrant "
                   "column is the one sparoa inspect wrote (operators without weights use their activation sparsity).")

    def draw(plt):
        if "sparsity" in keys:
            cols = len(s.present("sparsity"))
        else:
            cols = min(3, len(combos))
        nrows = math.ceil(len(combos) / cols)
        if "sparsity" in keys:
            others = [k for k in keys if k != "sparsity"]
            row_combos = sorted({tuple(r[k] for k in others) for r in s.rows}, key=s.sort_key(others))
            nrows = len(row_combos)
            sp_levels = s.present("sparsity")
            pos = {c: (row_combos.index(tuple(v for k, v in zip(keys, c) if k != "sparsity")),
                       sp_levels.index(c[keys.index("sparsity")])) for c in combos}
        else:
            pos = {c: divmod(i, cols) for i, c in enumerate(combos)}
        fig, axes = plt.subplots(nrows, cols, figsize=(0.6 + 3.4 * cols, 0.6 + 3.0 * nrows), squeeze=False,
                                 sharey=True, layout="constrained")
        colours = dict(zip(quads, palette(len(quads))))
        used = set()
        ys = [p[1] for c in combos for p in points[c]]
        for c, label in zip(combos, labels):
            i, j = pos[c]
            ax = axes[i][j]
            used.add((i, j))
            pts = points[c]
            for q in quads:
                sel = [p for p in pts if p[3] == q and p[2]]
                if sel:
                    ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=14, color=colours[q], label=q,
                               edgecolors="none")
            hollow = [p for p in pts if not p[2]]
            if hollow:
                ax.scatter([p[0] for p in hollow], [p[1] for p in hollow], s=14, facecolors="none",
                           edgecolors="grey", linewidths=0.8, label="no weights")
            log_axis(ax.yaxis)
            ax.axvline(rho, color="black", lw=0.8, ls="--")
            ax.axhline(ith, color="black", lw=0.8, ls="--")
            ax.set_xlim(-0.03, 1.03)
            if ys:
                ax.set_ylim(min(min(ys), ith) / 2, max(max(ys), ith) * 2)
            ax.set_title(label)
            ax.grid(alpha=0.3)
            if i == nrows - 1:
                ax.set_xlabel("weight sparsity")
            if j == 0:
                ax.set_ylabel("intensity (FLOP/byte, log)")
        for i in range(nrows):
            for j in range(cols):
                if (i, j) not in used:
                    axes[i][j].axis("off")
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], marker="o", ls="", color=colours[q], label=q) for q in quads]
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="grey",
                              label="no weights"))
        axes[0][cols - 1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        return fig
    a.draw = draw
    return a


# -- predictor --------------------------------------------------------------------------------

def kind_predictor(s, opts):
    a = Analysis()
    s.require(("family", "predictor_regret", "global_regret"), "predictor")
    keys = s.varying()
    sk = s.sort_key(keys)
    combos = sorted({tuple(r[k] for k in keys) for r in s.rows}, key=sk)
    labels = [setting_label(keys, c) or "all" for c in combos]
    a.columns = keys + ["family", "cases", "predictor_regret_pct", "global_regret_pct"]
    values = {}
    for r in s.rows:
        c = tuple(r[k] for k in keys)
        pr, gr = s.number(r, "predictor_regret"), s.number(r, "global_regret")
        cases = r.get("cases", "")
        values[(c, r["family"])] = (None if pr is None else pr * 100, None if gr is None else gr * 100)
        a.rows.append(list(c) + [r["family"], cases, values[(c, r["family"])][0], values[(c, r["family"])][1]])
    a.headline_columns = (["case"] if keys else []) + ["family", "predictor regret", "best global pair regret"]
    parts = []
    for c, label in zip(combos, labels):
        fams = [f for f in s.present("family") if (c, f) in values]
        for f in fams:
            pr, gr = values[(c, f)]
            a.headline_rows.append(([label] if keys else []) + [f, fmt_pct(pr), fmt_pct(gr)])
        mp = mean(values[(c, f)][0] for f in fams)
        mg = mean(values[(c, f)][1] for f in fams)
        a.headline_rows.append(([label] if keys else []) + [f"**mean of {len(fams)}**", fmt_pct(mp), fmt_pct(mg)])
        parts.append((f"{label}: " if keys else "") + f"predictor {fmt_pct(mp)} vs best global pair {fmt_pct(mg)}")
    a.one_line = "regret above the best latency (mean over families, leave-one-family-out): " + "; ".join(parts)

    def draw(plt):
        series = ["predictor", "best global pair"]
        colours = palette(2)
        fams_all = [[f for f in s.present("family") if (c, f) in values] for c in combos]
        fig, axes = panel_figure(plt, combos, max(fams_all, key=len), 2)
        for ax, c, label, fams in zip(axes, combos, labels, fams_all):
            v = {}
            for f in fams:
                v[(f, "predictor")], v[(f, "best global pair")] = values[(c, f)]
            grouped_bars(ax, fams, series, v, colours)
            ax.set_ylabel("regret (% above the\nbest latency)")
            if keys:
                ax.set_title(label)
        legend_right(axes[0], series, colours)
        return fig
    a.draw = draw
    return a


# -- learning-curve ---------------------------------------------------------------------------

def kind_learning_curve(s, opts):
    a = Analysis()
    s.require(("round", "env_steps", "mean_latency_ratio", "mean_return"), "learning-curve")
    keys = s.varying()
    sk = s.sort_key(keys)
    combos = sorted({tuple(r[k] for k in keys) for r in s.rows}, key=sk)
    labels = [setting_label(keys, c) or "run" for c in combos]
    a.columns = keys + ["round", "env_steps", "mean_latency_ratio", "mean_return"]
    curves = {}
    for c in combos:
        pts = []
        for r in s.rows:
            if tuple(r[k] for k in keys) != c:
                continue
            rnd = s.number(r, "round")
            pts.append((rnd if rnd is not None else -1, s.number(r, "env_steps"), s.number(r, "mean_latency_ratio"),
                        s.number(r, "mean_return")))
        pts.sort(key=lambda p: p[0])
        curves[c] = pts
        for p in pts:
            a.rows.append(list(c) + [r_int(p[0]), p[1], p[2], p[3]])
    a.headline_columns = (["run"] if keys else []) + ["rounds", "first round latency ratio",
                                                      "last 10% of rounds latency ratio", "change"]
    parts = []
    for c, label in zip(combos, labels):
        ratios = [p[2] for p in curves[c] if p[2] is not None]
        if not ratios:
            continue
        k = max(1, math.ceil(0.1 * len(ratios)))
        first, last = ratios[0], mean(ratios[-k:])
        change = (last - first) / first * 100 if first else None
        a.headline_rows.append(([label] if keys else []) + [len(curves[c]), fmt_num(first), fmt_num(last),
                                                            fmt_pct(change)])
        parts.append((f"{label} " if keys else "") + f"{first:.3g} -> {last:.3g}")
    a.one_line = "mean latency ratio, first round -> mean of the last 10% of rounds: " + "; ".join(parts)

    def draw(plt):
        fig, axes = plt.subplots(2, 1, figsize=(8, 6.2), sharex=True, layout="constrained")
        colours = palette(len(combos))
        for c, label, col in zip(combos, labels, colours):
            pts = curves[c]
            for ax, idx in ((axes[0], 2), (axes[1], 3)):
                xy = [(p[1], p[idx]) for p in pts if p[1] is not None and p[idx] is not None]
                if xy:
                    ax.plot([x for x, _ in xy], [y for _, y in xy], color=col, lw=1.2, label=label,
                            marker="o" if len(xy) < 30 else None, ms=3)
        axes[0].set_ylabel("mean latency ratio")
        axes[1].set_ylabel("mean return")
        axes[1].set_xlabel("environment steps")
        for ax in axes:
            ax.grid(alpha=0.3)
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig
    a.draw = draw
    return a


def r_int(x):
    return str(int(x)) if x is not None and float(x).is_integer() else csv_number(x)


# -- bars -------------------------------------------------------------------------------------

def kind_bars(s, opts):
    a = Analysis()
    x = opts.column("x", required=True)
    y = opts.column("y", required=True)
    y2 = opts.column("y2")
    series = opts.list("series")
    for i, col in enumerate(series):
        if col not in s.header:
            raise ReportError(s.where(f"series[{i}]"), f"column '{col}' is not in results.csv")
    normalise = opts.mapping("normalise")
    for col, level in normalise.items():
        if col not in series:
            raise ReportError(s.where(f"normalise.{col}"), f"not one of report.series ({', '.join(series) or 'none'})")
        if level not in s.present(col):
            raise ReportError(s.where(f"normalise.{col}"),
                              f"level '{level}' is in no ok row (levels: {', '.join(s.present(col))})")
    labels_map = opts.mapping("labels")
    ys = [y] + ([y2] if y2 else [])
    sums = {}
    for r in s.rows:
        key = (r[x], tuple(r[c] for c in series))
        vals = sums.setdefault(key, [[] for _ in ys])
        for i, col in enumerate(ys):
            v = s.number(r, col)
            if v is not None:
                vals[i].append(v)
    means = {k: [mean(v) for v in vals] for k, vals in sums.items()}
    for i, key in enumerate(("y", "y2")[:len(ys)]):
        if all(v[i] is None for v in means.values()):
            raise ReportError(s.where(key), f"column '{ys[i]}' has no number in any ok row")
    xs = s.present(x)
    sk = s.sort_key(series)
    combos = sorted({k[1] for k in means}, key=sk)
    names = [",".join(c) if c else y for c in combos]
    display = [labels_map.get(n, n) for n in names]
    for k in labels_map:
        if k not in names:
            a.notes.append(f"report.labels: '{k}' matches no bar (bars: {', '.join(names)}).")
    averaged = max(len(v[0]) for v in sums.values())
    if averaged > 1:
        others = [k for k in s.varying() if k != x and k not in series]
        a.notes.append(f"Each bar is the mean of up to {averaged} rows"
                       + (f" (over {', '.join(others)})." if others else "."))

    def ref_of(xv, combo):
        rc = tuple(normalise.get(col, v) for col, v in zip(series, combo))
        return means.get((xv, rc))

    ratios = {}
    if normalise:
        for (xv, combo), vals in means.items():
            ref = ref_of(xv, combo)
            ratios[(xv, combo)] = [v / rv if (v is not None and ref is not None and rv) else None
                                   for v, rv in zip(vals, ref or [None] * len(vals))]
        missing = sum(1 for k in means if ref_of(*k) is None)
        if missing:
            refs = ", ".join(f"{k}={v}" for k, v in normalise.items())
            a.notes.append(f"{missing} bar(s) have no reference bar ({refs} at the same x) and are left out of "
                           "the ratios.")
    ref_desc = ", ".join(f"{k}={v}" for k, v in normalise.items())
    a.columns = [x] + series + ["rows"] + ys + ([f"{c}_ratio" for c in ys] if normalise else [])
    a.headline_columns = [x, "bar", "rows"] + ys + ([f"{c} / reference" for c in ys] if normalise else [])
    for xv in xs:
        for combo, disp in zip(combos, display):
            if (xv, combo) not in means:
                continue
            vals = means[(xv, combo)]
            rat = ratios.get((xv, combo), [None] * len(ys))
            n = len(sums[(xv, combo)][0])
            a.rows.append([xv] + list(combo) + [n] + vals + (rat if normalise else []))
            a.headline_rows.append([xv, disp, n] + [fmt_num(v) for v in vals] +
                                   ([fmt_x(v) for v in rat] if normalise else []))
    parts = []
    for combo, disp in zip(combos, display):
        if normalise:
            if all(normalise.get(col, v) == v for col, v in zip(series, combo)):
                continue  # the reference bars themselves
            vals = [ratios[(xv, combo)][0] for xv in xs if ratios.get((xv, combo), [None])[0] is not None]
            if vals:
                parts.append(f"{disp} {fmt_range(vals, fmt_x)}")
        else:
            vals = [means[(xv, combo)][0] for xv in xs if means.get((xv, combo), [None])[0] is not None]
            if vals:
                parts.append(f"{disp} {fmt_range(vals, lambda v: f'{v:.4g}')}")
    a.one_line = (f"{y} relative to {ref_desc} (range over {x}): " if normalise else f"{y} (range over {x}): ") + \
        ", ".join(parts)

    def draw(plt):
        colours = palette(len(combos))
        fig, axes = panel_figure(plt, ys, xs, len(combos), height=3.0)
        for i, (ax, col) in enumerate(zip(axes, ys)):
            src = ratios if normalise else means
            v = {(xv, n): src[(xv, c)][i] for xv in xs for c, n in zip(combos, names) if (xv, c) in src}
            grouped_bars(ax, xs, names, v, colours, labels=display)
            if normalise:
                ax.axhline(1.0, color="black", lw=0.8)
                ax.set_ylabel(f"{col}\nrelative to {ref_desc}")
            else:
                ax.set_ylabel(col)
        axes[-1].set_xlabel(x)
        if len(combos) > 1 or series:
            legend_right(axes[0], display, colours)
        return fig
    a.draw = draw
    return a


# -- overhead ---------------------------------------------------------------------------------

def kind_overhead(s, opts):
    a = Analysis()
    s.require(("policy", "plan_ms_median"), "overhead")
    others = s.varying(exclude=("policy",))
    policies = s.present("policy")
    sk = s.sort_key(others)
    combos = sorted({tuple(r[k] for k in others) for r in s.rows}, key=sk)
    names = [setting_label(others, c) or "plan" for c in combos]
    plan, dec = {}, {}
    acc = {}
    for r in s.rows:
        c = tuple(r[k] for k in others)
        acc.setdefault((r["policy"], c), []).append(r)
    opt = [col for col in ("kind", "operators", "plan_us_per_op", "decisions", "decision_us_mean",
                           "decision_share_of_latency") if col in s.header]
    a.columns = others + ["policy"] + [c for c in ("kind", "operators") if c in opt] + ["plan_ms_median"] + \
        [c for c in opt if c not in ("kind", "operators")]
    a.headline_columns = ["policy"] + (["case"] if others else []) + \
        [c for c in ("kind", "operators") if c in opt] + ["plan (median)"] + \
        [c for c in ("plan_us_per_op", "decision_us_mean", "decision_share_of_latency") if c in opt]
    for p in policies:
        for c, name in zip(combos, names):
            rows = acc.get((p, c))
            if not rows:
                continue
            plan[(c, p)] = mean(s.number(r, "plan_ms_median") for r in rows)
            d = mean(s.number(r, "decision_us_mean") for r in rows) if "decision_us_mean" in s.header else None
            if d is not None and d > 0:
                dec[(c, p)] = d
            r0 = rows[0]
            a.rows.append(list(c) + [p] + [r0[col] for col in ("kind", "operators") if col in opt] + [plan[(c, p)]] +
                          [mean(s.number(r, col) for r in rows) for col in opt if col not in ("kind", "operators")])
            hl = [p] + ([name] if others else []) + [r0[col] for col in ("kind", "operators") if col in opt] + \
                [f"{fmt_num(plan[(c, p)])} ms" if plan[(c, p)] is not None else "-"]
            for col in ("plan_us_per_op", "decision_us_mean", "decision_share_of_latency"):
                if col in opt:
                    v = mean(s.number(r, col) for r in rows)
                    hl.append("-" if v is None else (fmt_pct(v * 100) if col == "decision_share_of_latency"
                                                     else f"{fmt_num(v)} us"))
            a.headline_rows.append(hl)
    pl = [(v, k[1]) for k, v in plan.items() if v is not None]
    parts = []
    if pl:
        lo, hi = min(pl), max(pl)
        parts.append(f"median plan time {lo[0]:.3g} ms ({lo[1]}) to {hi[0]:.3g} ms ({hi[1]})")
    if dec:
        for p in policies:
            dv = [v for k, v in dec.items() if k[1] == p]
            if dv:
                parts.append(f"{p} {mean(dv):.3g} us per decision")
    a.one_line = "; ".join(parts)
    online = [p for p in policies if any(k[1] == p for k in dec)]

    def draw(plt):
        colours = palette(len(combos))
        rows = [("plan", policies)] + ([("decision", online)] if online else [])
        fig, axes = plt.subplots(len(rows), 1, figsize=(max(6.5, 1.5 + 0.5 * len(policies) * max(1, len(combos))),
                                                       0.9 + 3.0 * len(rows)), squeeze=False, layout="constrained")
        for (what, pols), ax in zip(rows, [r[0] for r in axes]):
            src = plan if what == "plan" else dec
            v = {(p, n): src[(c, p)] for p in pols for c, n in zip(combos, names) if (c, p) in src}
            grouped_bars(ax, pols, names, v, colours, log=True)
            ax.set_ylabel("plan time, median\n(ms, log)" if what == "plan" else "time per online\ndecision (us, log)")
        if len(combos) > 1 or others:
            legend_right(axes[0][0], names, colours)
        return fig
    a.draw = draw
    return a


# -- sensitivity ------------------------------------------------------------------------------

def ranking_change(ref, cur, tolerance):
    """'' when no two policies swap places, else 'heft/gpu-only, ...'. ref and cur map policy ->
    latency. Two policies within `tolerance` of each other (relative) are tied in that case: a
    swap is a pair strictly ordered one way in ref and strictly the other way in cur, so that
    noise-level reorderings of near-equal policies do not count as a changed ranking."""
    def order(lat, a, b):
        x, y = lat[a], lat[b]
        if abs(x - y) <= tolerance * min(x, y):
            return 0
        return -1 if x < y else 1
    common = [p for p in ref if p in cur]
    flips = [f"{a}/{b}" for i, a in enumerate(common) for b in common[i + 1:]
             if order(ref, a, b) * order(cur, a, b) == -1]
    out = ", ".join(flips)
    gone = [p for p in ref if p not in cur]
    new = [p for p in cur if p not in ref]
    if gone:
        out += ("; " if out else "") + "missing: " + ", ".join(gone)
    if new:
        out += ("; " if out else "") + "only here: " + ", ".join(new)
    return out


def kind_sensitivity(s, opts):
    a = Analysis()
    if "perturb" not in s.keys:
        raise ReportError(s.where("figure"), "sensitivity needs a perturb factor in the matrix")
    policies = opts.list("policies", required=True)
    tolerance = opts.number("tolerance")
    tolerance = 0.02 if tolerance is None else tolerance
    if not 0 <= tolerance < 1:
        raise ReportError(s.where("tolerance"), "expected a fraction in [0, 1), e.g. 0.02")
    cases, panel_keys, panels = compare_cases(s, "sensitivity", exclude=("perturb",))
    present = s.present("policy")
    for p in policies:
        if p not in present:
            raise ReportError(s.where("policies"), f"policy '{p}' is in no row (present: {', '.join(present)})")
    levels = s.present("perturb")
    ref_level = "none" if "none" in levels else None
    if ref_level is None:
        a.notes.append("No perturbation level 'none': rankings are listed but not compared.")
    # The base case of a cell: every varying key but perturb (panel keys and the model).
    for c in cases:
        c["perturb"] = c["row"]["perturb"]
    labels = panel_labels(panel_keys, panels)
    a.columns = panel_keys + ["model", "perturb", "policy", "latency_mean_ms", "rank", "speedup_vs_best_baseline",
                              "ranking", "vs_none"]
    a.headline_columns = ([case_header(panel_keys)] if panel_keys else []) + ["model", "perturbation",
                                                             "ranking (by mean latency, fastest first)", "vs none"]
    ranking = {}
    latency = {}
    for c in cases:
        key = (c["panel"], c["model"], c["perturb"])
        ranking[key] = sorted([p for p in policies if p in c["lat"]], key=lambda p: c["lat"][p])
        latency[key] = {p: c["lat"][p] for p in ranking[key]}
    perturbed = holds = 0
    changed = []
    speed = {}
    lk = {v: i for i, v in enumerate(levels)}
    for c in sorted(cases, key=lambda c: (panels.index(c["panel"]), models_in(cases, c["panel"]).index(c["model"]),
                                          lk[c["perturb"]])):
        rk = ranking[(c["panel"], c["model"], c["perturb"])]
        best = best_baseline(c)
        ref = latency.get((c["panel"], c["model"], ref_level)) if ref_level else None
        if c["perturb"] == ref_level:
            verdict = "reference"
        elif ref is None:
            verdict = "-"
        else:
            perturbed += 1
            ch = ranking_change(ref, latency[(c["panel"], c["model"], c["perturb"])], tolerance)
            if ch:
                verdict = "swaps: " + ch
                changed.append(f"{c['perturb']} ({setting_label(['model'] + panel_keys, (c['model'],) + c['panel'])})")
            else:
                verdict = "holds"
                holds += 1
        text = " < ".join(rk) if rk else "(none ran)"
        a.headline_rows.append(([setting_label(panel_keys, c["panel"])] if panel_keys else []) +
                               [c["model"], c["perturb"], text, verdict])
        for p in policies:
            lat = c["lat"].get(p)
            sp = best[0] / lat if (best and lat) else None
            if sp is not None:
                speed.setdefault((c["panel"], c["perturb"], p), []).append(sp)
            a.rows.append(list(c["panel"]) + [c["model"], c["perturb"], p, lat,
                                              (rk.index(p) + 1) if p in rk else None, sp, text, verdict])
    if ref_level:
        a.one_line = (f"ranking of {', '.join(policies)} holds in {holds} of {perturbed} perturbed case(s) "
                      f"(policies within {tolerance:.0%} of each other count as tied)")
        if changed:
            a.one_line += "; swaps under " + "; ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
        a.notes.append(f"A ranking 'holds' when no two policies swap places; two policies whose mean latencies "
                       f"differ by at most {tolerance:.0%} are tied in a case, so their order there is not a swap.")
    else:
        a.one_line = f"rankings of {', '.join(policies)} under {len(levels)} perturbation(s); no 'none' level"
    multi_model = any(len(models_in(cases, p)) > 1 for p in panels)

    def draw(plt):
        colours = palette(len(policies))
        fig, axes = panel_figure(plt, panels, levels, len(policies))
        for ax, panel, label in zip(axes, panels, labels):
            v = {(lv, p): geomean(speed.get((panel, lv, p), [])) for lv in levels for p in policies}
            grouped_bars(ax, levels, policies, {k: x for k, x in v.items() if x is not None}, colours)
            ax.axhline(1.0, color="black", lw=0.8)
            ax.set_ylabel("speedup over the best baseline" + ("\n(geomean over models)" if multi_model else ""))
            ax.set_title(label)
        axes[-1].set_xlabel("perturbation")
        legend_right(axes[0], policies, colours)
        return fig
    a.draw = draw
    return a


# -- table ------------------------------------------------------------------------------------

def kind_table(s, opts):
    a = Analysis()
    cols = opts.list("columns", required=True)
    for i, col in enumerate(cols):
        if col not in s.header:
            raise ReportError(s.where(f"columns[{i}]"), f"column '{col}' is not in results.csv")
    keys = [k for k in s.varying() if k not in cols]
    sk = s.sort_key(keys)
    rows = sorted(s.rows, key=lambda r: (sk(tuple(r[k] for k in keys)), r["_line"]))
    a.columns = keys + cols
    a.rows = [[r[c] for c in a.columns] for r in rows]
    a.headline_columns = a.columns
    a.headline_rows = a.rows[:MAX_TABLE_ROWS_MD]
    if len(a.rows) > MAX_TABLE_ROWS_MD:
        a.notes.append(f"The headline table shows the first {MAX_TABLE_ROWS_MD} of {len(a.rows)} rows; "
                       f"{s.name}.csv has them all.")
    a.one_line = f"{len(a.rows)} row(s) of {', '.join(cols)}" + (f" by {', '.join(keys)}" if keys else "")

    def draw(plt):
        shown = a.rows[:MAX_TABLE_ROWS_FIG]
        fig, ax = plt.subplots(figsize=(min(22, 1.0 + 1.3 * len(a.columns)), 0.6 + 0.24 * (len(shown) + 1)),
                               layout="constrained")
        ax.axis("off")
        if shown:
            t = ax.table(cellText=shown, colLabels=a.columns, loc="upper center", cellLoc="left")
            t.auto_set_font_size(False)
            t.set_fontsize(7)
        if len(a.rows) > len(shown):
            ax.set_title(f"first {len(shown)} of {len(a.rows)} rows", fontsize=8)
        return fig
    a.draw = draw
    return a


KINDS = {
    # kind: (commands it reads or None for any, extra report keys, function)
    "speedup": (("compare",), ("policies",), kind_speedup),
    "cpu-speedup": (("compare",), ("policies",), kind_cpu_speedup),
    "energy": (("compare",), ("policies", "baseline"), kind_energy),
    "quadrants": (("inspect",), ("rho", "intensity"), kind_quadrants),
    "predictor": (("train-thresholds",), (), kind_predictor),
    "learning-curve": (("train-rl",), (), kind_learning_curve),
    "bars": (None, ("x", "series", "y", "y2", "normalise", "labels"), kind_bars),
    "overhead": (("bench-policy",), (), kind_overhead),
    "sensitivity": (("compare",), ("policies", "tolerance"), kind_sensitivity),
    "table": (None, ("columns",), kind_table),
}


def figure_kind(s):
    kind = s.report.get("figure")
    known = ", ".join(KINDS)
    if kind is None or kind == "":
        raise ReportError(s.where("figure"), f"missing (one of: {known})")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ReportError(s.where("figure"), f"unknown figure kind '{level_text(kind)}' (one of: {known})")
    commands, allowed, _ = KINDS[kind]
    if commands and s.command not in commands:
        raise ReportError(s.where("figure"), f"'{kind}' draws results of {' or '.join(commands)}; "
                          f"this experiment runs {s.command}")
    for key in ("title", "paper", "notes"):
        v = s.report.get(key)
        if v is not None and not isinstance(v, str):
            raise ReportError(s.where(key), "expected text")
    return kind, Options(s, kind, allowed)


def analyse(s):
    """Reads results.csv and derives the figure's table and headline (no drawing)."""
    kind, opts = figure_kind(s)
    s.read_results()
    return kind, KINDS[kind][2](s, opts)


# ---------------------------------------------------------------------------------------------
# summary.md

def repo_root():
    return Path(__file__).resolve().parents[2]


def platform_provenance(s):
    levels = list(s.matrix.get("platform", [])) or ([s.fixed["platform"]] if "platform" in s.fixed else [])
    if not levels and "platform" in getattr(s, "header", []):
        levels = s.present("platform")
    yaml = import_yaml()
    lines = []
    for lv in levels:
        candidates = [s.origin.parent / lv, repo_root() / "platforms" / f"{lv}.yaml"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            lines.append(f"{lv}: provenance unknown (no file {candidates[0]} nor shipped platform {candidates[1]})")
            continue
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.load(f, Loader=yaml.BaseLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            lines.append(f"{lv}: provenance unknown ({path}: {one_line(e)})")
            continue
        prov = doc.get("provenance") if isinstance(doc, dict) else None
        if not isinstance(prov, dict):
            lines.append(f"{lv}: provenance unknown ({path} has no provenance block)")
            continue
        source = level_text(prov.get("source", "")) or "not given"
        document = one_line(level_text(prov.get("document", ""))) or "not given"
        kind = {"datasheet": "datasheet-based, not fitted on a board",
                "estimated": "estimated, not fitted on a board",
                "fitted": "fitted on a board",
                "measured": "fitted on a board (measured)"}.get(source, source)
        date = level_text(prov.get("date", ""))
        lines.append(f"{lv}: {kind} (source: {source}; document: {document}"
                     + (f"; date: {date}" if date else "") + ")")
    return lines


def summary_markdown(s, kind, a, outdir, default_out):
    r = s.report
    title = r.get("title") or s.name
    out = [f"# {title}", ""]
    if s.description:
        out += [one_line(s.description), ""]
    out += [f"Figure `{kind}` of the `{s.command}` experiment `{s.name}`: {s.name}.png, {s.name}.svg; "
            f"the numbers behind it: {s.name}.csv.", "", f"![{s.name}]({s.name}.png)", ""]
    out += ["## Reproduce", "", "```sh", f"sparoa sweep {s.origin}",
            f"sparoa report {s.dir.resolve()}" + ("" if default_out else f" --out {outdir.resolve()}"), "```", ""]
    total = s.matrix_size()
    ok, failed = len(s.ok_cells), len(s.failed_cells)
    line = f"Cells: {ok} ok, {failed} failed, {total} total in the matrix"
    extra = []
    if ok + failed - s.in_matrix:
        extra.append(f"{ok + failed - s.in_matrix} recorded from an earlier matrix, used")
    if total - s.in_matrix > 0:
        extra.append(f"{total - s.in_matrix} not recorded yet")
    out += [line + (f" ({'; '.join(extra)})" if extra else "") + ".", ""]
    if s.failed_cells:
        out += ["Failed cells:", ""]
        for c in s.failed_cells[:10]:
            r0 = c["rows"][0]
            label = setting_label(s.matrix.keys(), [r0.get(k, "") for k in s.matrix])
            out.append(f"- `{c['cell']}` ({label}): {one_line(r0.get('error', '')) or 'no reason given'}")
        if len(s.failed_cells) > 10:
            out.append(f"- ... and {len(s.failed_cells) - 10} more")
        out.append("")
    prov = platform_provenance(s)
    if prov:
        out += ["## Platform provenance", ""] + [f"- {p}" for p in prov] + [""]
    out += ["## Headline", ""]
    out += [f"Ours: {a.one_line}", ""]
    if r.get("paper"):
        out += [f"Paper: {one_line(r['paper'])}", ""]
    if a.headline_rows:
        out += [md_table(a.headline_columns, a.headline_rows), ""]
    notes = ([r["notes"].strip()] if r.get("notes") else []) + a.notes + s.notes
    if notes:
        out += ["## Notes", ""] + [f"- {one_line(n)}" for n in notes] + [""]
    out += ["## Provenance of the numbers", ""]
    for col in ("git_revision", "simgrid_version", "sparoa_version", "config_sha256", "run_seed"):
        if col not in s.header:
            continue
        counts = {}
        for c in s.ok_cells:
            v = c["rows"][0].get(col, "") or "(empty)"
            counts[v] = counts.get(v, 0) + 1
        vals = ", ".join(f"`{v}` ({n} cell{'s' if n != 1 else ''})" for v, n in counts.items())
        out.append(f"- {col}: {vals}")
    out.append("")
    return "\n".join(out)


def run_sweep(directory, out=None):
    s = Sweep(directory)
    kind, a = analyse(s)
    outdir = Path(out) if out else s.dir / "report"
    summary = summary_markdown(s, kind, a, outdir, out is None)
    plt = import_pyplot()
    fig = a.draw(plt)
    title = s.report.get("title") or s.name
    fig.suptitle(title, fontsize=10)
    try:
        save_figure(fig, outdir / f"{s.name}.png", outdir / f"{s.name}.svg")
    finally:
        plt.close(fig)
    write_csv(outdir / f"{s.name}.csv", a.columns, a.rows)
    write_text(outdir / "summary.md", summary)
    return outdir


# ---------------------------------------------------------------------------------------------
# gantt

def natural_key(text):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t]


def read_trace(path):
    try:
        f = open(path, encoding="utf-8", newline="")
    except OSError as e:
        raise ReportError(str(path), f"cannot read: {e.strerror}") from None
    comments = {}
    with f:
        try:
            lines = iter(f)
            header_line, header_no = None, 0
            for line in lines:
                header_no += 1
                if line.startswith("#"):
                    k, _, v = line[1:].partition(":")
                    comments[k.strip()] = v.strip()
                    continue
                if line.strip():
                    header_line = line
                    break
            if header_line is None:
                raise ReportError(str(path), "no header line (an empty trace?)")
            header = next(csv.reader([header_line]))
            for col in TRACE_COLUMNS:
                if col not in header:
                    raise ReportError(f"{path}: {col}", "missing column (is this a sparoa trace CSV?)")
            ix = {c: header.index(c) for c in TRACE_COLUMNS}
            n = len(header)
            rows = []
            reader = csv.reader(lines)
            for fields in reader:
                lineno = header_no + reader.line_num
                if not fields:
                    continue
                if len(fields) != n:
                    raise ReportError(f"{path}:{lineno}", f"{len(fields)} fields where the header has {n}")
                rec = fields[ix["record"]]
                if rec not in TRACE_RECORDS:
                    raise ReportError(f"{path}:{lineno}: record", f"unknown record kind '{rec}'")
                try:
                    start = float(fields[ix["start_us"]])
                    end = float(fields[ix["end_us"]])
                except ValueError:
                    raise ReportError(f"{path}:{lineno}: start_us/end_us", "not a number") from None
                if not (math.isfinite(start) and math.isfinite(end)) or end < start:
                    raise ReportError(f"{path}:{lineno}: end_us", "before start_us or not finite")
                rows.append((rec, fields[ix["device"]], fields[ix["lane"]], fields[ix["kernel"]], start, end,
                             fields[ix["run_id"]], fields[ix["source"]]))
        except (csv.Error, UnicodeDecodeError) as e:
            raise ReportError(str(path), f"not a readable CSV: {one_line(e)}") from None
    return comments, rows


def merge_spans(spans, tol):
    """Sorted (start, end) spans with those less than tol apart joined, as (start, width), each at
    least tol wide: bars closer than a pixel look the same joined, and 100k records draw in
    seconds (a hatched bar costs Agg far more than a plain one)."""
    spans.sort()
    out = []
    for s0, s1 in spans:
        if out and s0 <= out[-1][1] + tol:
            if s1 > out[-1][1]:
                out[-1][1] = s1
        else:
            out.append([s0, s1])
    return [(s0, max(s1 - s0, tol)) for s0, s1 in out]


def run_gantt(trace, out, from_ms=None, to_ms=None):
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ReportError(str(out), "--out: expected a .png file (the SVG goes beside it)")
    if from_ms is not None and to_ms is not None and to_ms <= from_ms:
        raise ReportError("--to-ms", f"{to_ms:g} is not after --from-ms {from_ms:g}")
    comments, rows = read_trace(trace)
    lo = (from_ms or 0.0) * 1000.0
    hi = to_ms * 1000.0 if to_ms is not None else math.inf
    devices, run_ids, sources = [], [], []
    spans = {}  # (device, lane) -> {"op": [...], "sparse": [...], "transfer": [...], "launch": [...]}, in ms
    drawn = 0
    t_max = lo
    for rec, device, lane, kernel, start, end, run_id, source in rows:
        if run_id not in run_ids:
            run_ids.append(run_id)
        if source not in sources:
            sources.append(source)
        if rec not in ("op", "transfer", "launch") or not lane:
            continue  # reorder and idle records are not drawn
        if end < lo or start > hi:
            continue
        s0, s1 = max(start, lo) / 1000.0, min(end, hi) / 1000.0
        t_max = max(t_max, s1 * 1000.0)
        key = (device, lane)
        cats = spans.get(key)
        if cats is None:
            cats = spans[key] = {"op": [], "sparse": [], "transfer": [], "launch": []}
            if device not in devices:
                devices.append(device)
        cats[rec].append((s0, s1))
        if rec == "op" and kernel == "sparse":
            cats["sparse"].append((s0, s1))
        drawn += 1
    if not drawn:
        window = f"[{from_ms or 0:g}, {to_ms:g}] ms" if to_ms is not None else f"from {from_ms or 0:g} ms on"
        raise ReportError(str(trace), f"no op, transfer or launch record in {window}")
    order = sorted(spans, key=lambda k: (natural_key(k[0]), natural_key(k[1])))
    devices.sort(key=natural_key)
    x_lo = lo / 1000.0
    x_hi = (hi if math.isfinite(hi) else t_max) / 1000.0
    if x_hi <= x_lo:
        x_hi = x_lo + 1e-3
    tol = (x_hi - x_lo) / 4000.0  # about a quarter of a pixel across the PNG
    plt = import_pyplot()
    from matplotlib.patches import Patch
    dev_palette = ["tab:blue", "tab:orange", "tab:green", "tab:brown", "tab:pink", "tab:olive", "tab:cyan",
                   "tab:gray"]
    dev_colour = {d: dev_palette[i % len(dev_palette)] for i, d in enumerate(devices)}
    other = {"transfer": "tab:purple", "launch": "tab:red"}
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.45 * len(order)), layout="constrained")
    seen = set()
    for y, key in enumerate(order):
        cats = spans[key]
        for cat, (y0, h) in (("op", (y - 0.38, 0.76)), ("sparse", (y - 0.38, 0.76)),
                             ("transfer", (y - 0.42, 0.16)), ("launch", (y + 0.26, 0.16))):
            if not cats[cat]:
                continue
            bars = merge_spans(cats[cat], tol)
            seen.add(cat)
            if cat == "op":
                ax.broken_barh(bars, (y0, h), facecolors=dev_colour[key[0]], linewidth=0)
            elif cat == "sparse":
                ax.broken_barh(bars, (y0, h), facecolors="none", edgecolor="black", linewidth=0, hatch="////")
            else:
                ax.broken_barh(bars, (y0, h), facecolors=other[cat], linewidth=0)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([f"{d}/{l}" for d, l in order])
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(x_lo, x_hi)
    ax.set_xlabel("time (ms)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ids = ", ".join(run_ids[:3]) + (f" (+{len(run_ids) - 3} more)" if len(run_ids) > 3 else "")
    title = f"{ids} (source: {', '.join(sources)})"
    if comments.get("power_mode"):
        title += f", power mode {comments['power_mode']}"
    ax.set_title(title)
    handles = [Patch(facecolor=dev_colour[d], label=d) for d in devices]
    if "sparse" in seen:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="////", label="sparse kernel"))
    for k in ("transfer", "launch"):
        if k in seen:
            handles.append(Patch(facecolor=other[k], label=k))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    try:
        save_figure(fig, out, out.with_suffix(".svg"))
    finally:
        plt.close(fig)
    return out


# ---------------------------------------------------------------------------------------------
# Command line (parsed by hand: every mistake is one line and exit status 1)

USAGE = ("usage: report.py sweep DIR [--out OUTDIR] | "
         "report.py gantt TRACE.csv --out FILE.png [--from-ms A] [--to-ms B]")


def parse_args(argv):
    if not argv or argv[0] not in ("sweep", "gantt"):
        raise ReportError("report", USAGE)
    mode, rest = argv[0], argv[1:]
    allowed = ("--out",) if mode == "sweep" else ("--out", "--from-ms", "--to-ms")
    positional, options = [], {}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if name == "-o":
                name = "--out"
            if name not in allowed:
                raise ReportError(f"report {mode}", f"unknown option {name} ({USAGE})")
            if not eq:
                if i + 1 >= len(rest):
                    raise ReportError(f"report {mode}", f"{name} needs a value")
                value = rest[i + 1]
                i += 1
            options[name] = value
        elif a == "-o":
            if i + 1 >= len(rest):
                raise ReportError(f"report {mode}", "-o needs a value")
            options["--out"] = rest[i + 1]
            i += 1
        else:
            positional.append(a)
        i += 1
    if len(positional) != 1:
        raise ReportError(f"report {mode}", USAGE)
    for k in ("--from-ms", "--to-ms"):
        if k in options:
            try:
                options[k] = float(options[k])
            except ValueError:
                raise ReportError(k, f"expected a number of milliseconds, not '{options[k]}'") from None
            if not math.isfinite(options[k]) or options[k] < 0:
                raise ReportError(k, "expected a non-negative number of milliseconds")
    if mode == "gantt" and "--out" not in options:
        raise ReportError("report gantt", "--out FILE.png is required")
    return mode, positional[0], options


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        mode, target, options = parse_args(argv)
        if mode == "sweep":
            run_sweep(target, options.get("--out"))
        else:
            run_gantt(target, options["--out"], options.get("--from-ms"), options.get("--to-ms"))
    except ReportError as e:
        sys.stderr.write(f"sparoa: error: {one_line(e.where)}: {one_line(e.what)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
