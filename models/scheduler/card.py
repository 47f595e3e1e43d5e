"""The scheduler's model card (``card.md``), written from the shipped models' metadata."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_card"]


def _load(out: Path, name: str) -> dict | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _cpu(training: dict) -> str:
    cpu = training.get("cpu_s")
    return f", {cpu} s of CPU" if cpu is not None else " on a shared 2-core machine"


def write_card(out: Path, version: str = "v1") -> None:
    """Write ``out/card.md`` from ``value-``, ``policy-`` and ``bellman-<version>.json``."""
    value = _load(out, f"value-{version}")
    policy = _load(out, f"policy-{version}")
    bellman = _load(out, f"bellman-{version}")
    parts = [f"""# Model card: the learned scheduler ({version})

Three ONNX files, trained by `python -m models.scheduler.train` on the simulator
(`models/scheduler/env.py`, a gymnasium environment of the network's night) and run
by the `value-network` scorer and the `learned-policy` policy with onnxruntime only.
"""]
    if value:
        m, t = value["metrics"], value["training"]
        cov = ", ".join(f"{k}: {v:.3f}" for k, v in m["coverage"].items())
        fine = ", ".join(f"{k}: {v:.3f}" for k, v in m["coverage_fine"].items())
        parts.append(f"""## value-{version}: expected science value with uncertainty (Component 2)

SHA-256 `{value['sha256']}`. A deep ensemble of {value['architecture']['members']} MLPs
(two hidden layers of {value['architecture']['hidden']}, SiLU; {value['n_parameters']:,}
parameters), each with a mean and a log-variance head, trained by Gaussian NLL on its own
bootstrap; the prediction is the mixture's mean and variance, times one variance scale
({t['variance_scale']}) fitted on calibration nights. Input: the
{len(value['input']['features'])} features of `models/scheduler/features.py::VALUE_FEATURES`
(target: priority, V magnitude, kind, failures; observation: exposure, airmass, filter,
efficiency; context: the site's cloud, humidity, wind, seeing, zenith sky, its 30-minute
cloud trend, hours since dusk, aperture). Output: the science value the simulator's outcome
model gives (`priority x quality`, 0 on failure).

Data: {t['observations']['train']:,} observations from {t['nights']['train']} training
nights, {t['observations']['calib']:,} from {t['nights']['calibration']} calibration nights
(other weather), {t['observations']['test']:,} from {t['nights']['test']} test nights on
start dates never trained on ({', '.join(t['test_starts'])}); nights played by a 50/50 mix
of greedy and random choices so that poor conditions are represented.

| metric (held-out nights) | hand-written formula (one fitted scale {m['formula_scale']}) | value-{version} |
|---|---|---|
| RMSE | {m['formula_rmse']} | {m['rmse']} ({m['rmse_ratio']:.2f}x) |
| MAE | {m['formula_mae']} | {m['mae']} |
| rank correlation with the outcome | {m['formula_rank_correlation']} | {m['rank_correlation']} |
| interval ECE, 50/68/90/95 % | - | {m['interval_ece']} (goal <= 0.05) |
| interval ECE, 10..99 % | - | {m['interval_ece_fine']} |

Coverage of the central intervals: {cov}. Finer grid: {fine}.
The outcome is a mixture (a point mass at 0 when a passing cloud, the wind or a faint
target ruins the exposure; a continuous quality otherwise): a Gaussian predictive
distribution covers the centre well and under-covers the far tails (95 % and 99 %).
""")
    if policy:
        m, t = policy["metrics"], policy["training"]
        h, s = m["held_out"], m["site_loss"]
        parts.append(f"""## policy-{version}: the scheduling policy (Component 4)

SHA-256 `{policy['sha256']}`; {policy['n_parameters']:,} parameters. Per decision, every
feasible candidate (target, telescope, exposure: `CANDIDATE_FEATURES`, scores relative to
the best so any scorer's units work) is embedded, the candidates attend to each other (one
layer of {policy['architecture']['heads']}-head self-attention, padding masked), and a query
from the context (`CONTEXT_FEATURES`) and the telescope's GRU memory (fed with the context
and the previous choice; state passed in and out of the ONNX graph) gives one logit per
candidate. The action is one joint softmax over the candidate set: the set already lists
the feasible (target, telescope, exposure) triples of the deciding telescope, so separate
heads would put mass on infeasible combinations. Decision time: argmax, deterministic.

