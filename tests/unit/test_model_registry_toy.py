"""A toy model package for the registry tests (no tests here).

``write_toy_catalogue(root)`` writes ``root/toy_models/toy/`` with a train entry
point following the model contract (``--seed --out --quick``, plus ``--data`` for
data from the log and ``--noise``): least squares on seeded data, exported as a
real ONNX graph (onnx.helper), held-out MSE as the promotion metric (lower is
better), and a shipped ``toy-v1`` with a deliberately poor metric.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from models.catalogue import Catalogue

TRAIN = r'''
"""Toy model: least squares, exported to ONNX."""
import argparse
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
from rich.progress import Progress

LOG_DATASET = "frames"
FEATURES = ("sky_level", "fwhm_arcsec", "n_sources")


def onnx_bytes(w, b):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "toy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, len(w)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(np.asarray(w, np.float32).reshape(-1, 1), "w"),
         numpy_helper.from_array(np.asarray([b], np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data", type=Path)
    p.add_argument("--noise", type=float, default=0.1)
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    info = {}
    if a.data is not None:
        with open(a.data / "frames.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        x = np.array([[float(r[k]) for k in FEATURES] for r in rows])
        y = np.array([1.0 if r["label"] == "bad" else 0.0 for r in rows])
        info = {"rows": len(rows), "bad_labels": int(y.sum()),
                "bad_ids": sorted(r["observation_id"] for r in rows if r["label"] == "bad")}
    else:
        n = 60 if a.quick else 400
        x = rng.normal(size=(n, 3))
        y = x @ np.array([1.0, -2.0, 0.5]) + a.noise * rng.normal(size=n)
    order = rng.permutation(len(x))
    test, train = order[: len(x) // 3], order[len(x) // 3:]
    with Progress(transient=True) as progress:
        task = progress.add_task("fitting", total=1)
        design = np.c_[x[train], np.ones(len(train))]
        coef = np.linalg.lstsq(design, y[train], rcond=None)[0]
        progress.advance(task)
    mse = float(np.mean((np.c_[x[test], np.ones(len(test))] @ coef - y[test]) ** 2))
    onnx = onnx_bytes(coef[:-1], coef[-1])
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "toy-v1.onnx").write_bytes(onnx)
    meta = {"name": "toy", "version": "v1", "sha256": hashlib.sha256(onnx).hexdigest(),
            "metrics": {"mse": mse, **info}, "runs_at": RUNS_AT,
            "promotion_metric": {"name": "mse", "value": mse, "higher_is_better": False}}
    (a.out / "toy-v1.json").write_text(json.dumps(meta))
    np.savez(a.out / "toy-v1-check.npz", x=x[:2].astype(np.float32))
    print(f"| metric | value |\n|---|---|\n| mse | {mse:.4f} |")
    return 0
'''


def write_toy_catalogue(root: Path, *, shipped_mse: float = 10.0, runs_at: str = "site-node",
                        package: str = "toy_models") -> Catalogue:
    """Write the toy package under ``root`` and return its catalogue (root on sys.path)."""
    pkg = root / package
    (pkg / "toy").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "toy" / "__init__.py").write_text("")
    (pkg / "toy" / "train.py").write_text(f"RUNS_AT = {runs_at!r}\n" + TRAIN)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    from importlib import import_module, invalidate_caches

    invalidate_caches()
    train = import_module(f"{package}.toy.train")
    onnx = train.onnx_bytes([0.0, 0.0, 0.0], 0.0)
    (pkg / "toy" / "toy-v1.onnx").write_bytes(onnx)
    meta = {"name": "toy", "version": "v1", "sha256": hashlib.sha256(onnx).hexdigest(),
            "metrics": {"mse": shipped_mse}, "runs_at": runs_at,
            "promotion_metric": {"name": "mse", "value": shipped_mse, "higher_is_better": False}}
    (pkg / "toy" / "toy-v1.json").write_text(json.dumps(meta))
    return Catalogue(pkg, package)
