"""Decisions of the real night loop for training the policy (training side).

Runs benchmark-style nights (:func:`control_center.schedule_bench.runner.run_policy_night`:
the real :class:`~control_center.night.NightRun`, every installed plugin, in-process
simulated sites) with a :class:`RecordingPolicy` as the policy. At each decision
it records what the ``learned-policy`` plugin would see (candidate and context
features, the telescope's previous choice) and the teacher's choice
(:mod:`models.scheduler.teacher`); it *acts* either as the teacher (behaviour
cloning) or as the student network (DAgger: the states the student reaches,
labelled by the teacher).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from control_center.network import Network
from control_center.plugin_api import Candidate, Choice, DecisionContext, Score, hookimpl
from models.scheduler.teacher import teacher_index
from plugins.learned_policy.policy import LearnedPolicy

__all__ = ["RECORDER", "Decisions", "RecordingPolicy", "TorchRunner", "compare_policies",
           "run_nights"]

RECORDER = "scheduler-recorder"
"""Policy name of the recording policy in the runs."""


class TorchRunner:
    """A :class:`~models.scheduler.policy_model.PolicyNet` behind the interface of
    :class:`~models.scheduler.serve.PolicyRunner` (for acting during training)."""

    def __init__(self, net) -> None:
        self.net = net
        self.n_cand = int(net.config["n_cand"])
        self.memory = int(net.config["memory"])

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.n_cand, np.float32), np.zeros(self.memory, np.float32)

    def run(self, cand, ctx, prev, h):
        import torch

        with torch.no_grad():
            t = [torch.from_numpy(np.asarray(a, np.float32))[None] for a in (cand, ctx, prev, h)]
            logits, value, h_out = self.net(t[0], torch.ones(1, cand.shape[0]), t[1], t[2], t[3])
        return logits[0].numpy(), float(value[0]), h_out[0].numpy()


@dataclass
class Decisions:
    """Recorded decisions, grouped into sequences (one per telescope and night)."""

    sequences: list[dict[str, list]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(s["label"]) for s in self.sequences)

    def extend(self, other: Decisions) -> None:
        self.sequences.extend(other.sequences)


class RecordingPolicy(LearnedPolicy):
    """Records each decision with the teacher's label; acts as ``actor``.

    Parameters
    ----------
    model : runner
        The student (:class:`TorchRunner` or an ONNX ``PolicyRunner``).
    actor : {"teacher", "student"}
    """

    def __init__(self, model, actor: str = "teacher") -> None:
        super().__init__(model, name=RECORDER)
        if actor not in ("teacher", "student"):
            raise ValueError(f"actor must be 'teacher' or 'student', got {actor!r}")
        self.actor = actor
        self.current: dict[str, dict[str, list]] = {}
        self.agree = 0
        self.decisions = 0

    def sequences(self) -> list[dict[str, list]]:
        return [s for s in self.current.values() if s["label"]]

    @hookimpl
    def openastro_choose(self, context: DecisionContext, candidates: Sequence[Candidate],
                         scores: Sequence[Score]) -> Choice | None:
        if context.settings.policy != self.name or not candidates:
            return None
        s = self.step(context, candidates, scores)
        label = teacher_index(s.physics, scores, [c.key for c in candidates])
        student = int(np.argmax(s.logits))
        seq = self.current.setdefault(context.telescope.telescope.name,
                                      {"cand": [], "ctx": [], "prev": [], "label": []})
        seq["cand"].append(s.cand)
        seq["ctx"].append(s.ctx)
        seq["prev"].append(s.prev)
        seq["label"].append(label)
        self.decisions += 1
        self.agree += int(student == label)
        act = label if self.actor == "teacher" else student
        self.commit(context, s, act)
        return Choice(candidates[act].key, f"{self.actor} (recording)")


def _one_night(network: Network, seed: int, start: datetime, hours: float, net_config: dict,
               net_state: dict, actor: str, small_book: bool, index: int):
    """One recorded night (in any process): (sequences, science value, agreement)."""
    import torch

    from control_center.schedule_bench.nights import BenchNight, NightInputs, night_inputs
    from control_center.schedule_bench.runner import run_policy_night
    from models.scheduler.policy_model import PolicyNet

    torch.set_num_threads(1)
    net = PolicyNet(**net_config)
    net.load_state_dict(net_state)
    net.eval()
    night = BenchNight(index, int(seed), start, hours)
    inputs = night_inputs(network, night)
    if small_book:
        inputs = NightInputs(inputs.requests[:40], inputs.alerts)
    recorder = RecordingPolicy(TorchRunner(net), actor)
    with tempfile.TemporaryDirectory(prefix="scheduler-night-") as workdir:
        run = run_policy_night(network, night, inputs, RECORDER, Path(workdir),
                               {RECORDER: recorder})
    return (recorder.sequences(), float(run.figures.science_value),
            recorder.agree / max(recorder.decisions, 1))


def run_nights(network: Network, nights: Sequence[tuple[int, datetime]], *, hours: float,
               net, actor: str = "teacher", small_book: bool = False, jobs: int = 1,
               progress=None) -> tuple[Decisions, list[float]]:
    """Run each night ``(seed, start)`` with a :class:`RecordingPolicy` around the
    network ``net``; returns the decisions and each night's science value.

    ``small_book`` keeps the first 40 requests of the programme book (toy runs);
    ``jobs`` nights run at once, one process each (the result does not depend on it).
    """
    args = [(network, seed, start, hours, net.config, net.state_dict(), actor, small_book, i)
            for i, (seed, start) in enumerate(nights)]
    if jobs > 1 and len(args) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(jobs, len(args)), mp_context=context) as pool:
            results = list(pool.map(_one_night, *zip(*args, strict=True)))
    else:
        results = [_one_night(*a) for a in args]
    out, values = Decisions(), []
    for i, (sequences, value, agree) in enumerate(results):
        out.sequences.extend(sequences)
        values.append(value)
        if progress is not None:
            progress(i + 1, len(args), value, agree)
    return out, values


def compare_policies(network: Network, nights: Sequence[tuple[int, datetime]], *, hours: float,
                     policies: dict[str, object], small_book: bool = False,
                     progress=None) -> dict[str, list[float]]:
    """Science value per night of each policy on the same nights (the real night loop).

    ``policies`` maps a policy name to an in-process plugin answering to it, or to
    None for an installed one (e.g. ``"greedy"``).
    """
    from control_center.schedule_bench.nights import BenchNight, NightInputs, night_inputs
    from control_center.schedule_bench.runner import run_policy_night

    out: dict[str, list[float]] = {name: [] for name in policies}
    with tempfile.TemporaryDirectory(prefix="scheduler-eval-") as workdir:
        for i, (seed, start) in enumerate(nights):
            night = BenchNight(i, int(seed), start, hours)
            inputs = night_inputs(network, night)
            if small_book:
                inputs = NightInputs(inputs.requests[:40], inputs.alerts)
            for name, plugin in policies.items():
                extra = {} if plugin is None else {name: plugin}
                run = run_policy_night(network, night, inputs, name, Path(workdir), extra)
                out[name].append(float(run.figures.science_value))
            if progress is not None:
                progress(i + 1, len(nights))
    return out