Training (seed {t['seed']}, {t['time_s']} s of wall time{_cpu(t)}): behaviour cloning of greedy on
{t['behaviour_cloning_nights']} nights, then {t['ppo_iterations']} PPO iterations of
{t['nights_per_iteration']} nights (clipped objective 0.2, GAE lambda 0.95, gamma 0.995,
entropy bonus), our implementation (`models/scheduler/ppo.py`). Environment: the shipped
network, {len(t['env']['starts'])} start dates, {t['env']['hours']} h nights, random
alerts, a site lost mid-night in {t['env']['site_loss_prob']:.0%} of the nights.

| held-out nights ({h['nights']}, start dates not trained on) | greedy | policy-{version} |
|---|---|---|
| science value | {h['greedy_value']} | {h['policy_value']} ({h['ratio_to_greedy']:.3f}x, better on {h['nights_better']}) |
| reward (value - overheads - missed windows + alerts + fairness) | {h['greedy_reward']} | {h['policy_reward']} |
| science value with {s['site']} lost mid-night | {s['greedy_value']} | {s['policy_value']} ({s['ratio_to_greedy']:.3f}x) |

After {s['site']} is lost the policy keeps assigning at the other sites
({s['observations_after_loss']} observations after the loss,
{s['observations_at_lost_site_after_loss']} at the lost site).
""")
    v2 = _load(out, "policy-v2") if version == "v1" else None
    if v2:
        parts.append(_policy_v2(v2))
    if bellman:
        m = bellman["metrics"]
        parts.append(f"""## bellman-{version}: the Bellman check

The same architecture trained by the same PPO on a tiny instance
(`models/scheduler/bellman.py`: one telescope, four targets, six slots, clear/cloudy
Markov weather) whose optimum value iteration gives exactly. Expected values (exact, over
all 64 weather paths): optimum {m['optimal_value']}, policy {m['policy_value']}
({m['fraction_of_optimum']:.1%} of the optimum; goal >= 95 %), greedy {m['greedy_value']}
({m['greedy_fraction_of_optimum']:.1%}).
""")
    parts.append("""## Limits

Simulated data only. The environment is a faster stand-in for the control center's night
(its own feasibility filter, the value formula without the division of labour, synthetic
alerts as follow-up requests with a 3-hour window, the demo programme book); the benchmark
(`openastro bench schedule`) runs the real night loop. The value network learns the
simulator's outcome model: a real site needs its own observations to retrain on.
""")
    (out / "card.md").write_text("\n".join(parts))


def _cpu_v2(t: dict) -> str:
    if "cpu_workers_s" in t:
        return f"{t['cpu_s']} s of CPU + {t['cpu_workers_s']} s in the night workers"
    return f"{t['cpu_s']} s of CPU in the main process, the nights ran in worker processes"


def _policy_v2(policy: dict) -> str:
    """The section of policy-v2 (imitation of the physics look-ahead on the night loop)."""
    m, t = policy["metrics"]["held_out"], policy["training"]
    return f"""## policy-v2: the policy in force (imitation of a physics look-ahead)

SHA-256 `{policy['sha256']}`; {policy['n_parameters']:,} parameters; the architecture of
policy-v1 with {len(policy['candidate_features'])} candidate features: `CANDIDATE_FEATURES`
plus `PHYSICS_FEATURES` (`models/scheduler/physics.py`: the simulator's outcome model with
its luck averaged out, under the conditions each site reports now -- expected value here,
per 600 s of telescope time, its rank, the share of the best open telescope's, the value in
an hour).

Training (seed {t['seed']}, {t['time_s']} s of wall time on a shared 2-core machine;
{_cpu_v2(t)}): {t['method']}. The teacher (`models/scheduler/teacher.py`) takes the
candidate with the most expected value per second of telescope time (duration exponent
{t['teacher']['alpha']}); it uses no foreknowledge of the weather. Nights: the real
`NightRun` with every installed plugin and in-process simulated sites on
{t['network']}, {t['hours']} h; {len(t['teacher_nights'])} teacher nights and
{len(t['dagger_nights'])} DAgger nights ({t['decisions']:,} decisions), teacher agreement on
them {t['train_accuracy']:.3f}.

| held-out nights ({', '.join(d[1][:10] for d in m['nights'])}), night loop | greedy | policy-v2 |
|---|---|---|
| science value | {m['greedy_value']} | {m['policy_value']} ({m['ratio_to_greedy']:.3f}x) |

The benchmark figures (`openastro bench schedule`, other nights and a second network) are
in `models/README.md`. Its critic head is not trained (imitation only).
"""
