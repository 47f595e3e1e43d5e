"""Train, calibrate, export and evaluate the real/bogus vetting CNN.

``python -m models.vetting.train [--seed 0] [--out models/vetting] [--epochs 16] [--quick]``

1. Renders the candidates (:mod:`models.vetting.dataset`; cached in ``--cache``).
2. Trains :class:`~models.vetting.model.VettingNet` (CPU, seeded, deterministic,
   the 8 flips/rotations of the cutouts as augmentation, binary cross-entropy),
   keeping the epoch with the lowest validation loss.
3. Calibrates: one temperature on the validation nights (minimum NLL), and
   the threshold there at equal false-negative and false-positive rates.
4. Exports ONNX (metadata embedded), checks onnxruntime against PyTorch.
5. Evaluates on held-out nights and a held-out site against the hand cuts and a
   random forest (:mod:`models.vetting.evaluate`), writes ``vetting-vN.onnx``,
   ``.json``, ``-check.npz``, ``-reliability.png`` and ``card.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.vetting.dataset import FRAME_SHAPE, HELD_OUT_SITE, NIGHTS, TRAIN_SITES, Dataset, build
from site_node.edge.transients import CUTOUT, FEATURE_NAMES

__all__ = ["DEFAULT_FIELDS", "QUICK_FIELDS", "load_splits", "main", "train_model"]

DEFAULT_FIELDS = {"train": 240, "val": 60, "test": 150}
QUICK_FIELDS = {"train": 2, "val": 1, "test": 1}
QUICK_SHAPE = (384, 384)
METADATA_KEY = "openastro"
OPSET = 17


def load_splits(seed: int, fields: dict[str, int], *, cache: Path | None,
                workers: int | None = None,
                shape: tuple[int, int] = FRAME_SHAPE) -> tuple[Dataset, Dataset, Dataset]:
    """The train, val and test candidates (rendered with a progress bar, or from the cache)."""
    from rich.progress import Progress

    out = []
    with Progress(transient=True) as bar:
        for split in ("train", "val", "test"):
            task = bar.add_task(f"rendering {split} fields", total=fields[split])
            out.append(build(seed, split, fields[split], workers=workers, cache=cache,
                             shape=shape,
                             progress=lambda k, _n, t=task: bar.update(t, completed=k)))
    return out[0], out[1], out[2]


def train_model(train: Dataset, val: Dataset, *, seed: int, epochs: int,
                batch: int = 256, lr: float = 2e-3, threads: int = 1,
                width: int = 16) -> tuple[Any, list]:
    """Train the CNN; returns the model (best validation epoch) and per-epoch losses."""
    import torch
    from rich.progress import Progress

    from models.vetting.model import VettingNet, augment

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    mean = train.features.mean(axis=0)
    std = np.maximum(train.features.std(axis=0), 1e-3)
    model = VettingNet(mean, std, width=width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, epochs * -(-len(train) // batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    xs = torch.from_numpy(train.stamps.astype(np.float32))
    xf = torch.from_numpy(train.features)
    y = torch.from_numpy(train.label.astype(np.float32))
    vs = torch.from_numpy(val.stamps.astype(np.float32))
    vf = torch.from_numpy(val.features)
    vy = torch.from_numpy(val.label.astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    best, best_state, history = float("inf"), None, []
    with Progress(transient=True) as bar:
        task = bar.add_task("training", total=epochs)
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(train), generator=gen)
            total = 0.0
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                op = int(torch.randint(0, 8, (1,), generator=gen))
                logits = model.logits(augment(xs[idx], op), xf[idx])
                loss = loss_fn(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            model.eval()
            with torch.no_grad():
                v_loss = float(loss_fn(model.logits(vs, vf), vy))
            history.append((epoch + 1, total / len(train), v_loss))
            if v_loss < best:
                best = v_loss
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            bar.update(task, advance=1,
                       description=f"training (val loss {v_loss:.4f}, best {best:.4f})")
            bar.console.log(f"epoch {epoch + 1}/{epochs}: train loss {total / len(train):.4f}, "
                            f"val loss {v_loss:.4f}")
    model.load_state_dict(best_state)
    model.eval()
    return model, history


def fit_temperature(model: Any, val: Dataset) -> float:
    """The temperature minimising the validation NLL (grid in log space, then refined)."""
    import torch

    with torch.no_grad():
        z = model.logits(torch.from_numpy(val.stamps.astype(np.float32)),
                         torch.from_numpy(val.features)).double().numpy()
    y = val.label.astype(np.float64)

    def nll(t: float) -> float:
        s = z / t
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 161))
    t = float(grid[np.argmin([nll(g) for g in grid])])
    fine = t * np.exp(np.linspace(-0.02, 0.02, 41))
    return float(fine[np.argmin([nll(g) for g in fine])])


def export_onnx(model: Any, metadata: dict[str, Any]) -> bytes:
    """The calibrated model as ONNX (inputs ``stamps``, ``features``; output ``real_bogus``)."""
    import torch

    from models.onnx_metadata import sealed_onnx

    buffer = io.BytesIO()
    dummy = (torch.zeros((2, 3, CUTOUT, CUTOUT)), torch.zeros((2, len(FEATURE_NAMES))))
    torch.onnx.export(model.eval(), dummy, buffer, input_names=["stamps", "features"],
                      output_names=["real_bogus"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"stamps": {0: "batch"}, "features": {0: "batch"},
                                    "real_bogus": {0: "batch"}})
    return sealed_onnx(buffer.getvalue(), metadata, METADATA_KEY)


def check_onnx(onnx_bytes: bytes, model: Any, stamps: np.ndarray, features: np.ndarray,
               tolerance: float = 1e-4) -> float:
    """Max absolute difference between onnxruntime and PyTorch; raises above ``tolerance``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    got = session.run(None, {"stamps": stamps, "features": features})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(stamps), torch.from_numpy(features)).numpy()
    diff = float(np.max(np.abs(got - want))) if len(got) else 0.0
    if not diff < tolerance:
        raise AssertionError(f"ONNX and PyTorch outputs differ by {diff:.2e} (> {tolerance:g})")
    return diff


