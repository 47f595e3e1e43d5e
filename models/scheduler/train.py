"""Train, export and evaluate the learned scheduler: value network, policy, Bellman check.

``python -m models.scheduler.train [--model policy|value|bellman|all] [--seed 0] [--out DIR]
[--quick]`` (default ``--model policy``: one model per run, as the registry expects)

* ``value`` (``value-v1``): nights of :class:`~models.scheduler.env.SchedulingEnv`
  played by a greedy/random mix give observations and their science value
  (:mod:`models.scheduler.value_data`; training, calibration and test nights
  disjoint, the test nights on start dates never trained on); a deep ensemble is
  trained by Gaussian NLL, its variance scale fitted on the calibration nights,
  exported, and the ONNX file evaluated on the test nights against the
  hand-written value formula (one scale fitted on the training nights).
* ``policy`` (``policy-v2``, the one served): imitation of the physics look-ahead
  teacher (:mod:`models.scheduler.teacher`) on the real night loop
  (:mod:`models.scheduler.nightloop`: ``NightRun`` with every installed plugin and
  in-process simulated sites): behaviour cloning on ``--bc`` teacher nights, then
  ``--dagger`` nights acted by the student and labelled by the teacher
  (:mod:`models.scheduler.imitation`); the ONNX policy is compared with greedy on a
  held-out night of the night loop. ``--jobs`` runs nights in parallel processes.
* ``policy-env`` (``policy-v1``'s recipe): behaviour cloning of greedy, then PPO on the
  environment; compared with greedy on held-out environment nights, with and
  without a site lost in the middle of the night.
* ``bellman`` (``bellman-v1``): PPO on the tiny instance of
  :mod:`models.scheduler.bellman`; its exact expected value against value iteration's.

Each writes ``NAME.onnx``, ``NAME.json`` (SHA-256, metrics, promotion metric) and
``NAME-check.npz`` into ``--out`` and prints its metric table; ``card.md`` describes all
three. ``--quick`` is a toy-size run (short nights, few episodes) for tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
TEST_STARTS = (datetime(2026, 3, 21, 18, tzinfo=UTC), datetime(2026, 7, 10, 18, tzinfo=UTC))
"""Held-out nights: start dates never used in training (the first is the demo's night)."""


def _progress():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:>18}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), transient=False)


def _env_config(quick: bool):
    from models.scheduler.env import EnvConfig

    if quick:
        return EnvConfig(starts=(datetime(2026, 2, 14, 22, tzinfo=UTC),), hours=3.0,
                         n_science=40, n_survey=20)
    return EnvConfig()


def _write(out: Path, name: str, onnx_bytes: bytes, meta: dict, check: dict) -> dict:
    from models.scheduler.export import write_artefacts

    return write_artefacts(out, name, onnx_bytes, meta, check)


