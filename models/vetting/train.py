"""Train, calibrate, export and evaluate the real/bogus vetting CNN.

``python -m models.vetting.train [--seed 0] [--out models/vetting] [--epochs 6] [--members 2]
[--views 1] [--quick]``

1. Renders the candidates (:mod:`models.vetting.dataset`; cached in ``--cache``).
2. Trains :class:`~models.vetting.model.VettingNet` (CPU, seeded, deterministic,
   each cutout through one of its 8 flips/rotations as augmentation, binary
   cross-entropy) on the candidates whose label the data support
   (:meth:`~models.vetting.dataset.Dataset.honest`: a real one's injected source
   alone reaches S/N 5), keeping the epoch with the lowest validation loss.
3. Calibrates: a temperature and a bias (Platt scaling) on the validation nights
   (minimum NLL), and the threshold there at equal false-negative and false-positive
   rates.
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
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.vetting.dataset import (
    FRAME_SHAPE,
    HELD_OUT_SITE,
    MIN_INJECTED_SNR,
    NIGHTS,
    TRAIN_SITES,
    Dataset,
    build,
)
from site_node.edge.transients import CUTOUT, FEATURE_NAMES

__all__ = ["DEFAULT_FIELDS", "QUICK_FIELDS", "load_splits", "main", "train_model"]

DEFAULT_FIELDS = {"train": 360, "val": 80, "test": 150}
QUICK_FIELDS = {"train": 2, "val": 1, "test": 1}
COARSE_FIELDS = 120
COARSE_SHAPE = (640, 640)
"""More training fields in 640x640 frames (the same field of view in coarser pixels:
1.9-2.7 arcsec, undersampled stars like a wide-field site's), from field index 1000."""
COARSE_OFFSET = 1000
QUICK_SHAPE = (384, 384)
VIEW_OPS = (0, 3, 5, 6, 1, 2, 4, 7)
"""Flips/rotations (:func:`~models.vetting.model.augment`) scored at the node, the
rotations first: identity, 180, 90 and 270 degrees, then the mirrored ones."""
METADATA_KEY = "openastro"
OPSET = 17


def load_splits(seed: int, fields: dict[str, int], *, cache: Path | None,
                workers: int | None = None, shape: tuple[int, int] = FRAME_SHAPE,
                coarse: int = 0) -> tuple[Dataset, Dataset, Dataset]:
    """The train, val and test candidates (rendered with a progress bar, or from the cache);
    ``coarse`` more training fields at :data:`COARSE_SHAPE` join the training split."""
    from rich.progress import Progress

    jobs = [("train", fields["train"], shape, 0), ("val", fields["val"], shape, 0),
            ("test", fields["test"], shape, 0)]
    if coarse:
        jobs.append(("train", coarse, COARSE_SHAPE, COARSE_OFFSET))
    out = []
    with Progress(transient=True) as bar:
        for split, n, size, offset in jobs:
            task = bar.add_task(f"rendering {split} fields ({size[0]}x{size[1]})", total=n)
            out.append(build(seed, split, n, workers=workers, cache=cache, shape=size,
                             offset=offset,
                             progress=lambda k, _n, t=task: bar.update(t, completed=k)))
    train = Dataset.concat([out[0], out[3]]) if coarse else out[0]
    return train, out[1], out[2]


def train_model(train: Dataset, val: Dataset, *, seed: int, epochs: int,
                batch: int = 256, lr: float = 2e-3, threads: int = 1,
                width: int = 16) -> tuple[Any, list]:
    """Train the CNN; returns the model (best validation epoch) and per-epoch losses."""
    import torch
    from rich.progress import Progress

    from models.vetting.model import VettingNet, augment_each

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
                ops = torch.randint(0, 8, (len(idx),), generator=gen)
                logits = model.logits(augment_each(xs[idx], ops), xf[idx])
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


def _train_member(job: tuple[Dataset, Dataset, int, int, int, int]) -> tuple[dict, list]:
    train, val, seed, epochs, threads, width = job
    model, history = train_model(train, val, seed=seed, epochs=epochs, threads=threads,
                                 width=width)
    return model.state_dict(), history


_CACHED_NETWORKS = [0]
"""How many networks the last :func:`train_members` call took from its cache."""


def train_members(train: Dataset, val: Dataset, *, seed: int, count: int, epochs: int,
                  threads: int = 1, width: int = 16, jobs: int = 1,
                  cache: Path | None = None) -> tuple[list, list]:
    """``count`` networks (seeds ``seed``, ``seed + 1``, ...), ``jobs`` at a time in
    worker processes; the same networks whatever ``jobs`` is. With ``cache``, trained
    networks are kept there (keyed by seed, epochs, width and the training set) and reused."""
    from concurrent.futures import ProcessPoolExecutor

    import torch

    from models.vetting.model import VettingNet

    digest = hashlib.sha256(train.label.tobytes() + train.features.tobytes()).hexdigest()[:12]
    paths = [cache / f"vetting-net-s{seed + k}-e{epochs}-w{width}-{digest}.pt" if cache else None
             for k in range(count)]
    results: list = [torch.load(p, weights_only=False) if p is not None and p.is_file() else None
                     for p in paths]
    todo = [k for k, r in enumerate(results) if r is None]
    _CACHED_NETWORKS[:] = [count - len(todo)]
    work = [(train, val, seed + k, epochs, threads, width) for k in todo]
    if jobs <= 1 or len(work) <= 1:
        done = [_train_member(w) for w in work]
    else:
        with ProcessPoolExecutor(min(jobs, len(work))) as pool:
            done = list(pool.map(_train_member, work))
    for k, r in zip(todo, done, strict=True):
        results[k] = r
        if paths[k] is not None:
            paths[k].parent.mkdir(parents=True, exist_ok=True)
            torch.save(r, paths[k])
    mean = train.features.mean(axis=0)
    std = np.maximum(train.features.std(axis=0), 1e-3)
    members = []
    for state, _ in results:
        net = VettingNet(mean, std, width=width)
        net.load_state_dict(state)
        members.append(net.eval())
    return members, [h for _, h in results]


def validation_ablation(members: list, val: Dataset, views: int) -> list[dict[str, Any]]:
    """AUROC and max(FNR, FPR) (at the best threshold for each) on the validation nights of
    the first k members over the first v views: what averaging buys."""
    import torch

    from models.vetting.evaluate import auroc, equal_error_threshold, rates
    from models.vetting.model import augment

    stamps = torch.from_numpy(val.stamps.astype(np.float32))
    feats = torch.from_numpy(val.features)
    with torch.no_grad():
        z = np.array([[m.logits(augment(stamps, op), feats).numpy() for op in VIEW_OPS[:views]]
                      for m in members])
    out = []
    for k in range(1, len(members) + 1):
        for v in sorted({1, views}):
            p = 1.0 / (1.0 + np.exp(-z[:k, :v].mean(axis=(0, 1))))
            th = equal_error_threshold(p, val.label)
            out.append({"members": k, "views": v, "auroc": auroc(p, val.label),
                        "max_fnr_fpr": rates(p, val.label, th)["max_fnr_fpr"]})
    return out


def fit_calibration(model: Any, val: Dataset) -> tuple[float, float]:
    """The temperature and bias (``p = sigmoid(z / T + b)``) minimising the validation NLL."""
    import torch
    from scipy.optimize import minimize

    with torch.no_grad():
        z = model.logits(torch.from_numpy(val.stamps.astype(np.float32)),
                         torch.from_numpy(val.features)).double().numpy()
    y = val.label.astype(np.float64)

    def nll(v: np.ndarray) -> float:
        s = z * math.exp(-v[0]) + v[1]
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    best = minimize(nll, np.zeros(2), method="Nelder-Mead",
                    options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 2000})
    return float(math.exp(best.x[0])), float(best.x[1])


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
    from models.vetting.model import VettingEnsemble
    from site_node.edge.vetting import VettingModel

    ap = argparse.ArgumentParser(prog="python -m models.vetting.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--version", default="v2")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--cache", default="/tmp/vetting-cache",
                    help="keep rendered candidates here ('' to disable)")
    ap.add_argument("--workers", type=int, default=None, help="rendering processes")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--width", type=int, default=16, help="channels of the first convolutions")
    ap.add_argument("--members", type=int, default=2,
                    help="networks averaged (seeds seed, seed+1, ...)")
    ap.add_argument("--views", type=int, default=1, choices=(1, 2, 4, 8),
                    help="flips/rotations of the cutouts each network scores")
    ap.add_argument("--jobs", type=int, default=2, help="networks trained at once (processes)")
    ap.add_argument("--coarse", type=int, default=COARSE_FIELDS,
                    help="more training fields in coarser pixels (COARSE_SHAPE)")
    ap.add_argument("--quick", action="store_true",
                    help="toy run: 4 small fields, 2 epochs (seconds; for tests)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    fields = QUICK_FIELDS if args.quick else DEFAULT_FIELDS
    shape = QUICK_SHAPE if args.quick else FRAME_SHAPE
    epochs = 2 if args.quick else args.epochs
    cache = Path(args.cache) if args.cache else None
    coarse = 0 if args.quick else args.coarse
    full_train, full_val, full_test = load_splits(
        args.seed, fields, cache=cache, workers=1 if args.quick else args.workers, shape=shape,
        coarse=coarse)
    train, val, test = full_train.honest(), full_val.honest(), full_test.honest()
    for name, d in (("train", train), ("val", val), ("test", test)):
        if not (d.label == 1).any() or not (d.label == 0).any():
            print(f"error: the {name} split has no real or no bogus candidate; more fields")
            return 1
    t_data = time.perf_counter() - t0
    count, views = (2, 2) if args.quick else (args.members, args.views)
    members, histories = train_members(train, val, seed=args.seed, count=count,
                                       epochs=epochs, threads=args.threads, width=args.width,
                                       jobs=1 if args.quick else args.jobs, cache=cache)
    model = VettingEnsemble(members, ops=VIEW_OPS[:views]).eval()
    history = histories[0]
    t_train = time.perf_counter() - t0 - t_data
    temperature, bias = fit_calibration(model, val)
    model.temperature.fill_(temperature)
    model.bias.fill_(bias)
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
        "threshold": threshold, "temperature": temperature, "bias": bias,
        "positives": (f"injected sources whose own S/N in the difference is >= "
                      f"{MIN_INJECTED_SNR:g}; fainter matches are ambiguous and left out"),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "architecture": {"width": args.width, "cutout": CUTOUT, "members": len(members),
                         "views": views},
        "validation_ablation": validation_ablation(members, val, views),
        "training": {"seed": args.seed, "fields": fields, "shape": list(shape),
                     "coarse_fields": coarse, "coarse_shape": list(COARSE_SHAPE),
                     "epochs": epochs,
                     "best_epoch": [int(min(h, key=lambda e: e[2])[0]) for h in histories],
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
    p_all = served.score(full_test.stamps.astype(np.float32), full_test.features)
    rf = random_forest(train, args.seed)
    rf_threshold = equal_error_threshold(rf.predict_proba(val.features)[:, 1], val.label)
    metrics = evaluate_scores(p_all, full_test, threshold,
                              rf.predict_proba(full_test.features)[:, 1], rf_threshold)
    p = p_all[~full_test.ambiguous]
    metrics["onnx_vs_torch_max_abs"] = check
    metrics["previous"] = _previous_model(args.out, name, full_test)
    metrics["val"] = {"threshold_rates": _rates(p_val, val.label, threshold)}
    metadata.update(sha256=sha, onnx_file=f"{name}.onnx", metrics=metrics,
                    promotion_metric={"name": "max_fnr_fpr_at_threshold",
                                      "value": metrics["model"]["max_fnr_fpr"],
                                      "higher_is_better": False})
    metadata["training"]["seconds"] = {"data": round(t_data, 1), "train": round(t_train, 1)}
    metadata["training"]["networks_from_cache"] = _CACHED_NETWORKS[0]
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


def _previous_model(directory: Path, name: str, full_test: Dataset) -> dict[str, Any] | None:
    """The highest earlier version in ``directory`` (if any), on the same test candidates."""
    import re

    from models.vetting.evaluate import calibration, rates
    from site_node.edge.vetting import VettingModel, VettingModelRejected

    def number(stem: str) -> int:
        m = re.search(r"-v(\d+)$", stem)
        return int(m.group(1)) if m else -1

    older = [p for p in Path(directory).glob("vetting-v*.onnx")
             if 0 <= number(p.stem) < number(name)] if Path(directory).is_dir() else []
    if not older:
        return None
    path = max(older, key=lambda p: number(p.stem))
    try:
        old = VettingModel.from_files(path)
    except VettingModelRejected:
        return None
    p = old.score(full_test.stamps.astype(np.float32), full_test.features)
    keep = ~full_test.ambiguous
    return {"model": old.model_id, "threshold": old.threshold,
            **rates(p[keep], full_test.label[keep], old.threshold),
            "ece": calibration(p[keep], full_test.label[keep])["ece"],
            "all_candidates": rates(p, full_test.label, old.threshold)}


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
