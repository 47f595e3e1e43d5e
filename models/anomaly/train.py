"""Train, calibrate, export and evaluate the anomaly autoencoder (anomaly-v3).

``python -m models.anomaly.train [--seed 0] [--frames N] [--epochs E] [--out models/anomaly]``

anomaly-v3 (``--score multiscale``, the default) keeps anomaly-v2's inputs and
network but scores a frame by its multi-scale, signed reconstruction residuals,
calibrated on normal frames only (:mod:`models.anomaly.multiscale`): no anomaly
label is used anywhere, so every kind is held out. ``--score v2`` reproduces
anomaly-v2's score (top fractions and combination chosen on the tuning kinds).

1. Renders frames and the references of their fields (:mod:`models.anomaly.rawframes`;
   ``--cache DIR`` keeps them) and makes the ``oa-thumb-v2`` inputs exactly as the
   site node does (:mod:`site_node.edge.thumbnails`).
2. Trains :class:`~models.anomaly.model.ThumbnailAutoencoder` on normal frames only
   (CPU, seeded, deterministic algorithms); the ``difference`` channel is zeroed in
   30 % of the samples, as at a site with no reference for the field yet.
3. Standardises each part of the score on held-out normal frames of the training
   nights and sets the threshold at ``--far`` false alarms on those normal frames
   (v3); v2 also picks the score's free choices on the *tuning kinds*
   (:data:`TUNE_KINDS`, anomalies of the training nights).
4. Exports ONNX, checks onnxruntime against PyTorch (max abs diff < 1e-4).
5. Evaluates the exported model per kind on frames of unseen nights, with and
   without the field's reference, against the IsolationForest baseline, and
   writes ``NAME.onnx``, ``NAME.json``, ``NAME-check.npz`` and ``card.md``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.anomaly.dataset import STAT_NAMES, TEST_NIGHTS, TRAIN_NIGHTS, default_workers

__all__ = [
    "HELD_OUT_KINDS",
    "TUNE_KINDS",
    "augment",
    "calibrate",
    "main",
    "train_autoencoder",
    "tune_score",
]

TUNE_KINDS = ("satellite", "cosmic_rays", "hot_columns", "dew", "clouds", "defocus",
              "bad_readout", "new_source")
"""Kinds whose validation frames (training nights) choose the score's free parameters."""
HELD_OUT_KINDS = ("aircraft", "tracking", "fog", "frost", "stray_light", "ghost",
                  "pickup_noise")
"""Kinds never used to choose anything; ``ghost`` and ``pickup_noise`` were added to the
simulator after the input channels were designed."""
TOP_FRACTIONS = (0.01, 0.03, 0.1)
"""Candidate top fractions of pixel errors for the dense channels."""
SPARSE_CHANNELS = ("sharp", "lines", "difference")
SPARSE_FRACTIONS = (0.00025, 0.001, 0.01)
"""Candidate top fractions for channels whose anomalies are a few pixels (1, 4, 41 of 4096)."""
COMBINES = ("max", "top2")
TWO_SIDED = ((), ("sharp",))
"""Candidate parts counted in absolute value."""
DIFFERENCE_DROPOUT = 0.3


def augment(x: Any, op: int) -> Any:
    """One of the 8 flips/rotations of a batch ``(B, 3, 64, 64)`` of ``oa-thumb-v1`` inputs.

    The image channels (all but the last) are flipped/transposed as images; in
    the cutout mosaic (the last channel) each 16x16 cutout is transformed in
    place (slots keep their meaning). ``oa-thumb-v2`` inputs are not augmented
    (their profile, line and autocorrelation channels have fixed axes).
    """
    import torch

    frame, mosaic = x[:, :-1], x[:, -1:]
    b, _, size, _ = x.shape
    g = size // 16
    m = mosaic.reshape(b, g, 16, g, 16)
    if op & 4:
        frame = frame.transpose(-1, -2)
        m = m.permute(0, 1, 4, 3, 2)
    if op & 2:
        frame = frame.flip(-2)
        m = m.flip(2)
    if op & 1:
        frame = frame.flip(-1)
        m = m.flip(4)
    return torch.cat([frame, m.reshape(b, 1, size, size)], dim=1)