def train_value_model(args, progress) -> dict[str, Any]:
    import torch

    from models.scheduler.export import check_value, export_value
    from models.scheduler.features import VALUE_FEATURES
    from models.scheduler.serve import ValueNetwork
    from models.scheduler.value_data import collect
    from models.scheduler.value_train import evaluate_value, train_value

    cfg = _env_config(args.quick)
    test_cfg = cfg if args.quick else replace(cfg, starts=TEST_STARTS)
    s = 1000 * args.seed
    n_train, n_calib, n_test = (2, 1, 1) if args.quick else (24, 6, 8)
    cache = None if args.quick or args.cache is None else Path(args.cache)
    sets = {}
    for split, config, first, n in (("train", cfg, s + 1000, n_train),
                                    ("calib", cfg, s + 2000, n_calib),
                                    ("test", test_cfg, s + 3000, n_test)):
        task = progress.add_task(f"value: {split} nights", total=n, note="")
        sets[split] = collect(config, list(range(first, first + n)),
                              cache=cache / f"value-{split}-{args.seed}.npz" if cache else None,
                              progress=lambda i, _n, task=task: progress.update(task, completed=i))
        progress.update(task, completed=n, note=f"{len(sets[split])} observations")
    epochs, members = (2, 2) if args.quick else (args.value_epochs, 5)
    task = progress.add_task("value: ensemble", total=epochs * members, note="")
    t0 = time.monotonic()
    model, figures = train_value(sets["train"], sets["calib"], seed=args.seed, epochs=epochs,
                                 members=members,
                                 progress=lambda i, n: progress.update(task, completed=i))
    t_train = time.monotonic() - t0
    name = f"value-{args.version}"
    meta: dict[str, Any] = {
        "name": "value", "version": args.version, "kind": "scheduler-value-ensemble",
        "format": "onnx",
        "input": {"name": "features", "shape": [None, len(VALUE_FEATURES)], "dtype": "float32",
                  "features": list(VALUE_FEATURES)},
        "output": {"mean": "expected science value (priority x quality; 0 on failure)",
                   "variance": "predictive variance (ensemble mixture x calibration scale)"},
        "architecture": model.config,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "training": {"seed": args.seed, "observations": {k: len(v) for k, v in sets.items()},
                     "nights": {"train": n_train, "calibration": n_calib, "test": n_test},
                     "test_starts": [t.isoformat() for t in test_cfg.starts],
                     "epochs": epochs, "time_s": round(t_train, 1), **figures,
                     "torch": torch.__version__.split("+")[0]},
    }
    onnx_bytes = export_value(model, meta)
    meta["training"]["onnx_max_rel_diff"] = check_value(onnx_bytes, model, sets["test"].x[:512])
    tmp = args.out / f".{name}.tmp.onnx"
    args.out.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(onnx_bytes)
    served = ValueNetwork(tmp)
    tmp.unlink()
    metrics = evaluate_value(served.predict, sets["train"], sets["test"])
    meta["metrics"] = metrics
    meta["promotion_metric"] = {"name": "test RMSE of the science value", "value":
                                metrics["rmse"], "higher_is_better": False}
    onnx_bytes = export_value(model, meta)
    full = _write(args.out, name, onnx_bytes, meta, {"features": sets["test"].x[:32]})
    rows = [("RMSE (science value)", metrics["formula_rmse"], metrics["rmse"], "lower"),
            ("MAE", metrics["formula_mae"], metrics["mae"], "lower"),
            ("rank correlation", metrics["formula_rank_correlation"],
             metrics["rank_correlation"], "higher"),
            ("interval ECE (50/68/90/95 %)", "-", metrics["interval_ece"], "<= 0.05"),
            ("interval ECE (10..99 %)", "-", metrics["interval_ece_fine"], "")]
    _print_table(f"{name}@{full['sha256'][:12]} ({len(sets['test'])} observations, "
                 f"{n_test} held-out nights)", ("metric", "value formula", "ours", "goal"), rows)
    print("coverage:", json.dumps(metrics["coverage"]))
    return full


def _policy_eval(env, runner, seeds, options=None) -> dict[str, Any]:
    """Deterministic ONNX policy vs greedy on the same nights (and where work went)."""
    from models.scheduler.rollout import play

    ours = [play(env, runner, seed, options) for seed in seeds]
    greedy = [play(env, None, seed, options) for seed in seeds]
    v_ours = np.array([o["value"] for o in ours])
    v_greedy = np.array([g["value"] for g in greedy])
    return {"nights": len(seeds), "policy_value": round(float(v_ours.sum()), 2),
            "greedy_value": round(float(v_greedy.sum()), 2),
            "ratio_to_greedy": round(float(v_ours.sum() / max(v_greedy.sum(), 1e-9)), 4),
            "nights_better": int(np.sum(v_ours > v_greedy)),
            "policy_reward": round(float(np.sum([o["reward"] for o in ours])), 2),
            "greedy_reward": round(float(np.sum([g["reward"] for g in greedy])), 2),
            "runs": ours}


