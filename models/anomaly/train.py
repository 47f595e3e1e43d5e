"""Train, calibrate, export and evaluate the anomaly autoencoder.

``python -m models.anomaly.train [--seed 0] [--frames N] [--epochs E] [--out models/anomaly]``

1. Renders the frames (:mod:`models.anomaly.dataset`; ``--cache DIR`` keeps them).
2. Trains :class:`~models.anomaly.model.ThumbnailAutoencoder` on normal frames
   (CPU, seeded, deterministic algorithms, the 8 flips/rotations as augmentation).
3. Sets each channel's error scale (median on training frames) and the
   threshold at ``--far`` false alarms on held-out normal frames.
4. Exports ONNX, checks onnxruntime against PyTorch (max abs diff < 1e-4).
5. Evaluates the exported model per anomaly kind against the IsolationForest
   baseline on frames of unseen nights, and writes ``anomaly-vN.onnx``,
   ``anomaly-vN.json``, ``anomaly-vN-check.npz`` and ``card.md``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.anomaly.dataset import (
    FRAME_SHAPE,
    STAT_NAMES,
    TEST_NIGHTS,
    TRAIN_NIGHTS,
    build,
    default_workers,
    progress_bar,
)

__all__ = ["augment", "calibrate", "main", "train_autoencoder"]

SCORE = {"method": "max-log-standardised-parts", "top_fraction": 0.1, "combine": "max"}
"""Chosen on validation anomalies of the training nights (never on the test frames)."""


def augment(x: Any, op: int) -> Any:
    """One of the 8 flips/rotations of a batch ``(B, C, 64, 64)`` (torch tensor).

    The image channels (all but the last) are flipped/transposed as images; in
    the cutout mosaic (the last channel) each 16x16 cutout is transformed in
    place (slots keep their meaning).
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
                      batch: int = 64, lr: float = 2e-3, threads: int = 1,
                      config: dict[str, int] | None = None) -> tuple[Any, dict[str, float]]:
    """Train the autoencoder; returns the model (eval mode) and the final losses."""
    import torch

    from models.anomaly.model import ThumbnailAutoencoder

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    model = ThumbnailAutoencoder(**(config or {}))
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
            op = int(torch.randint(8, (1,), generator=gen))
            xb = augment(data[idx], op)
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
        progress_bar("training", epoch, epochs,
                     f"loss {losses['train']:.4f} val {losses['val']:.4f}")
    return model, losses


