"""Train, export and evaluate the learned fusion.

``python -m models.fusion.train [--seed 0] [--objects N] [--epochs E] [--out models/fusion]``

1. Simulates multi-site photometry in random network states, from honest to
   strongly misreported uncertainties (:mod:`models.fusion.simulate`; training,
   validation and test seeds disjoint).
2. Trains :class:`~models.fusion.model.ErrorScaleNet` (CPU, seeded, deterministic)
   by the Gaussian negative log-likelihood of the GLS estimate with the corrected
   covariance; keeps the epoch with the best validation loss.
3. Exports ONNX, checks onnxruntime against PyTorch, evaluates the exported file
   against inverse variance on a misreporting and an honest network (plus the
   Monte Carlo and coaddition checks), and writes ``fusion-v1.onnx``, ``fusion-v1.json``, ``fusion-v1-check.npz`` and ``card.md``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.anomaly.dataset import progress_bar
from models.fusion.simulate import (
    N_FEATURES,
    SITES,
    FusionSet,
    set_features,
    simulate_states,
)

__all__ = ["main", "train_error_model"]


def _tensors(data: FusionSet) -> tuple[Any, ...]:
    import torch

    return (torch.from_numpy(set_features(data)), torch.from_numpy(data.values),
            torch.from_numpy(data.sigma), torch.from_numpy(data.correlation),
            torch.from_numpy(data.mask), torch.from_numpy(data.truth))


def _nll(model: Any, batch: tuple[Any, ...]) -> Any:
    import torch

    from models.fusion.model import gls_torch

    x, values, sigma, corr, mask, truth = batch
    factor = torch.exp(model(x).squeeze(-1).double())
    est, var = gls_torch(values, sigma * factor, corr, mask)
    return torch.mean(torch.log(var) + (est - truth) ** 2 / var)


def train_error_model(train: FusionSet, val: FusionSet, *, seed: int, epochs: int,
                      batch: int = 512, lr: float = 3e-3, hidden: int = 32,
                      label: str = "training") -> tuple[Any, dict[str, float]]:
    """Train the error model; returns it (eval mode, best validation epoch) and its losses."""
    import torch

    from models.fusion.model import ErrorScaleNet

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = ErrorScaleNet(N_FEATURES, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(train) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    data, vdata = _tensors(train), _tensors(val)
    gen = torch.Generator().manual_seed(seed)
    best = (float("inf"), None, 0)
    losses = {}
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for start in range(0, len(train), batch):
            idx = order[start:start + batch]
            loss = _nll(model, tuple(t[idx] for t in data))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        with torch.no_grad():
            vloss = float(_nll(model, vdata))
        if vloss < best[0]:
            best = (vloss, copy.deepcopy(model.state_dict()), epoch)
        losses = {"train_nll": total / len(train), "val_nll": vloss}
        progress_bar(label, epoch, epochs, f"nll {losses['train_nll']:.3f} val {vloss:.3f}")
    model.load_state_dict(best[1])
    model.eval()
    return model, {"best_val_nll": best[0], "best_epoch": best[2], **losses}


def promotion_metric(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a new version must beat: RMSE / inverse variance's under misreported sigmas."""
    return {"name": "rmse_ratio_misreported",
            "value": float(metrics["fusion"]["misreported"]["rmse_ratio"]),
            "higher_is_better": False}


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.fusion.train",
                                description="Train the learned fusion on simulated photometry.")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--objects", type=int, default=120000, help="training objects")
    p.add_argument("--states", type=int, default=600,
                   help="random network states the training objects come from")
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    p.add_argument("--out", type=Path, default=here, help=f"output directory (default {here})")
    p.add_argument("--name", default="fusion-v1", help="model name (default fusion-v1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--quick", action="store_true",
                   help="a toy-size run (seconds): 3,000 objects, 30 states, 2 epochs")
    args = p.parse_args(argv)
    if args.quick:
        args.objects, args.states, args.epochs = 3000, 30, 2
    try:
        import torch
    except ImportError:
        print("training needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    import onnxruntime as ort

    from models.fusion.card import write_card
    from models.fusion.evaluate import evaluate_all, markdown_table
    from models.fusion.export import check_onnx, export_onnx, write_artefacts
    from models.fusion.serve import INPUT_NAME

    torch.set_num_threads(args.threads)
    s = 1000 * args.seed
    per = max(args.objects // args.states, 1)
    train = simulate_states(args.states, per, s + 1)
    val = simulate_states(max(args.states // 4, 1), per, s + 2)
    t0 = time.monotonic()
    model, losses = train_error_model(train, val, seed=args.seed, epochs=args.epochs)
    t_train = time.monotonic() - t0
    meta: dict[str, Any] = {
        "name": args.name, "kind": "fusion-error-model", "format": "onnx",
        "input": {"name": INPUT_NAME, "shape": [None, N_FEATURES], "dtype": "float32",
                  "features": ["log reported sigma (mag)", "airmass - 1",
                               "log seeing (arcsec)",
                               "site statistic: 0.5 log mean(z^2) on standard stars",
                               *[f"site {k}: {n}"
                                                       for k, n in enumerate(SITES)]]},
        "output": "log(true sigma / reported sigma), clamped to [-3, 3]",
        "combination": "GLS with covariance D' R D', D' = reported sigma * exp(output)",
        "architecture": model.config,
        "n_parameters": int(sum(q.numel() for q in model.parameters())),
        "training": {"seed": args.seed, "objects": len(train), "states": args.states,
                     "val_objects": len(val),
                     "epochs": args.epochs, "loss": losses, "time_s": round(t_train, 1),
                     "threads": args.threads, "torch": torch.__version__.split("+")[0]},
    }
    onnx_bytes = export_onnx(model, meta)
    xs = set_features(val)[val.mask]
    meta["training"]["onnx_max_abs_diff"] = check_onnx(onnx_bytes, model, xs[:4096])
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])

    def fuse(data: FusionSet, session: Any = session) -> tuple[np.ndarray, np.ndarray]:
        from models.fusion.evaluate import gls_estimate

        f = session.run(None, {INPUT_NAME: set_features(data).reshape(-1, N_FEATURES)})[0]
        return gls_estimate(data, data.sigma * np.exp(f.reshape(data.sigma.shape)))

    metrics = evaluate_all(fuse, args.seed)
    meta["metrics"] = metrics
    meta["version"] = args.name.rpartition("-")[2]
    meta["promotion_metric"] = promotion_metric(metrics)
    onnx_bytes = export_onnx(model, meta)
    full = write_artefacts(args.out, args.name, onnx_bytes, meta, xs[:64])
    table = markdown_table(metrics)
    write_card(args.out / "card.md", full, table)
    print(f"{args.name}@{full['sha256'][:12]}: training {t_train:.0f} s "
          f"(best epoch {losses['best_epoch']})")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