TRAIN_NIGHT0 = datetime(2026, 1, 5, 18, tzinfo=UTC)
"""First training night of the policy; the next ones are every 23 days (moon phases vary)."""
EVAL_NIGHT0 = datetime(2026, 2, 16, 18, tzinfo=UTC)
"""First held-out night of the policy's own evaluation (every 31 days after; never a
training date, nor the benchmark's default 2026-03-21..23)."""


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the night workers of ``--jobs``)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _policy_nights(first_seed: int, first: datetime, step_days: int, n: int, hour: int):
    from datetime import timedelta

    first = first.replace(hour=hour)
    return [(first_seed + k, first + timedelta(days=step_days * k)) for k in range(n)]


def _export_checked(net: Any, meta: dict[str, Any], out: Path, name: str,
                    seed: int) -> tuple[Path, Any]:
    """Export a policy to ONNX, record its agreement with PyTorch in ``meta`` and write it
    to a temporary file in ``out`` (for the held-out runs before it is shipped); returns
    the file and the check inputs."""
    from models.scheduler.export import check_policy, export_policy, policy_check_inputs

    onnx_bytes = export_policy(net, meta)
    feeds = policy_check_inputs(net.config["n_cand"], net.config["n_ctx"],
                                net.config["memory"], seed)
    meta["training"]["onnx_max_abs_diff"] = check_policy(onnx_bytes, net, feeds)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.tmp.onnx"
    tmp.write_bytes(onnx_bytes)
    return tmp, feeds


