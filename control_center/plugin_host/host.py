"""The plugin host: loads every plugin, validates the settings, calls hooks safely."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Self

import pluggy

from control_center.events.plugin import PluginFailed
from control_center.network import Network
from control_center.plugin_api import PROJECT, Settings, hookspecs
from control_center.plugin_host.calling import IsolatedCaller, Report
from control_center.plugin_host.loading import (
    PluginSource,
    entry_point_sources,
    extra_sources,
    group_by_name,
    instantiate,
    select,
)
from control_center.plugin_host.records import (
    PluginError,
    PluginFailure,
    PluginInfo,
    describe_exception,
    one_line,
)
from control_center.plugin_host.validation import check_settings

__all__ = ["PluginHost"]

logger = logging.getLogger(__name__)

_NO_EXTRA: Mapping[str, object] = MappingProxyType({})
_CONFIGURE = "openastro_configure"


class PluginHost:
    """Every loaded plugin, and fault-isolated calls into their hooks.

    Build one with :meth:`load` (a run) or :meth:`discover` (listing plugins
    without settings or a network).

    Parameters
    ----------
    on_failure : callable, optional
        Receives each :class:`PluginFailure` (a plugin that could not be
        loaded, or a call that raised, timed out or returned an invalid value),
        on the calling thread; more receivers can be added with
        :meth:`add_failure_listener`. With none, failures are logged as warnings.
    time_budget_s : float or None
        Time budget of one implementation call; None for no limit.

    Examples
    --------
    >>> from control_center.plugin_api import hookimpl
    >>> class Echo:
    ...     @hookimpl
    ...     def openastro_trigger(self, event):
    ...         return "echo"
    >>> host = PluginHost.discover(enabled=["echo"], extra={"echo": Echo})
    >>> host.call_all("openastro_trigger", event=None)
    [('echo', 'echo')]
    >>> host.close()
    """

    def __init__(self, *, on_failure: Report | None = None,
                 time_budget_s: float | None = Settings.plugin_time_budget_s) -> None:
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: list[PluginInfo] = []
        self._listeners: list[Report] = [] if on_failure is None else [on_failure]
        self._calls = IsolatedCaller(self._pm, time_budget_s, self._report)
        self._configuration: dict[str, object] | None = None

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def load(cls, settings: Settings, network: Network, *,
             enabled: Sequence[str] | None = None, disabled: Sequence[str] = (),
             extra: Mapping[str, object] = _NO_EXTRA, on_failure: Report | None = None,
             entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
             ) -> PluginHost:
        """Load the plugins of a run, check the settings, then configure every plugin.

        Parameters
        ----------
        settings : Settings
            Run settings: ``policy`` and ``scorer`` must name loaded plugins;
            ``plugin_time_budget_s`` is the budget of each call.
        network : Network
            Passed to ``openastro_configure``.
        enabled : sequence of str, optional
            Load only these plugins (default: every one found). The ``extra``
            plugins are loaded whether listed here or not.
        disabled : sequence of str
            Do not load these (entry-point or extra plugins).
        extra : Mapping
            In-process plugins by name (a module, class or instance); a name
            already declared by an entry point replaces that plugin.
        on_failure : callable, optional
            Receives each :class:`PluginFailure`.
        entry_points : iterable of EntryPoint, optional
            Use these instead of the installed ``openastro.plugins`` ones.

        Raises
        ------
        PluginError
            If ``enabled`` or ``disabled`` names an unknown plugin, or the
            policy or scorer is not a loaded plugin implementing its hook.
        """
        host = cls.discover(enabled=enabled, disabled=disabled, extra=extra,
                            on_failure=on_failure, entry_points=entry_points,
                            time_budget_s=settings.plugin_time_budget_s)
        try:
            host.check_settings(settings)
        except PluginError:
            host.close()
            raise
        host.configure(settings, network)
        return host

    @classmethod
    def discover(cls, *, enabled: Sequence[str] | None = None, disabled: Sequence[str] = (),
                 extra: Mapping[str, object] = _NO_EXTRA, on_failure: Report | None = None,
                 entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
                 time_budget_s: float | None = Settings.plugin_time_budget_s) -> PluginHost:
        """Import and register plugins without configuring them (``plugins list``).

        Parameters are those of :meth:`load`. A plugin that cannot be imported,
        instantiated or registered is kept as broken in :meth:`plugins` and
        reported to ``on_failure`` (hook ``"load"``); loading goes on.
        Plugins are registered so that, all else equal, their implementations
        are called in name order.
        """
        host = cls(on_failure=on_failure, time_budget_s=time_budget_s)
        grouped = group_by_name(entry_point_sources(entry_points), extra_sources(extra))
        # pluggy calls the last registered first: register in reverse name order.
        for name in reversed(select(grouped, enabled, disabled, always=extra)):
            first, *others = grouped[name]
            host._load(first)
            for other in others:
                host._broken(other, f"name {name!r} is also declared by {first.origin} "
                                    f"({first.path}), which was loaded")
        host._infos.sort(key=lambda info: (info.name, info.error is not None))
        return host

    def configure(self, settings: Settings, network: Network) -> None:
        """Call ``openastro_configure`` on every plugin (historic).

        Plugins registered later with :meth:`register` are configured at once
        with the same arguments. Also sets the time budget from ``settings``.
        """
        self._calls.budget_s = settings.plugin_time_budget_s
        self._configuration = {"settings": settings, "network": network}
        self._calls.notify(_CONFIGURE, self._configuration)

    def check_settings(self, settings: Settings) -> None:
        """Check that ``settings.policy`` and ``settings.scorer`` name loaded plugins.

        Raises
        ------
        PluginError
            ``"unknown policy 'x'; available: greedy"`` and the like.
        """
        broken = {i.name: i.error for i in self._infos if i.error is not None}
        check_settings(settings, self._pm, broken)

    def register(self, plugin: object, name: str) -> PluginInfo:
        """Register an in-process plugin now (a module, class or instance).

        If the host is configured, the plugin's ``openastro_configure`` is
        called at once (historic hook).

        Raises
        ------
        PluginError
            If the name is taken or the plugin is invalid.
        """
        if self._pm.has_plugin(name) or any(i.name == name for i in self._infos):
            raise PluginError(f"a plugin named {name!r} is already loaded")
        source = extra_sources({name: plugin})[0]
        error = self._register(instantiate(plugin), source)
        if error is not None:
            raise PluginError(f"plugin {name!r}: {error}")
        if self._configuration is not None:
            self._calls.notify(_CONFIGURE, self._configuration, plugin=name)
        return next(i for i in self._infos if i.name == name)

    def unregister(self, name: str) -> None:
        """Remove a plugin (loaded or broken) by name; unknown names are ignored."""
        plugin = self._pm.get_plugin(name)
        if plugin is not None:
            self._pm.unregister(plugin)
        self._infos = [i for i in self._infos if i.name != name]

    def add_failure_listener(self, listener: Report) -> Callable[[], None]:
        """Also send each :class:`PluginFailure` to ``listener``; returns its remover.

        Listeners run on the thread that made the failing call, in the order
        they were added (``on_failure`` first). With no listener at all,
        failures are logged as warnings.
        """
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def close(self) -> None:
        """Stop the idle worker threads (calls after this raise RuntimeError)."""
        self._calls.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- facts ------------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin asked for, loaded or broken, by name."""
        return list(self._infos)

    @property
    def time_budget_s(self) -> float | None:
        """Time budget of one call in seconds (None: unlimited)."""
        return self._calls.budget_s

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (read it; call hooks through the host)."""
        return self._pm

    def __repr__(self) -> str:
        names = ", ".join(i.name if i.ok else f"{i.name} (broken)" for i in self._infos)
        return f"<PluginHost [{names}]>"

    # -- calls ------------------------------------------------------------------------------

    def call_all(self, hook_name: str, **kwargs: object) -> list[tuple[str, Any]]:
        """Call every implementation; collect the valid non-None results.

        Returns
        -------
        list of (str, object)
            ``(plugin name, result)`` in pluggy's call order.
        """
        return self._calls.call_all(hook_name, kwargs, suppress=_feedback_guard(kwargs))

    def call_first(self, hook_name: str, **kwargs: object) -> tuple[str, Any] | None:
        """Call implementations in order until one returns a valid non-None result.

        Returns
        -------
        (str, object) or None
            ``(plugin name, result)``, or None when no plugin answered.
        """
        return self._calls.call_first(hook_name, kwargs, suppress=_feedback_guard(kwargs))

    def notify(self, hook_name: str, **kwargs: object) -> None:
        """Call every implementation of a notification hook; results are ignored."""
        if hook_name == _CONFIGURE:
            raise PluginError(f"{_CONFIGURE} is historic: call PluginHost.configure")
        self._calls.notify(hook_name, kwargs, suppress=_feedback_guard(kwargs))

    # -- internals --------------------------------------------------------------------------

    def _report(self, failure: PluginFailure) -> None:
        if self._listeners:
            for listener in list(self._listeners):
                listener(failure)
        else:
            logger.warning("plugin %r failed in %s (%s): %s", failure.plugin, failure.hook,
                           failure.failure, failure.message)

    def _load(self, source: PluginSource) -> None:
        try:
            plugin = instantiate(source.load())
        except (Exception, SystemExit) as exc:  # a broken plugin, not a crash
            logger.debug("plugin %r failed to load", source.name, exc_info=exc)
            self._broken(source, describe_exception(exc))
            return
        error = self._register(plugin, source)
        if error is not None:
            self._broken(source, error)

    def _register(self, plugin: object, source: PluginSource) -> str | None:
        """Register ``plugin``; return why it cannot be, or None (info recorded)."""
        other = self._pm.get_name(plugin) if self._pm.is_registered(plugin) else None
        if other is not None:
            return f"the same object is already registered as {other!r}"
        try:
            self._pm.register(plugin, name=source.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            return one_line(str(exc))
        problem = self._hook_problem(plugin)
        if problem is not None:
            self._pm.unregister(plugin)
            return problem
        hooks = tuple(sorted(caller.name for caller in self._pm.get_hookcallers(plugin) or ()))
        self._infos.append(PluginInfo(source.name, source.origin, source.path, hooks))
        return None

    def _hook_problem(self, plugin: object) -> str | None:
        for caller in self._pm.get_hookcallers(plugin) or ():
            impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
            if not caller.has_spec() and not all(i.optionalhook for i in impls):
                return f"implements unknown hook {caller.name!r}"
            if any(i.wrapper or i.hookwrapper for i in impls):
                return f"hook wrappers are not supported ({caller.name})"
        return None

    def _broken(self, source: PluginSource, error: str) -> None:
        self._infos.append(PluginInfo(source.name, source.origin, source.path, (), error))
        self._report(PluginFailure(source.name, "load", "raised", error))


def _feedback_guard(kwargs: Mapping[str, object]) -> Callable[[PluginFailure], bool] | None:
    """Failures to log rather than report: those on an event reporting a plugin failure.

    Reporting them would append another ``PluginFailed`` event, passed to the
    same hooks, failing again: an endless chain. They are logged as warnings.
    """
    return _always if isinstance(kwargs.get("event"), PluginFailed) else None


def _always(failure: PluginFailure) -> bool:
    return True