def train_autoencoder(x_train: np.ndarray, x_val: np.ndarray, *, seed: int, epochs: int,
                      batch: int = 32, lr: float = 2e-3, threads: int = 1,
                      config: dict[str, int] | None = None, flips: bool | None = None,
                      dropout_channel: int | None = None,
                      progress: Any = None) -> tuple[Any, dict[str, float]]:
    """Train the autoencoder; returns the model (eval mode) and the final losses.

    ``flips`` (default: for 3-channel inputs) augments with the 8 flips and
    rotations (:func:`augment`); ``dropout_channel`` is zeroed in
    :data:`DIFFERENCE_DROPOUT` of the samples. ``progress(epoch, epochs, text)``
    is called after every epoch.
    """
    import torch

    from models.anomaly.model import ThumbnailAutoencoder

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    model = ThumbnailAutoencoder(**(config or {"channels": x_train.shape[1],
                                               "size": x_train.shape[-1]}))
    flips = x_train.shape[1] == 3 if flips is None else flips
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x_train) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    data = torch.from_numpy(x_train)
    val = torch.from_numpy(x_val)
    gen = torch.Generator().manual_seed(seed)
    losses = {"train": math.nan, "val": math.nan}
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(data), generator=gen)
        total = 0.0
        for start in range(0, len(data), batch):
            idx = order[start:start + batch]
            xb = data[idx]
            if flips:
                xb = augment(xb, int(torch.randint(8, (1,), generator=gen)))
            if dropout_channel is not None:
                drop = torch.rand(len(idx), generator=gen) < DIFFERENCE_DROPOUT
                xb = xb.clone()
                xb[drop, dropout_channel] = 0.0
            loss = torch.mean((model(xb) - xb) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        with torch.no_grad():
            losses = {"train": total / len(data),
                      "val": float(torch.mean((model(val) - val) ** 2))}
        if progress is not None:
            progress(epoch, epochs, f"loss {losses['train']:.4f} val {losses['val']:.4f}")
    return model, losses


_RUNS: dict[tuple[int, int], tuple[Any, ...]] = {}


def _run(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's reconstruction and latent code of ``x`` (remembered for the same arrays)."""
    import torch

    key = (id(model), id(x))
    hit = _RUNS.get(key)
    if hit is not None and hit[0] is model and hit[1] is x:
        return hit[2], hit[3]
    with torch.no_grad():
        recon, z = model.forward_with_latent(torch.from_numpy(x))
    _RUNS[key] = (model, x, recon.numpy(), z.numpy())
    return _RUNS[key][2], _RUNS[key][3]


def calibrate(model: Any, x_train: np.ndarray, x_norm: np.ndarray, far: float, *,
              top_fraction: float | list[float] = 0.1, combine: str = "max",
              optional_channels: tuple[int, ...] = (),
              two_sided: tuple[int, ...] = ()) -> tuple[dict[str, Any], float]:
    """The score's normalisations and the threshold at ``far`` false alarms on ``x_norm``.

    The latent distribution is a Gaussian fitted to the training codes (covariance
    shrunk 10 % toward its diagonal). Each part (channel errors, latent distance)
    is standardised on a log scale by its median and MAD on ``x_norm``, normal
    frames the model was not trained on (errors on training frames are smaller).
    The threshold is the ``1 - far`` quantile of ``x_norm``'s scores.
    """
    from site_node.edge.anomaly import reconstruction_score, score_components

    _, z = _run(model, x_train)
    z = z.astype(np.float64)
    mean = z.mean(axis=0)
    cov = np.cov(z, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.diag(np.diag(cov)) + 1e-6 * np.eye(len(mean))
    score: dict[str, Any] = {
        "method": "max-log-standardised-parts", "top_fraction": top_fraction,
        "combine": combine, "channel_scale": [1.0] * x_train.shape[1],
        "latent_mean": mean.tolist(), "latent_precision": np.linalg.inv(cov).tolist(),
        "latent_scale": 1.0, "optional_channels": list(optional_channels),
        "two_sided": list(two_sided)}
    recon, zn = _run(model, x_norm)
    logs = np.log(np.maximum(score_components(x_norm, recon, score, zn), 1e-12))
    present = np.ones_like(logs, bool)
    for ch in optional_channels:
        present[:, ch] = np.any(x_norm[:, ch].reshape(len(x_norm), -1) != 0, axis=1)
    median = np.array([np.median(logs[present[:, j], j]) if present[:, j].any() else 0.0
                       for j in range(logs.shape[1])])
    mad = np.array([1.4826 * np.median(np.abs(logs[present[:, j], j] - median[j]))
                    if present[:, j].any() else 1.0 for j in range(logs.shape[1])])
    score["log_median"] = [float(v) for v in median]
    score["log_mad"] = [float(max(v, 1e-6)) for v in mad]
    scores = reconstruction_score(x_norm, recon, score, zn)
    return score, float(np.quantile(scores, 1.0 - far, method="higher"))


def tune_score(model: Any, x_train: np.ndarray, x_norm: np.ndarray, x_tune: np.ndarray,
               kinds_tune: np.ndarray, far: float, *, optional_channels: tuple[int, ...] = (),
               channels: tuple[str, ...] | None = None,
               ) -> tuple[dict[str, Any], float, list[dict[str, Any]]]:
    """Choose the score's top fractions, two-sided parts and combination on tuning anomalies.

    Every candidate is calibrated on ``x_norm``; the one with the highest
    smallest per-kind AUROC (then mean AUROC) of ``x_tune`` against ``x_norm``
    wins. Returns its score, threshold and the table of candidates.
    """
    from models.anomaly.evaluate import auroc
    from site_node.edge.anomaly import reconstruction_score

    recon_n, z_n = _run(model, x_norm)
    recon_t, z_t = _run(model, x_tune)
    best: tuple[Any, ...] | None = None
    table = []
    n_ch = x_norm.shape[1]
    sparse = [ch for ch, name in enumerate(channels or ()) if name in SPARSE_CHANNELS]
    for top in TOP_FRACTIONS:
        for top_sparse in (SPARSE_FRACTIONS if sparse else (None,)):
            fractions: float | list[float] = top
            if top_sparse is not None:
                fractions = [top_sparse if ch in sparse else top for ch in range(n_ch)]
            for sided in TWO_SIDED:
                two = tuple(channels.index(n) for n in sided if channels and n in channels)
                if sided and not two:
                    continue
                for how in COMBINES:
                    score, thr = calibrate(model, x_train, x_norm, far, top_fraction=fractions,
                                           combine=how, optional_channels=optional_channels,
                                           two_sided=two)
                    s_n = reconstruction_score(x_norm, recon_n, score, z_n)
                    s_t = reconstruction_score(x_tune, recon_t, score, z_t)
                    per = {k: auroc(s_n, s_t[kinds_tune == k]) for k in sorted(set(kinds_tune))}
                    row = {"top_fraction": top, "top_fraction_sparse": top_sparse,
                           "two_sided": list(sided), "combine": how,
                           "min_auroc": min(per.values()),
                           "mean_auroc": float(np.mean(list(per.values()))), "per_kind": per}
                    table.append(row)
                    key = (row["min_auroc"], row["mean_auroc"])
                    if best is None or key > best[0]:
                        best = (key, score, thr)
    assert best is not None
    return best[1], best[2], table


def _quick_args(args: argparse.Namespace) -> None:
    args.frames, args.val, args.test, args.per_kind, args.tune_per_kind = 6, 6, 6, 2, 2
    args.epochs, args.shape, args.kinds = 2, 128, ("satellite", "ghost")


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.train",
                                description="Train the anomaly autoencoder on simulated frames.")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--frames", type=int, default=300, help="normal training frames")
    p.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    p.add_argument("--out", type=Path, default=here, help=f"output directory (default {here})")
    p.add_argument("--name", default="anomaly-v3", help="model name (default anomaly-v3)")
    p.add_argument("--score", choices=("multiscale", "v2"), default="multiscale",
                   help="multiscale residuals fitted on normal frames only (v3, default) or "
                        "anomaly-v2's score tuned on the tuning kinds")
    p.add_argument("--val", type=int, default=200,
                   help="normal frames of the training nights (standardisation, threshold)")
    p.add_argument("--test", type=int, default=150, help="normal test frames")
    p.add_argument("--per-kind", type=int, default=20, help="test frames per anomaly kind")
    p.add_argument("--tune-per-kind", type=int, default=6,
                   help="validation frames per tuning kind")
    p.add_argument("--shape", type=int, default=256, help="frame side in pixels (default 256)")
    p.add_argument("--far", type=float, default=0.01, help="false-alarm rate (default 0.01)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="processes rendering frames")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--cache", type=Path, default=None, help="keep rendered frames here")
    p.add_argument("--quick", action="store_true",
                   help="toy-size run (a few frames of 128 px, 2 epochs) for tests")
    args = p.parse_args(argv)
    args.kinds = None
    if args.quick:
        _quick_args(args)
    try:
        import torch
    except ImportError:
        print("training needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.progress import Progress

    from models.anomaly.dataset import simulator_digest
    from models.anomaly.evaluate import evaluate_features, markdown_table
    from models.anomaly.export import check_onnx, export_onnx, write_artefacts, write_card_v2
    from models.anomaly.rawframes import Features, build_raw, featurise
    from simulator.artefacts import ARTEFACT_KINDS
    from site_node.edge.thumbnails import THUMB_V2

    console = Console(stderr=True)
    spec = THUMB_V2
    diff_ch = spec.channels.index("difference")
    kinds = tuple(args.kinds or ARTEFACT_KINDS)
    multiscale = args.score == "multiscale"
    tune_kinds = () if multiscale else (tuple(k for k in TUNE_KINDS if k in kinds) or kinds[:1])
    shape = (args.shape, args.shape)
    raw_cache = args.cache / "raw" if args.cache else None
    feat_cache = args.cache / "feat" if args.cache else None
    t0 = time.monotonic()
    with Progress(console=console, transient=False) as bar:
        def load(split: str, n: int, kind_list: tuple[str, ...], start: int = 0) -> Features:
            name = f"{split} {'/'.join(kind_list) if len(kind_list) < 3 else 'anomalies'}"
            task = bar.add_task(f"render {name}", total=n * len(kind_list))
            raw = build_raw(args.seed, split, n, kind_list, shape=shape, workers=args.workers,
                            cache=raw_cache, start=start,
                            progress=lambda d, t: bar.update(task, completed=d))
            bar.update(task, completed=n * len(kind_list))
            task = bar.add_task(f"inputs {name}", total=len(raw))
            tag = f"{split}-{n}{f'-from{start}' if start else ''}-{'-'.join(kind_list)}"
            feats = featurise(raw, spec, workers=args.workers, cache=feat_cache, tag=tag,
                              progress=lambda d, t: bar.update(task, completed=d))
            bar.update(task, completed=len(raw))
            return feats

        chunk = 100 if args.frames % 100 == 0 else args.frames
        train = Features.concat([load("train", chunk, ("normal",), s)
                                 for s in range(0, args.frames, chunk)])
        val = load("val", args.val, ("normal",))
        t_data = time.monotonic() - t0
        task = bar.add_task("training", total=args.epochs)
        t1 = time.monotonic()
        model, losses = train_autoencoder(
            train.x, val.x, seed=args.seed, epochs=args.epochs, threads=args.threads,
            dropout_channel=diff_ch,
            progress=lambda e, n, text: bar.update(task, completed=e, description=text))
        t_train = time.monotonic() - t1
        t2 = time.monotonic()
        tune = (Features.concat([load("val", args.tune_per_kind, (k,)) for k in tune_kinds])
                if tune_kinds else None)
        test = load("test", args.test, ("normal",))
        anomalies = Features.concat([load("test", args.per_kind, (k,)) for k in kinds])
        t_data += time.monotonic() - t2
    if multiscale:
        from models.anomaly.multiscale import calibrate_multiscale

        score, threshold = calibrate_multiscale(
            lambda x: _run(model, x), train.x, val.x, args.far, channels=spec.channels,
            optional_channels=(diff_ch,))
        tuning: list[dict[str, Any]] = []
    else:
        assert tune is not None
        score, threshold, tuning = tune_score(model, train.x, val.x, tune.x, tune.kind,
                                              args.far, optional_channels=(diff_ch,),
                                              channels=spec.channels)
    meta: dict[str, Any] = {
        "name": args.name, "version": args.name.rsplit("-", 1)[-1],
        "kind": "anomaly-autoencoder", "format": "onnx",
        "input": {"name": "thumbnails", "shape": [None, *spec.shape], "dtype": "float32",
                  "channels": list(spec.channels)},
        "outputs": ["reconstruction", "latent"],
        "preprocessing": spec.to_dict(), "score": score, "threshold": threshold,
        "false_alarm_rate": args.far, "architecture": model.config,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "baseline_features": list(STAT_NAMES),
        "tuning": {"kinds": list(tune_kinds), "held_out_kinds":
                   [k for k in kinds if k not in tune_kinds], "candidates": tuning,
                   "labels_used": ("none: trained and calibrated on normal frames only, "
                                   "every kind held out") if multiscale else
                   "tuning kinds choose the score's free parameters"},
        "training": {"seed": args.seed, "frames": len(train), "val_frames": len(val),
                     "tune_frames": len(tune) if tune is not None else 0,
                     "epochs": args.epochs, "score": args.score,
                     "frame_shape": list(shape), "nights": TRAIN_NIGHTS,
                     "test_nights": TEST_NIGHTS, "loss": losses, "time_s": round(t_train, 1),
                     "data_time_s": round(t_data, 1), "threads": args.threads,
                     "difference_dropout": DIFFERENCE_DROPOUT,
                     "simulator_sha256": simulator_digest(),
                     "torch": torch.__version__.split("+")[0], "quick": bool(args.quick)},
    }
    onnx_bytes = export_onnx(model, meta, spec.shape)
    meta["training"]["onnx_max_abs_diff"] = check_onnx(onnx_bytes, model, val.x[:16])
    meta["metrics"] = evaluate_features(onnx_bytes, score, threshold, train, test, anomalies,
                                        seed=args.seed, difference_channel=diff_ch,
                                        tune_kinds=tune_kinds)
    meta["promotion_metric"] = {"name": "min_auroc_per_kind",
                                "value": meta["metrics"]["min_auroc"],
                                "higher_is_better": True}
    onnx_bytes = export_onnx(model, meta, spec.shape)   # the embedded copy gets the metrics
    check_x = np.concatenate([test.x[:2], anomalies.x[:: args.per_kind][:4]])
    full = write_artefacts(args.out, args.name, onnx_bytes, meta, check_x)
    table = markdown_table(meta["metrics"])
    if multiscale:
        from models.anomaly.card_v3 import write_card_v3

        write_card_v3(args.out / "card.md", full, table)
    else:
        write_card_v2(args.out / "card.md", full, table)
    m = meta["metrics"]
    print(f"{args.name}@{full['sha256'][:12]}: data {t_data:.0f} s, training {t_train:.0f} s, "
          f"threshold {threshold:.4g} ({score['combine']}), "
          f"false alarms on {m['n_test_normal']} normal test frames "
          f"{m['test_false_alarm_rate']:.1%} (chosen {args.far:.1%})")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
