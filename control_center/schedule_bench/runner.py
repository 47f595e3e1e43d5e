"""Run one benchmark night under one policy: the real night loop, in process.

Everything but the policy is what ``openastro demo --in-process`` runs: the
installed plugins (generators, constraints, the value formula, coordination,
alerts), the simulated sites, the programme book and the alert stream of the
night. The log is a fresh SQLite file per run (in a directory the caller
owns), so the decision loop's seeds and ids are those of a first night.

Plugins run without the per-call time budget (``plugin_time_budget_s = 0``):
with a budget, a slow machine could time a plugin out and change the night,
and the benchmark must give the same table on any machine.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from control_center.network import Network
from control_center.plugin_api import Settings
from control_center.schedule_bench.metrics import NightFigures, fold_night
from control_center.schedule_bench.nights import BenchNight, NightInputs
from control_center.schedule_bench.recorder import NAME as RECORDER
from control_center.schedule_bench.recorder import CandidateRecorder, SeenCandidate

__all__ = ["BenchError", "NightRunResult", "check_policies", "run_policy_night"]

SCORER = "value-formula"
_NO_EXTRA: Mapping[str, object] = MappingProxyType({})


class BenchError(ValueError):
    """The benchmark cannot run as asked (unknown policy, nights that differ...)."""


@dataclass
class NightRunResult:
    """One policy's night: its figures, what it was offered and how long it took."""

    policy: str
    night: BenchNight
    figures: NightFigures
    offered: dict[str, SeenCandidate]
    wall_s: float


def _settings(policy: str, seed: int) -> Settings:
    return Settings(policy=policy, scorer=SCORER, seed=seed, plugin_time_budget_s=0.0)


def check_policies(network: Network, policies: list[str],
                   extra: Mapping[str, object] = _NO_EXTRA) -> None:
    """Raise :class:`BenchError` naming the first policy no installed plugin provides
    (nor any of the in-process ``extra`` plugins)."""
    from control_center.plugin_host import PluginError, PluginHost

    if not policies:
        raise BenchError("no policy given")
    for policy in policies:
        try:
            PluginHost.load(_settings(policy, 0), network, extra=extra).close()
        except PluginError as exc:
            raise BenchError(str(exc)) from None


def run_policy_night(network: Network, night: BenchNight, inputs: NightInputs, policy: str,
                     workdir: Path, extra: Mapping[str, object] = _NO_EXTRA) -> NightRunResult:
    """Run ``night`` under ``policy`` with a log in ``workdir``; fold its figures.

    ``extra`` are in-process plugins loaded in every run besides the installed
    ones (e.g. a policy under development), as ``PluginHost.load(extra=)`` takes them.
    """
    from control_center.eventlog import EventLog
    from control_center.night import NightRun
    from control_center.plugin_host import PluginError, PluginHost
    from control_center.sites.local import InProcessSiteLink
    from simulator import SimulatedNetwork

    wall = time.perf_counter()
    recorder = CandidateRecorder()
    try:
        host = PluginHost.load(_settings(policy, night.seed), network,
                               extra={**extra, RECORDER: recorder})
    except PluginError as exc:
        raise BenchError(str(exc)) from None
    path = Path(workdir) / f"night{night.index}-{policy}.db"
    try:
        with EventLog.open(path, durable=False) as log:
            simulated = SimulatedNetwork(network, night.seed, night.start, night.end)
            links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
            run = NightRun(network, log, host, _settings(policy, night.seed), links,
                           list(inputs.requests), start=night.start, hours=night.hours,
                           seed=night.seed, alerts=list(inputs.alerts))
            gc.collect()
            run.run()
            figures = fold_night(log)
    finally:
        host.close()
    path.unlink(missing_ok=True)
    return NightRunResult(policy, night, figures, recorder.seen, time.perf_counter() - wall)