def _policy_meta(net: Any, version: str, candidate_features: Sequence[str], critic: str,
                 training: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a policy version: its ONNX interface, architecture and training."""
    from models.scheduler.features import CONTEXT_FEATURES

    return {
        "name": "policy", "version": version, "kind": "scheduler-policy", "format": "onnx",
        "inputs": {"cand": ["batch", "candidates", len(candidate_features)],
                   "mask": ["batch", "candidates"], "ctx": ["batch", len(CONTEXT_FEATURES)],
                   "prev": ["batch", len(candidate_features)],
                   "h": ["batch", net.config["memory"]]},
        "candidate_features": list(candidate_features),
        "context_features": list(CONTEXT_FEATURES),
        "outputs": {"logits": "one per candidate (padding -1e9); the policy takes the argmax",
                    "value": critic, "h_out": "the telescope's new memory"},
        "action": "joint over the feasible (target, telescope, exposure) candidates",
        "architecture": net.config,
        "n_parameters": int(sum(p.numel() for p in net.parameters())),
        "training": training,
    }


def train_policy_model(args, progress) -> dict[str, Any]:
    """policy-v2: imitation of the physics look-ahead teacher on the real night loop."""
    import torch

    from control_center.network import load_network
    from models.scheduler.export import export_policy
    from models.scheduler.features import CONTEXT_FEATURES, POLICY_FEATURES
    from models.scheduler.imitation import fit_imitation, imitation_accuracy
    from models.scheduler.nightloop import compare_policies, run_nights
    from models.scheduler.policy_model import PolicyNet
    from models.scheduler.serve import PolicyRunner
    from models.scheduler.teacher import ALPHA, BETA
    from plugins.learned_policy import LearnedPolicy

    network = load_network(args.network)
    hours = 1.5 if args.quick else args.hours
    n_bc, n_dagger, n_eval = (1, 1, 1) if args.quick else (args.bc, args.dagger, args.eval_nights)
    epochs = 2 if args.quick else args.epochs
    s = 100 * args.seed
    hour = 22 if args.quick else args.start_hour
    bc_nights = _policy_nights(5000 + s, TRAIN_NIGHT0, 23, n_bc, hour)
    dagger_nights = _policy_nights(6000 + s, TRAIN_NIGHT0.replace(day=16), 23, n_dagger, hour)
    eval_nights = _policy_nights(7000 + s, EVAL_NIGHT0, 31, n_eval, hour)
    torch.manual_seed(args.seed)
    net = PolicyNet(len(POLICY_FEATURES), len(CONTEXT_FEATURES))
    t0, c0, k0 = time.monotonic(), time.process_time(), _children_cpu()
    task = progress.add_task("policy: teacher nights", total=n_bc, note="")
    data, teacher_values = run_nights(
        network, bc_nights, hours=hours, net=net, actor="teacher", small_book=args.quick,
        jobs=args.jobs,
        progress=lambda i, n, v, a: progress.update(task, completed=i, note=f"value {v:.0f}"))
    task = progress.add_task("policy: imitation", total=epochs, note="")
    history = fit_imitation(net, data, epochs=epochs, seed=args.seed, lr=args.lr,
                            per_epoch=args.per_epoch,
                            progress=lambda i, n, loss: progress.update(
                                task, completed=i, note=f"loss {loss:.3f}"))
    student_values: list[float] = []
    if dagger_nights:
        task = progress.add_task("policy: DAgger nights", total=n_dagger, note="")
        more, student_values = run_nights(
            network, dagger_nights, hours=hours, net=net, actor="student",
            small_book=args.quick, jobs=args.jobs,
            progress=lambda i, n, v, a: progress.update(task, completed=i,
                                                        note=f"value {v:.0f}, agrees {a:.2f}"))
        data.extend(more)
        task = progress.add_task("policy: imitation 2", total=epochs, note="")
        history += fit_imitation(net, data, epochs=epochs, seed=args.seed + 1, lr=args.lr / 2,
                                 per_epoch=args.per_epoch,
                                 progress=lambda i, n, loss: progress.update(
                                     task, completed=i, note=f"loss {loss:.3f}"))
    accuracy = imitation_accuracy(net, data)
    t_train, c_train = time.monotonic() - t0, time.process_time() - c0
    c_children = _children_cpu() - k0
    name = f"policy-{args.version}"
    meta = _policy_meta(net, args.version, POLICY_FEATURES, "critic (untrained in imitation)", {
        "method": "imitation of the physics look-ahead teacher on the real night "
                               "loop (behaviour cloning, then one DAgger round)",
                     "teacher": {"alpha": ALPHA, "beta": BETA},
                     "seed": args.seed, "network": network.name, "hours": hours,
                     "start_hour_utc": hour,
                     "teacher_nights": [[k, t.isoformat()] for k, t in bc_nights],
                     "dagger_nights": [[k, t.isoformat()] for k, t in dagger_nights],
                     "decisions": len(data), "epochs_per_round": epochs,
                     "decisions_per_epoch": args.per_epoch,
                     "teacher_values": teacher_values, "dagger_student_values": student_values,
                     "loss_history": history, "train_accuracy": round(accuracy, 4),
                     "time_s": round(t_train, 1), "cpu_s": round(c_train, 1),
                     "cpu_workers_s": round(c_children, 1),
                     "torch": torch.__version__.split("+")[0]})
    tmp, feeds = _export_checked(net, meta, args.out, name, args.seed)
    task = progress.add_task("policy: held-out", total=n_eval, note="greedy, teacher, policy")
    try:
        runs = compare_policies(
            network, eval_nights, hours=hours, small_book=args.quick,
            policies={"greedy": None,
                      "policy-under-test": LearnedPolicy(PolicyRunner(tmp),
                                                         name="policy-under-test")},
            progress=lambda i, n: progress.update(task, completed=i))
    finally:
        tmp.unlink()
    greedy, ours = sum(runs["greedy"]), sum(runs["policy-under-test"])
    ratio = round(ours / max(greedy, 1e-9), 4)
    metrics = {"held_out": {"nights": [[k, t.isoformat()] for k, t in eval_nights],
                            "hours": hours, "network": network.name,
                            "greedy_per_night": [round(v, 2) for v in runs["greedy"]],
                            "policy_per_night": [round(v, 2)
                                                 for v in runs["policy-under-test"]],
                            "greedy_value": round(greedy, 2), "policy_value": round(ours, 2),
                            "ratio_to_greedy": ratio},
               "train_accuracy": round(accuracy, 4)}
    meta["metrics"] = metrics
    meta["promotion_metric"] = {"name": "science value / greedy's on held-out nights "
                                        "(real night loop)",
                                "value": ratio, "higher_is_better": True}
    onnx_bytes = export_policy(net, meta)
    full = _write(args.out, name, onnx_bytes, meta, feeds[1])
    _print_table(f"{name}@{full['sha256'][:12]} ({n_eval} held-out nights, night loop)",
                 ("metric", "greedy", "policy", "ratio"),
                 [("science value, held-out nights", round(greedy, 1), round(ours, 1),
                   f"x{ratio:.3f}"),
                  ("teacher agreement (training decisions)", "-", f"{accuracy:.3f}", "")])
    print(f"training: {len(data)} decisions, {t_train:.0f} s wall, {c_train:.0f} s CPU "
          f"(+ {c_children:.0f} s in night workers)")
    return full


def train_policy_env_model(args, progress) -> dict[str, Any]:
    """policy-v1's recipe: behaviour cloning of greedy, then PPO on the environment."""
    import torch

    from models.scheduler.env import SchedulingEnv
    from models.scheduler.export import export_policy
    from models.scheduler.features import CANDIDATE_FEATURES, CONTEXT_FEATURES
    from models.scheduler.policy_model import PolicyNet
    from models.scheduler.ppo import PPOConfig, train_ppo
    from models.scheduler.serve import PolicyRunner

    cfg = _env_config(args.quick)
    env = SchedulingEnv(cfg)
    torch.manual_seed(args.seed)
    net = PolicyNet(len(CANDIDATE_FEATURES), len(CONTEXT_FEATURES))
    iters, per, bc = (1, 1, 1) if args.quick else (args.ppo_iterations, args.episodes, args.bc)
    task = progress.add_task("policy: PPO", total=iters, note="cloning greedy")
    t0, c0 = time.monotonic(), time.process_time()
    history = train_ppo(
        env, net, seed=args.seed, iterations=iters, episodes_per_iter=per, bc_episodes=bc,
        cfg=PPOConfig(lr=args.lr),
        progress=lambda i, n, row: progress.update(
            task, completed=i, note=f"value/night {row['mean_value']:.0f} "
                                    f"entropy {row['entropy']:.2f}"))
    t_train, c_train = time.monotonic() - t0, time.process_time() - c0
    name = f"policy-{args.version}"
    meta = _policy_meta(net, args.version, CANDIDATE_FEATURES, "critic (scaled return)", {
        "seed": args.seed, "behaviour_cloning_nights": bc,
                     "ppo_iterations": iters, "nights_per_iteration": per,
                     "time_s": round(t_train, 1), "cpu_s": round(c_train, 1),
                     "history": history,
                     "env": {"starts": [t.isoformat() for t in cfg.starts], "hours": cfg.hours,
                             "n_science": cfg.n_science, "n_survey": cfg.n_survey,
                             "site_loss_prob": cfg.site_loss_prob},
                     "torch": torch.__version__.split("+")[0]})
    tmp, feeds = _export_checked(net, meta, args.out, name, args.seed)
    runner = PolicyRunner(tmp)
    test_env = SchedulingEnv(cfg if args.quick else replace(cfg, starts=TEST_STARTS))
    n_eval = 1 if args.quick else args.eval_nights
    seeds = list(range(9000 + 100 * args.seed, 9000 + 100 * args.seed + n_eval))
    task = progress.add_task("policy: held-out", total=2, note="")
    held = _policy_eval(test_env, runner, seeds, {"lose_site": ""})
    progress.update(task, completed=1)
    lost_site = test_env.network.sites[0].name
    loss = _policy_eval(test_env, runner, seeds, {"lose_site": lost_site, "lose_at_h": 1.0
                                                  if args.quick else 5.0})
    progress.update(task, completed=2)
    tmp.unlink()
    after = [r for run in loss["runs"] for r in run["after_loss"]]
    metrics = {
        "held_out": {k: v for k, v in held.items() if k != "runs"},
        "site_loss": {**{k: v for k, v in loss.items() if k != "runs"}, "site": lost_site,
                      "observations_after_loss": len(after),
                      "observations_at_lost_site_after_loss":
                          sum(r["site"] == lost_site for r in after)},
    }
    meta["metrics"] = metrics
    meta["promotion_metric"] = {"name": "science value / greedy's on held-out nights",
                                "value": held["ratio_to_greedy"], "higher_is_better": True}
    onnx_bytes = export_policy(net, meta)
    full = _write(args.out, name, onnx_bytes, meta, feeds[1])
    rows = [("science value, held-out nights", held["greedy_value"], held["policy_value"],
             f"x{held['ratio_to_greedy']:.3f}"),
            ("reward (value - costs + fairness + alerts)", held["greedy_reward"],
             held["policy_reward"], ""),
            (f"science value, {lost_site} lost mid-night", loss["greedy_value"],
             loss["policy_value"], f"x{loss['ratio_to_greedy']:.3f}")]
    _print_table(f"{name}@{full['sha256'][:12]} ({n_eval} held-out nights)",
                 ("metric", "greedy", "policy", "ratio"), rows)
    print(f"after the site loss: {len(after)} observations at the remaining sites, "
          f"{metrics['site_loss']['observations_at_lost_site_after_loss']} at {lost_site}")
    return full


def train_bellman_model(args, progress) -> dict[str, Any]:
    import torch

    from models.scheduler.bellman import TINY, TinyEnv, greedy_value, optimal_value
    from models.scheduler.export import check_policy, export_policy, policy_check_inputs
    from models.scheduler.features import N_CANDIDATE, N_CONTEXT
    from models.scheduler.policy_model import PolicyNet
    from models.scheduler.ppo import PPOConfig, train_ppo
    from models.scheduler.rollout import tiny_policy_value
    from models.scheduler.serve import PolicyRunner

    torch.manual_seed(args.seed)
    net = PolicyNet(N_CANDIDATE, N_CONTEXT, hidden=32, heads=2, memory=16)
    iters = 2 if args.quick else 20
    task = progress.add_task("bellman: PPO", total=iters, note="")
    t0 = time.monotonic()
    history = train_ppo(TinyEnv(), net, seed=args.seed, iterations=iters, episodes_per_iter=32,
                        cfg=PPOConfig(lr=1e-3, entropy=0.01, minibatch=64, reward_scale=0.1,
                                      gamma=1.0),
                        progress=lambda i, n, row: progress.update(task, completed=i))
    t_train = time.monotonic() - t0
    name = f"bellman-{args.version}"
    meta: dict[str, Any] = {"name": "bellman", "version": args.version,
                            "kind": "scheduler-policy (tiny Bellman instance)", "format": "onnx",
                            "instance": TINY.__dict__, "architecture": net.config,
                            "training": {"seed": args.seed, "ppo_iterations": iters,
                                         "episodes_per_iteration": 32,
                                         "time_s": round(t_train, 1),
                                         "final": history[-1]}}
    onnx_bytes = export_policy(net, meta)
    feeds = policy_check_inputs(N_CANDIDATE, N_CONTEXT, 16, args.seed, (1, 3, 4))
    meta["training"]["onnx_max_abs_diff"] = check_policy(onnx_bytes, net, feeds)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / f".{name}.tmp.onnx"
    tmp.write_bytes(onnx_bytes)
    ours = tiny_policy_value(PolicyRunner(tmp))
    tmp.unlink()
    best, greedy = optimal_value(), greedy_value()
    meta["metrics"] = {"optimal_value": round(best, 4), "policy_value": round(ours, 4),
                       "greedy_value": round(greedy, 4),
                       "fraction_of_optimum": round(ours / best, 4),
                       "greedy_fraction_of_optimum": round(greedy / best, 4)}
    meta["promotion_metric"] = {"name": "expected value / value iteration's optimum",
                                "value": round(ours / best, 4), "higher_is_better": True}
    onnx_bytes = export_policy(net, meta)
    full = _write(args.out, name, onnx_bytes, meta, feeds[1])
    _print_table(f"{name}@{full['sha256'][:12]} (exact expectation over 64 weather paths)",
                 ("metric", "greedy", "policy", "optimum (value iteration)"),
                 [("expected value", round(greedy, 3), round(ours, 3), round(best, 3))])
    return full


def _print_table(title: str, header: tuple, rows: list[tuple]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in header:
        table.add_column(str(h))
    for row in rows:
        table.add_row(*(str(x) for x in row))
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.scheduler.train",
                                description="Train the learned scheduler's models.")
    p.add_argument("--model", choices=("value", "policy", "policy-env", "bellman", "all"),
                   default="policy",
                   help="which model (default policy: one model per run, as the registry's "
                        "`openastro train` expects; all: the three, one after the other)")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--out", type=Path, default=HERE, help=f"output directory (default {HERE})")
    p.add_argument("--version", default=None,
                   help="version in the file names (default v2 for the policy, else v1)")
    p.add_argument("--quick", action="store_true", help="toy-size run (for tests)")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="cache the value network's simulated observations here")
    p.add_argument("--value-epochs", type=int, default=25)
    p.add_argument("--bc", type=int, default=None,
                   help="nights of the teacher (policy, default 3) or of greedy (policy-env, "
                        "default 4) to clone")
    p.add_argument("--dagger", type=int, default=1,
                   help="policy: nights of the student labelled by the teacher (default 1)")
    p.add_argument("--epochs", type=int, default=8,
                   help="policy: imitation epochs per round (default 8)")
    p.add_argument("--hours", type=float, default=6.0,
                   help="policy: length of the training and held-out nights (default 6)")
    p.add_argument("--start-hour", type=int, default=22,
                   help="policy: UTC hour the training and held-out nights start (default 22)")
    p.add_argument("--network", default=None, metavar="FILE.toml",
                   help="policy: network of the training nights (default the shipped one)")
    p.add_argument("--ppo-iterations", type=int, default=12)
    p.add_argument("--episodes", type=int, default=2, help="nights per PPO iteration")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 2e-3 imitation, 1e-4 PPO)")
    p.add_argument("--eval-nights", type=int, default=None,
                   help="held-out nights (default 1 for the policy, 6 for policy-env)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--per-epoch", type=int, default=800,
                   help="policy: decisions per imitation epoch (a random subset; default 800)")
    p.add_argument("--jobs", type=int, default=1,
                   help="policy: nights simulated at once, one process each (default 1)")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("training needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from models.scheduler.card import write_card

    which = ("value", "policy", "bellman") if args.model == "all" else (args.model,)
    with _progress() as progress:
        for model in which:
            run = copy.copy(args)
            run.version = args.version or ("v2" if model == "policy" else "v1")
            run.lr = args.lr or (2e-3 if model == "policy" else 1e-4)
            run.eval_nights = args.eval_nights or (1 if model == "policy" else 6)
            run.bc = args.bc or (3 if model == "policy" else 4)
            {"value": train_value_model, "policy": train_policy_model,
             "policy-env": train_policy_env_model,
             "bellman": train_bellman_model}[model](run, progress)
    write_card(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
