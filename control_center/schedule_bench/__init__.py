"""The scheduling benchmark behind ``openastro bench schedule``.

The same simulated nights (weather, alerts and programme book drawn from a
seed) are run in process under each policy plugin with the real night loop and
plugins, then compared on science value, dark time used, alert follow-up and
its latency, fairness between programmes, and against the hindsight bound (an
offline MILP that knows the weather). See ``docs/schedule-benchmark.md``.

Modules: :mod:`.nights` (which nights), :mod:`.runner` (one night under one
policy), :mod:`.metrics` (figures from a night's log), :mod:`.value_model`
(expected value under known conditions), :mod:`.hindsight` (the bound),
:mod:`.bench` (all of it, and the table).
"""

from control_center.schedule_bench.bench import (
    BenchmarkResult,
    format_table,
    installed_policies,
    run_benchmark,
    summarise,
)
from control_center.schedule_bench.runner import BenchError

__all__ = ["BenchError", "BenchmarkResult", "format_table", "installed_policies",
           "run_benchmark", "summarise"]
