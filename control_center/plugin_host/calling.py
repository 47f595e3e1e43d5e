"""Fault-isolated hook calls: one implementation at a time, each on its own terms.

pluggy calls every implementation of a hook in one go, so one exception stops
the call. Here each implementation is called separately, in pluggy's order
(last registered first, ``tryfirst`` before and ``trylast`` after the rest),
on a worker thread with a time budget; what it raises, a timeout, or a value of
the wrong type becomes a :class:`PluginFailure` and that implementation is
left out of the result.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import pluggy

from control_center.plugin_host.records import PluginError, PluginFailure, describe_exception
from control_center.plugin_host.validation import HookArguments, check_result
from control_center.plugin_host.workers import WorkerPool

__all__ = ["SETUP_BUDGET_S", "SETUP_HOOKS", "IsolatedCaller", "Report", "Suppress"]

logger = logging.getLogger(__name__)

Report = Callable[[PluginFailure], None]
"""Receives each failure (the decision loop turns it into a ``PluginFailed`` event)."""

Suppress = Callable[[PluginFailure], bool]
"""True for a failure to log instead of report."""

SETUP_HOOKS = frozenset({"openastro_configure", "openastro_night_started"})
"""Hooks meant for set-up work (loading models, building caches)."""

SETUP_BUDGET_S = 30.0
"""Minimum time budget of the :data:`SETUP_HOOKS`."""

_SKIPPED = "skipped:"


class IsolatedCaller:
    """Calls hook implementations one by one, isolating each plugin's failures.

    Parameters
    ----------
    pm : pluggy.PluginManager
        The registered plugins.
    budget_s : float or None
        Time budget of one implementation call, in seconds. None, zero or
        infinity: no budget, calls run on the caller's thread (no timeout).
    report : callable
        Called with each :class:`PluginFailure`, on the caller's thread.
    """

    def __init__(self, pm: pluggy.PluginManager, budget_s: float | None, report: Report) -> None:
        self._pm = pm
        self._report = report
        self._pool = WorkerPool()
        self.budget_s = budget_s

    @property
    def budget_s(self) -> float | None:
        """Time budget of one call in seconds (None: unlimited)."""
        return self._budget_s

    @budget_s.setter
    def budget_s(self, value: float | None) -> None:
        if value is not None and (value <= 0 or math.isinf(value)):
            value = None
        self._budget_s = value

    def close(self) -> None:
        """Stop the idle worker threads."""
        self._pool.close()

    def implementations(self, hook_name: str, kwargs: Mapping[str, object],
                        plugin: str | None = None) -> list[pluggy.HookImpl]:
        """The implementations of ``hook_name`` in call order (wrappers excluded).

        Parameters
        ----------
        hook_name : str
            A hook declared in ``control_center.plugin_api.hookspecs``.
        kwargs : Mapping
            The call's arguments, checked against the hook's specification.
        plugin : str, optional
            Only this plugin's implementations.

        Raises
        ------
        PluginError
            If no such hook is declared.
        TypeError
            If ``kwargs`` misses an argument of the hook or has an unknown one.
        """
        hook = getattr(self._pm.hook, hook_name, None)
        spec = None if hook is None else hook.spec
        if spec is None:
            raise PluginError(f"unknown hook {hook_name!r}")
        for name in spec.argnames:
            if name not in kwargs:
                raise TypeError(f"{hook_name}() call is missing argument {name!r}")
        if len(kwargs) > len(spec.argnames):
            extra = sorted(set(kwargs) - set(spec.argnames) - set(spec.kwargnames))
            if extra:
                raise TypeError(f"{hook_name}() got unexpected argument(s) {', '.join(extra)}")
        return [impl for impl in reversed(hook.get_hookimpls())
                if not (impl.wrapper or impl.hookwrapper)
                and (plugin is None or impl.plugin_name == plugin)]

    def call_all(self, hook_name: str, kwargs: Mapping[str, object], plugin: str | None = None,
                 suppress: Suppress | None = None) -> list[tuple[str, Any]]:
        """Every valid non-None result as ``(plugin name, value)``, in call order.

        Parameters
        ----------
        hook_name, kwargs
            The hook and its arguments.
        plugin : str, optional
            Call only this plugin.
        suppress : callable, optional
            Failures for which it returns True are logged instead of reported.
        """
        args = HookArguments(kwargs)
        results = []
        for impl in self.implementations(hook_name, kwargs, plugin):
            value = self._checked_call(impl, hook_name, kwargs, args, suppress)
            if value is not None:
                results.append((impl.plugin_name, value))
        return results

    def call_first(self, hook_name: str, kwargs: Mapping[str, object],
                   suppress: Suppress | None = None) -> tuple[str, Any] | None:
        """The first valid non-None result as ``(plugin name, value)``, or None.

        Implementations after the first one that answers are not called.
        ``suppress`` is that of :meth:`call_all`.
        """
        args = HookArguments(kwargs)
        for impl in self.implementations(hook_name, kwargs):
            value = self._checked_call(impl, hook_name, kwargs, args, suppress)
            if value is not None:
                return impl.plugin_name, value
        return None

    def notify(self, hook_name: str, kwargs: Mapping[str, object], plugin: str | None = None,
               suppress: Suppress | None = None) -> None:
        """Call every implementation for its side effects; return values are ignored.

        A plugin skipped because an earlier call of it is still running is not
        reported again here (its timeout was), only logged.

        ``plugin`` and ``suppress`` are those of :meth:`call_all`.
        """
        for impl in self.implementations(hook_name, kwargs, plugin):
            _, failure = self._call(impl, hook_name, kwargs)
            if failure is None:
                continue
            if failure.message.startswith(_SKIPPED):
                logger.debug("%s", failure)
            else:
                self._deliver(failure, suppress)

    def _deliver(self, failure: PluginFailure, suppress: Suppress | None) -> None:
        if suppress is not None and suppress(failure):
            logger.warning("plugin %r failed in %s (%s, not reported): %s", failure.plugin,
                           failure.hook, failure.failure, failure.message)
        else:
            self._report(failure)

    def _checked_call(self, impl: pluggy.HookImpl, hook_name: str, kwargs: Mapping[str, object],
                      args: HookArguments, suppress: Suppress | None) -> Any:
        value, failure = self._call(impl, hook_name, kwargs)
        if failure is None and value is not None:
            problem = check_result(hook_name, value, args)
            if problem is not None:
                failure = PluginFailure(impl.plugin_name, hook_name, "invalid", problem)
        if failure is not None:
            self._deliver(failure, suppress)
            return None
        return value

    def _call(self, impl: pluggy.HookImpl, hook_name: str,
              kwargs: Mapping[str, object]) -> tuple[Any, PluginFailure | None]:
        args = [kwargs[name] for name in impl.argnames]
        kw = ({name: kwargs[name] for name in impl.kwargnames if name in kwargs} or None
              if impl.kwargnames else None)
        budget = self._budget_s
        if budget is not None and hook_name in SETUP_HOOKS:
            budget = max(budget, SETUP_BUDGET_S)
        if budget is None:
            try:
                return impl.function(*args, **(kw or {})), None
            except Exception as exc:  # noqa: BLE001 - isolated and reported
                return None, self._raised(impl, hook_name, exc)
        status, value = self._pool.run(impl.plugin_name, hook_name, impl.function, args, kw,
                                       budget)
        if status == "ok":
            return value, None
        if status == "raised":
            return None, self._raised(impl, hook_name, value)  # type: ignore[arg-type]
        if status == "timeout":
            message = f"did not return within its {budget:g} s time budget"
        else:
            message = (f"{_SKIPPED} its earlier {value} call ran past its time budget "
                       "and is still running")
        return None, PluginFailure(impl.plugin_name, hook_name, "timeout", message)

    @staticmethod
    def _raised(impl: pluggy.HookImpl, hook_name: str, exc: BaseException) -> PluginFailure:
        logger.debug("plugin %r raised in %s", impl.plugin_name, hook_name, exc_info=exc)
        return PluginFailure(impl.plugin_name, hook_name, "raised", describe_exception(exc))