def calibrate(model: Any, x_train: np.ndarray, x_val: np.ndarray,
              far: float) -> tuple[dict[str, Any], float]:
    """The score's normalisations (from training frames) and the threshold (from ``x_val``).

    Each channel's reconstruction error and the latent Mahalanobis distance are
    standardised on a log scale by their median and MAD on the training frames;
    the latent distribution is a Gaussian with a covariance shrunk 10 % toward
    its diagonal. The threshold is the ``1 - far`` quantile of ``x_val``'s scores.
    """
    import torch

    from site_node.edge.anomaly import reconstruction_score, score_components

    with torch.no_grad():
        recon, z = (t.numpy() for t in model.forward_with_latent(torch.from_numpy(x_train)))
    z = z.astype(np.float64)
    mean = z.mean(axis=0)
    cov = np.cov(z, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.diag(np.diag(cov)) + 1e-6 * np.eye(len(mean))
    score: dict[str, Any] = dict(SCORE, channel_scale=[1.0] * x_train.shape[1],
                                 latent_mean=mean.tolist(),
                                 latent_precision=np.linalg.inv(cov).tolist(), latent_scale=1.0)
    logs = np.log(np.maximum(score_components(x_train, recon, score, z), 1e-12))
    median = np.median(logs, axis=0)
    score["log_median"] = [float(v) for v in median]
    score["log_mad"] = [float(v) for v in 1.4826 * np.median(np.abs(logs - median), axis=0)]
    with torch.no_grad():
        recon_val, z_val = (t.numpy() for t in model.forward_with_latent(
            torch.from_numpy(x_val)))
    val_scores = reconstruction_score(x_val, recon_val, score, z_val)
    return score, float(np.quantile(val_scores, 1.0 - far, method="higher"))


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.train",
                                description="Train the anomaly autoencoder on simulated frames.")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--frames", type=int, default=1000, help="normal training frames")
    p.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    p.add_argument("--out", type=Path, default=here, help=f"output directory (default {here})")
    p.add_argument("--name", default="anomaly-v1", help="model name (default anomaly-v1)")
    p.add_argument("--val", type=int, default=300, help="normal frames setting the threshold")
    p.add_argument("--test", type=int, default=300, help="normal test frames")
    p.add_argument("--per-kind", type=int, default=40, help="test frames per anomaly kind")
    p.add_argument("--far", type=float, default=0.01, help="false-alarm rate (default 0.01)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="processes rendering frames")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--cache", type=Path, default=None, help="keep rendered features here")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("training needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    import onnxruntime as ort

    from models.anomaly.dataset import simulator_digest
    from models.anomaly.evaluate import baseline_scores, evaluate, markdown_table
    from models.anomaly.export import check_onnx, export_onnx, write_artefacts, write_card
    from simulator.artefacts import ARTEFACT_KINDS
    from site_node.edge.anomaly import reconstruction_score
    from site_node.edge.thumbnails import ThumbnailSpec

    simulator = simulator_digest()
    spec = ThumbnailSpec()
    build_kw = {"workers": args.workers, "cache": args.cache}
    t0 = time.monotonic()
    train = build(args.seed, "train", args.frames, **build_kw)
    val = build(args.seed, "val", args.val, **build_kw)
    test = build(args.seed, "test", args.test, **build_kw)
    anomalies = build(args.seed, "test", args.per_kind, ARTEFACT_KINDS, **build_kw)
    x_train, x_val = train.inputs(spec), val.inputs(spec)
    t_data = time.monotonic() - t0
    t1 = time.monotonic()
    model, losses = train_autoencoder(x_train, x_val, seed=args.seed, epochs=args.epochs,
                                      threads=args.threads,
                                      config={"channels": spec.shape[0], "size": spec.size})
    t_train = time.monotonic() - t1
    score, threshold = calibrate(model, x_train, x_val, args.far)
    meta: dict[str, Any] = {
        "name": args.name, "kind": "anomaly-autoencoder", "format": "onnx",
        "input": {"name": "thumbnails", "shape": [None, *spec.shape], "dtype": "float32"},
        "outputs": ["reconstruction", "latent"],
        "preprocessing": spec.to_dict(), "score": score, "threshold": threshold,
        "false_alarm_rate": args.far, "architecture": model.config,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "baseline_features": list(STAT_NAMES),
        "training": {"seed": args.seed, "frames": args.frames, "val_frames": args.val,
                     "epochs": args.epochs, "frame_shape": list(FRAME_SHAPE),
                     "nights": TRAIN_NIGHTS, "test_nights": TEST_NIGHTS,
                     "loss": losses, "time_s": round(t_train, 1),
                     "data_time_s": round(t_data, 1), "threads": args.threads,
                     "simulator_sha256": simulator,
                     "torch": torch.__version__.split("+")[0]},
    }
    onnx_bytes = export_onnx(model, meta, spec.shape)
    meta["training"]["onnx_max_abs_diff"] = check_onnx(onnx_bytes, model, x_val[:32])
    # evaluate the exported model, as the site node runs it, on frames of unseen nights
    x_test = np.concatenate([test.inputs(spec), anomalies.inputs(spec)])
    kinds = np.concatenate([test.kind, anomalies.kind])
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    recon, latent = session.run(None, {"thumbnails": x_test})
    scores = reconstruction_score(x_test, recon, score, latent)
    base = baseline_scores(train.stats, np.concatenate([test.stats, anomalies.stats]),
                           args.seed)
    meta["metrics"] = evaluate(scores, base, kinds, threshold)
    # the metadata embedded in the ONNX file gets the metrics too
    onnx_bytes = export_onnx(model, meta, spec.shape)
    n_test = len(test)
    check_x = np.concatenate([x_test[:2], x_test[n_test:: args.per_kind][:2]])
    full = write_artefacts(args.out, args.name, onnx_bytes, meta, check_x)
    table = markdown_table(meta["metrics"])
    write_card(args.out / "card.md", full, table)
    print(f"{args.name}@{full['sha256'][:12]}: data {t_data:.0f} s, training {t_train:.0f} s, "
          f"threshold {threshold:.4g}, test false alarms "
          f"{meta['metrics']['test_false_alarm_rate']:.1%}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