def main(argv: list[str] | None = None) -> int:
    """Train, calibrate, export and evaluate; writes the model files into ``--out``."""
    import torch

    from models.vetting.card import write_card
    from models.vetting.evaluate import (
        equal_error_threshold,
        evaluate_scores,
        print_table,
        random_forest,
        reliability_png,
    )
    from site_node.edge.vetting import VettingModel

    ap = argparse.ArgumentParser(prog="python -m models.vetting.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--version", default="v1")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--cache", default="/tmp/vetting-cache",
                    help="keep rendered candidates here ('' to disable)")
    ap.add_argument("--workers", type=int, default=None, help="rendering processes")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--width", type=int, default=16, help="channels of the first convolutions")
    ap.add_argument("--quick", action="store_true",
                    help="toy run: 4 small fields, 2 epochs (seconds; for tests)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    fields = QUICK_FIELDS if args.quick else DEFAULT_FIELDS
    shape = QUICK_SHAPE if args.quick else FRAME_SHAPE
    epochs = 2 if args.quick else args.epochs
    cache = Path(args.cache) if args.cache else None
    train, val, test = load_splits(args.seed, fields, cache=cache,
                                   workers=1 if args.quick else args.workers, shape=shape)
    for name, d in (("train", train), ("val", val), ("test", test)):
        if not (d.label == 1).any() or not (d.label == 0).any():
            print(f"error: the {name} split has no real or no bogus candidate; more fields")
            return 1
    t_data = time.perf_counter() - t0
    model, history = train_model(train, val, seed=args.seed, epochs=epochs,
                                 threads=args.threads, width=args.width)
    t_train = time.perf_counter() - t0 - t_data
    temperature = fit_temperature(model, val)
    model.temperature.fill_(temperature)
    with torch.no_grad():
        p_val = model(torch.from_numpy(val.stamps.astype(np.float32)),
                      torch.from_numpy(val.features)).numpy()
    threshold = equal_error_threshold(p_val, val.label)
    name = f"vetting-{args.version}"
    metadata: dict[str, Any] = {
        "name": "vetting", "version": args.version, "kind": "real-bogus-classifier",
        "format": "onnx", "cutout": CUTOUT, "feature_names": list(FEATURE_NAMES),
        "inputs": {"stamps": ["batch", 3, CUTOUT, CUTOUT], "features":
                   ["batch", len(FEATURE_NAMES)]},
        "output": "real_bogus: calibrated probability that the candidate is real",
        "preprocessing": "site_node.edge.transients.search_candidates (cutouts of new, "
                         "aligned reference, difference in difference-noise units, asinh(x/3))",
        "threshold": threshold, "temperature": temperature,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "architecture": {"width": args.width, "cutout": CUTOUT},
        "training": {"seed": args.seed, "fields": fields, "shape": list(shape),
                     "epochs": epochs, "best_epoch": int(min(history, key=lambda h: h[2])[0]),
                     "train_sites": list(TRAIN_SITES), "held_out_site": HELD_OUT_SITE,
                     "nights": {k: [v.start, v.stop - 1] for k, v in NIGHTS.items()},
                     "n_train": len(train), "n_val": len(val), "n_test": len(test),
                     "quick": args.quick},
    }
    onnx_bytes = export_onnx(model, metadata)
    check = check_onnx(onnx_bytes, model, test.stamps[:16].astype(np.float32),
                       test.features[:16])
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    served = VettingModel(onnx_bytes, {**metadata, "sha256": sha})
    p = served.score(test.stamps.astype(np.float32), test.features)
    rf = random_forest(train, args.seed)
    rf_threshold = equal_error_threshold(rf.predict_proba(val.features)[:, 1], val.label)
    metrics = evaluate_scores(p, test, threshold, rf.predict_proba(test.features)[:, 1],
                              rf_threshold)
    metrics["onnx_vs_torch_max_abs"] = check
    metrics["val"] = {"threshold_rates": _rates(p_val, val.label, threshold)}
    metadata.update(sha256=sha, onnx_file=f"{name}.onnx", metrics=metrics,
                    promotion_metric={"name": "max_fnr_fpr_at_threshold",
                                      "value": metrics["model"]["max_fnr_fpr"],
                                      "higher_is_better": False})
    metadata["training"]["seconds"] = {"data": round(t_data, 1), "train": round(t_train, 1)}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.onnx").write_bytes(onnx_bytes)
    (out / f"{name}.json").write_text(json.dumps(_finite(metadata), indent=2, sort_keys=True)
                                      + "\n")
    k = min(8, len(test))
    np.savez_compressed(out / f"{name}-check.npz", stamps=test.stamps[:k].astype(np.float32),
                        features=test.features[:k], real_bogus=p[:k], label=test.label[:k])
    reliability_png(out / f"{name}-reliability.png",
                    {"vetting CNN": {"ece": metrics["model"]["ece"],
                                     "bins": metrics["model"]["reliability"]},
                     "random forest": {"ece": metrics["random_forest"]["ece"],
                                       "bins": metrics["random_forest"]["reliability"]}},
                    f"{name}: held-out nights and sites (n={len(test)})")
    write_card(out / "card.md", metadata, history)
    print_table(metrics, f"{name} (seed {args.seed}) on held-out nights and sites")
    print(f"data {t_data:.0f} s, training {t_train:.0f} s; wrote {out / name}.onnx")
    return 0


def _rates(p: np.ndarray, label: np.ndarray, threshold: float) -> dict[str, float]:
    from models.vetting.evaluate import rates

    return rates(p, label, threshold)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


if __name__ == "__main__":
    raise SystemExit(main())
