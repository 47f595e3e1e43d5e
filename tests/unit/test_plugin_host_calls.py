"""PluginHost calls: order, first-result, isolation of raising, hanging and
garbage-returning plugins, and the per-call overhead."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from control_center.events import PluginFailed
from control_center.plugin_api import Choice, Rejection, Score, hookimpl
from control_center.plugin_host import PluginError, PluginFailure, PluginHost
from control_center.plugin_host.testing import candidate, decision_context

CONTEXT = decision_context()
A, B = candidate("a"), candidate("b")


def make_host(extra: dict, budget: float | None = 1.0) -> tuple[PluginHost, list[PluginFailure]]:
    failures: list[PluginFailure] = []
    host = PluginHost.discover(enabled=[], extra=extra, on_failure=failures.append,
                               time_budget_s=budget)
    return host, failures


def proposer(*keys, tryfirst=False, trylast=False):
    class P:
        @hookimpl(tryfirst=tryfirst, trylast=trylast)
        def openastro_propose(self, context):
            return [candidate(k) for k in keys]
    return P()


def returning(value, hook="openastro_propose"):
    class R:
        pass

    if hook == "openastro_propose":
        R.openastro_propose = hookimpl(lambda self, context: value)
    elif hook == "openastro_filter":
        R.openastro_filter = hookimpl(lambda self, context, candidates: value)
    elif hook == "openastro_score":
        R.openastro_score = hookimpl(lambda self, context, candidates: value)
    elif hook == "openastro_choose":
        R.openastro_choose = hookimpl(lambda self, context, candidates, scores: value)
    elif hook == "openastro_trigger":
        R.openastro_trigger = hookimpl(lambda self, event: value)
    return R()


@pytest.fixture(params=[1.0, None], ids=["worker-thread", "inline"])
def budget(request):
    return request.param


# -- order and semantics ---------------------------------------------------------------------


def test_call_all_runs_in_name_order_respecting_tryfirst_and_trylast(budget):
    host, _ = make_host({"b": proposer("b"), "a": proposer("a"),
                         "z-first": proposer("z", tryfirst=True),
                         "0-last": proposer("0", trylast=True)}, budget)
    with host:
        names = [name for name, _ in host.call_all("openastro_propose", context=CONTEXT)]
        assert names == ["z-first", "a", "b", "0-last"]
        impls = host.plugin_manager.hook.openastro_propose.get_hookimpls()
        assert names == [impl.plugin_name for impl in reversed(impls)]  # pluggy's order


def test_call_all_skips_none_results(budget):
    host, failures = make_host({"a": returning(None), "b": proposer("b")}, budget)
    with host:
        assert host.call_all("openastro_propose", context=CONTEXT) == [("b", [candidate("b")])]
    assert failures == []


def test_call_first_returns_first_answer_and_stops(budget):
    calls = []

    def scorer(name, answer):
        class S:
            @hookimpl
            def openastro_score(self, context, candidates):
                calls.append(name)
                return answer
        return S()

    scores = [Score("a/r", 1.0)]
    host, _ = make_host({"a": scorer("a", None), "b": scorer("b", scores),
                         "c": scorer("c", [])}, budget)
    with host:
        assert host.call_first("openastro_score", context=CONTEXT, candidates=[A]) == (
            "b", scores)
        assert calls == ["a", "b"]
        assert host.call_first("openastro_choose", context=CONTEXT, candidates=[A],
                               scores=scores) is None


# -- isolation -------------------------------------------------------------------------------


class Raising:
    @hookimpl
    def openastro_propose(self, context):
        return 1 / 0

    @hookimpl
    def openastro_score(self, context, candidates):
        raise RuntimeError("model file\nnot found")

    @hookimpl
    def openastro_event(self, event):
        raise ValueError("bad event")


def test_raising_plugin_is_left_out_and_reported(budget):
    host, failures = make_host({"bad": Raising(), "good": proposer("g")}, budget)
    with host:
        assert host.call_all("openastro_propose", context=CONTEXT) == [("good", [candidate("g")])]
        assert host.call_first("openastro_score", context=CONTEXT, candidates=[A]) is None
    assert failures == [
        PluginFailure("bad", "openastro_propose", "raised", "ZeroDivisionError: division by zero"),
        PluginFailure("bad", "openastro_score", "raised", "RuntimeError: model file not found"),
    ]


def test_call_first_falls_through_a_failing_plugin(budget):
    host, failures = make_host({"a": Raising(), "b": returning([Score("a/r", 2.0)],
                                                               "openastro_score")}, budget)
    with host:
        assert host.call_first("openastro_score", context=CONTEXT, candidates=[A]) == (
            "b", [Score("a/r", 2.0)])
    assert [f.failure for f in failures] == ["raised"]


@pytest.mark.parametrize(("hook", "value", "message"), [
    ("openastro_propose", "M31", "returned str, expected list[Candidate]"),
    ("openastro_propose", (A,), "returned tuple, expected list[Candidate]"),
    ("openastro_propose", [A, {"ra": 1}],
     "returned list with dict at index 1, expected list[Candidate]"),
    ("openastro_filter", [Rejection("zz/r", "c", 1, 2)],
     "returned Rejection for unknown candidate 'zz/r'"),
    ("openastro_filter", [A], "returned list with Candidate at index 0, expected list[Rejection]"),
    ("openastro_score", {"a/r": 1.0}, "returned dict, expected list[Score]"),
    ("openastro_score", [Score("a/r", float("nan"))], "returned Score for 'a/r' with value nan"),
    ("openastro_score", [Score("a/r", 1.0, -1.0)], "returned Score for 'a/r' with sigma -1.0"),
    ("openastro_choose", "a/r", "returned str, expected Choice"),
    ("openastro_choose", Choice("q/r", "why"), "returned Choice of unknown candidate 'q/r'"),
    ("openastro_trigger", 42, "returned int, expected str or None"),
])
def test_invalid_return_value_is_left_out_and_reported(hook, value, message):
    kwargs = {"openastro_propose": {"context": CONTEXT},
              "openastro_filter": {"context": CONTEXT, "candidates": [A, B]},
              "openastro_score": {"context": CONTEXT, "candidates": [A, B]},
              "openastro_choose": {"context": CONTEXT, "candidates": [A, B], "scores": []},
              "openastro_trigger": {"event": None}}[hook]
    host, failures = make_host({"bad": returning(value, hook)})
    with host:
        assert host.call_all(hook, **kwargs) == []
    assert failures == [PluginFailure("bad", hook, "invalid", message)]


def test_valid_values_pass_validation():
    host, failures = make_host({
        "f": returning([Rejection("a/r", "c", 1.0, 2.0)], "openastro_filter"),
        "c": returning(Choice("b/r", "best"), "openastro_choose"),
        "t": returning("weather changed", "openastro_trigger"),
    })
    with host:
        assert host.call_all("openastro_filter", context=CONTEXT, candidates=[A, B])
        assert host.call_first("openastro_choose", context=CONTEXT, candidates=[A, B],
                               scores=[]) == ("c", Choice("b/r", "best"))
        assert host.call_all("openastro_trigger", event=None) == [("t", "weather changed")]
    assert failures == []


class Hanging:
    def __init__(self):
        self.release = threading.Event()
        self.calls = 0

    @hookimpl
    def openastro_propose(self, context):
        self.calls += 1
        self.release.wait(10)
        return [candidate("slow")]


def test_timeout_is_reported_and_the_plugin_skipped_until_its_call_returns():
    hanging = Hanging()
    host, failures = make_host({"slow": hanging, "fast": proposer("f")}, budget=0.1)
    with host:
        start = time.perf_counter()
        assert host.call_all("openastro_propose", context=CONTEXT) == [("fast", [candidate("f")])]
        assert time.perf_counter() - start < 1.0
        assert failures[-1] == PluginFailure("slow", "openastro_propose", "timeout",
                                             "did not return within its 0.1 s time budget")
        # While the stuck call runs, the plugin is skipped at once: no new thread.
        threads = threading.active_count()
        for _ in range(5):
            assert host.call_all("openastro_propose", context=CONTEXT) == [
                ("fast", [candidate("f")])]
        assert hanging.calls == 1
        assert threading.active_count() <= threads + 1
        assert failures[-1].failure == "timeout"
        assert failures[-1].message.startswith("skipped: its earlier openastro_propose call")
        # Once the stuck call returns (its result discarded), the plugin is called again.
        hanging.release.set()
        deadline = time.monotonic() + 5
        while "slow" not in dict(host.call_all("openastro_propose", context=CONTEXT)):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert hanging.calls == 2


def test_repeated_timeouts_do_not_pile_up_threads():
    hanging = Hanging()
    host, _ = make_host({"slow": hanging}, budget=0.02)
    with host:
        before = threading.active_count()
        for _ in range(50):
            host.call_all("openastro_propose", context=CONTEXT)
        assert threading.active_count() <= before + 1
        hanging.release.set()


def test_notify_isolates_failures_and_ignores_results(budget):
    seen = []

    class Listener:
        @hookimpl
        def openastro_event(self, event):
            seen.append(event)
            return "ignored"

    host, failures = make_host({"bad": Raising(), "ok": Listener()}, budget)
    with host:
        assert host.notify("openastro_event", event="e1") is None
    assert seen == ["e1"]
    assert failures == [PluginFailure("bad", "openastro_event", "raised",
                                      "ValueError: bad event")]


def test_failures_on_a_plugin_failed_event_are_logged_not_reported(caplog):
    """Reporting them would log another PluginFailed event, failing again: endless."""

    class Trigger:
        @hookimpl
        def openastro_trigger(self, event):
            raise ValueError("cannot handle")

    host, failures = make_host({"bad": Raising(), "trigger": Trigger()})
    event = PluginFailed(originator_id=__import__("uuid").uuid4(), originator_version=1,
                         timestamp=CONTEXT.now, sim_time=CONTEXT.now, actor="plugin:bad",
                         causation_id=None, correlation_id=None, plugin="bad",
                         hook="openastro_event", failure="raised", message="ValueError: x")
    with host, caplog.at_level(logging.WARNING):
        host.notify("openastro_event", event=event)
        assert host.call_all("openastro_trigger", event=event) == []
        assert failures == []
        assert "plugin 'bad' failed in openastro_event (raised, not reported)" in caplog.text
        assert "plugin 'trigger' failed in openastro_trigger (raised, not reported)" in caplog.text
        host.call_all("openastro_trigger", event="another event")
        assert [f.plugin for f in failures] == ["trigger"]


def test_failure_listeners_and_default_logging(caplog):
    host = PluginHost.discover(enabled=[], extra={"bad": Raising()})
    with host:
        with caplog.at_level(logging.WARNING):
            host.call_all("openastro_propose", context=CONTEXT)
        assert "plugin 'bad' failed in openastro_propose (raised)" in caplog.text
        got: list[PluginFailure] = []
        remove = host.add_failure_listener(got.append)
        host.call_all("openastro_propose", context=CONTEXT)
        remove()
        host.call_all("openastro_propose", context=CONTEXT)
        assert len(got) == 1


def test_calling_mistakes_are_errors_of_the_caller():
    host, _ = make_host({"a": proposer("a")})
    with host:
        with pytest.raises(PluginError, match="unknown hook 'openastro_nope'"):
            host.call_all("openastro_nope")
        with pytest.raises(TypeError, match="missing argument 'candidates'"):
            host.call_all("openastro_filter", context=CONTEXT)
        with pytest.raises(TypeError, match="unexpected argument"):
            host.call_all("openastro_propose", context=CONTEXT, colour="red")


def test_implementations_may_take_a_subset_of_the_arguments():
    class Partial:
        @hookimpl
        def openastro_filter(self, candidates):
            return [Rejection(c.key, "all", 0, 0) for c in candidates]

    host, _ = make_host({"p": Partial()})
    with host:
        [(_, rejections)] = host.call_all("openastro_filter", context=CONTEXT,
                                             candidates=[A])
        assert rejections == [Rejection("a/r", "all", 0, 0)]


def test_call_overhead_is_well_under_a_millisecond():
    class Quick:
        @hookimpl
        def openastro_propose(self, context):
            return []

    host, _ = make_host({"q": Quick()}, budget=2.0)
    with host:
        for _ in range(200):
            host.call_all("openastro_propose", context=CONTEXT)
        n, batches = 1000, []
        for _ in range(3):  # best of three batches: robust to a busy machine
            start = time.perf_counter()
            for _ in range(n):
                host.call_all("openastro_propose", context=CONTEXT)
            batches.append((time.perf_counter() - start) / n)
        per_call = min(batches)
    assert per_call < 0.5e-3, f"{per_call * 1e6:.0f} us per isolated call"

