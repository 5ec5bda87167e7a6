#!/usr/bin/python3
"""Generate the ONNX backend node test suite (onnx 1.12, Debian's python3-onnx) offline.

Usage: /usr/bin/python3 scripts/conformance/generate.py OUT_DIR

Writes OUT_DIR/node/<case>/model.onnx + test_data_set_0/{input,output}_<i>.pb (onnx's own
`backend-test-tools generate-data` layout), OUT_DIR/cases.tsv (one line per case for the C++
test) and OUT_DIR/manifest.json (written last). Everything is built in a temporary sibling
folder and renamed into place at the end, so OUT_DIR is either absent or complete.

Run it under Debian's /usr/bin/python3: python3-onnx installs there, and a pyenv python3 that
comes first on PATH lacks it.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from typing import NoReturn

# numpy 1.24 removed the aliases of builtin types that onnx 1.12's generators still use
# (bernoulli.py: np.float, castlike.py: np.object). Put back only those that are missing, as
# the builtins they always stood for, so the generators run unchanged on any numpy.
_NUMPY_ALIASES = {
    "bool": bool, "int": int, "float": float, "complex": complex,
    "object": object, "str": str, "long": int, "unicode": str,
}

# Written into manifest.json; bump when the layout of the output changes.
SCHEMA_VERSION = 1

# onnx generates each case at its operator's since_version, so some operators (e.g.
# GlobalAveragePool, since opset 1) have no case inside the opsets we import (11-17, see
# DESIGN.md Formats). For every case below this opset we also write '<case>_opset11': the same
# model raised to opset 11 by onnx's own version converter, with the same test data.
CONVERT_BELOW_OPSET = 11
CONVERT_TO_OPSET = 11


def fail(message: str) -> NoReturn:
    print(f"generate.py: {message}", file=sys.stderr)
    sys.exit(1)


def install_numpy_shim(np) -> list:
    installed = []
    for name, builtin in _NUMPY_ALIASES.items():
        # np.__dict__, not hasattr: numpy 1.24's module __getattr__ raises for removed
        # aliases, and older numpy may still define some of them as the same builtins.
        if name not in np.__dict__:
            setattr(np, name, builtin)
            installed.append(name)
    return installed


def import_onnx():
    try:
        import numpy as np
        import onnx
        import onnx.checker
        from onnx.backend.test import cmd_tools
    except ImportError as e:
        fail(f"cannot import onnx ({e}): run under /usr/bin/python3 with python3-onnx "
             f"installed (apt-get install python3-onnx), not {sys.executable}")
    return np, onnx, cmd_tools


def opset_of(model, domain: str) -> int:
    for opset in model.opset_import:
        if opset.domain == domain or (domain == "" and opset.domain == "ai.onnx"):
            return opset.version
    return 0


def op_types_of(graph, out: set) -> None:
    """Every operator of the graph and its subgraphs (If/Loop/Scan bodies); operators of a
    domain other than the default one are written as 'domain:OpType' so that they never
    match a default-domain name."""
    for node in graph.node:
        domain = node.domain
        if domain in ("", "ai.onnx"):
            out.add(node.op_type)
        else:
            out.add(f"{domain}:{node.op_type}")
        for attr in node.attribute:
            if attr.HasField("g"):
                op_types_of(attr.g, out)
            for g in attr.graphs:
                op_types_of(g, out)


def describe_case(onnx, case_dir: str) -> dict:
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    ops = set()
    op_types_of(model.graph, ops)
    try:
        onnx.checker.check_model(model)
        checker = "ok"
    except Exception as e:  # the checker's own exception types vary between versions
        checker = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    data_sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    return {
        "op_types": sorted(ops),
        "opset": opset_of(model, ""),
        "opset_imports": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "checker": checker,
        "data_sets": len(data_sets),
    }


def generate(np, onnx, cmd_tools, work: str) -> dict:
    # onnx's own writer: runs every export_* of onnx/backend/test/case/{node,model} (they
    # seed numpy with 0 before each) and writes <kind>/<case>/. Only the node kind is kept:
    # the model kind is a handful of extras or (kind 'real') URLs to download.
    try:
        cmd_tools.generate_data(argparse.Namespace(output=work, op_type=None))
    except Exception:
        frame = traceback.extract_tb(sys.exc_info()[2])[-1]
        fail(f"onnx's generator failed in {frame.filename}:{frame.lineno}: "
             f"{sys.exc_info()[1]!r} (a numpy alias missing from the shim?)")
    for kind in os.listdir(work):
        if kind != "node":
            shutil.rmtree(os.path.join(work, kind))
    node_dir = os.path.join(work, "node")
    cases = {}
    for name in sorted(os.listdir(node_dir)):
        cases[name] = describe_case(onnx, os.path.join(node_dir, name))
    conversion_failures = {}
    for name, case in list(cases.items()):
        if not 1 <= case["opset"] < CONVERT_BELOW_OPSET:
            continue
        derived = f"{name}_opset{CONVERT_TO_OPSET}"
        error = convert_case(onnx, os.path.join(node_dir, name), os.path.join(node_dir, derived))
        if error:
            conversion_failures[name] = error
            continue
        cases[derived] = describe_case(onnx, os.path.join(node_dir, derived))
        cases[derived]["derived_from"] = name
    return dict(sorted(cases.items())), conversion_failures


def convert_case(onnx, src: str, dst: str) -> str:
    """Writes the case at src raised to CONVERT_TO_OPSET into dst; returns '' or the error."""
    import onnx.version_converter
    try:
        model = onnx.version_converter.convert_version(
            onnx.load(os.path.join(src, "model.onnx")), CONVERT_TO_OPSET)
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # converter and checker raise several types
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    shutil.copytree(src, dst)
    onnx.save(model, os.path.join(dst, "model.onnx"))
    return ""


def write_tsv(path: str, cases: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("# case\topset\top_types (comma-separated)\n")
        for name, c in cases.items():
            f.write(f"{name}\t{c['opset']}\t{','.join(c['op_types'])}\n")


def move_into_place(work: str, out_dir: str) -> None:
    old = None
    if os.path.lexists(out_dir):
        old = f"{out_dir}.old-{os.getpid()}"
        os.rename(out_dir, old)
    try:
        os.rename(work, out_dir)
    except OSError:
        # Another generator finished first: keep its complete suite, drop ours.
        if os.path.isfile(os.path.join(out_dir, "manifest.json")):
            shutil.rmtree(work)
        else:
            raise
    if old:
        shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder to create (replaced when it exists)")
    args = parser.parse_args()
    out_dir = os.path.abspath(args.out_dir)

    start = time.monotonic()
    np, onnx, cmd_tools = import_onnx()
    shimmed = install_numpy_shim(np)

    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=os.path.basename(out_dir) + ".tmp-", dir=parent)
    try:
        cases, conversion_failures = generate(np, onnx, cmd_tools, work)
        if not cases:
            fail("onnx's generator produced no node test cases")
        write_tsv(os.path.join(work, "cases.tsv"), cases)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "generator": "scripts/conformance/generate.py",
            "onnx_version": onnx.__version__,
            "numpy_version": np.__version__,
            "python": f"{sys.executable} {platform.python_version()}",
            "numpy_aliases_shimmed": shimmed,
            "case_count": len(cases),
            "converted_to_opset": CONVERT_TO_OPSET,
            "conversion_failures": conversion_failures,
            "seconds": round(time.monotonic() - start, 2),
            "cases": cases,
        }
        # Last: its presence marks a complete suite (the build system's output).
        with open(os.path.join(work, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")
        os.chmod(work, 0o755)  # mkdtemp makes it 0700
        move_into_place(work, out_dir)
    finally:
        if os.path.isdir(work):
            shutil.rmtree(work, ignore_errors=True)
    derived = sum(1 for c in cases.values() if "derived_from" in c)
    print(f"generate.py: {len(cases) - derived} node test cases + {derived} raised to opset "
          f"{CONVERT_TO_OPSET} ({len(conversion_failures)} could not be); onnx "
          f"{onnx.__version__}, numpy {np.__version__}, numpy aliases shimmed: "
          f"{','.join(shimmed) or 'none'}; {time.monotonic() - start:.1f} s -> {out_dir}")


if __name__ == "__main__":
    main()
