"""Checks on what plugins return, and on the settings that name plugins.

Each result-bearing hook has a validator returning None when the value is
acceptable, or a one-line description of what is wrong ("returned str,
expected list[Candidate]"). Hooks without a validator accept any value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Real

import pluggy

from control_center.plugin_api.types import Candidate, Choice, Rejection, Score, Settings
from control_center.plugin_host.records import PluginError, one_line

__all__ = ["HookArguments", "check_result", "check_settings"]


class HookArguments:
    """The keyword arguments of one hook call, with derived facts computed once.

    Parameters
    ----------
    kwargs : Mapping
        The arguments the hook was called with.
    """

    __slots__ = ("_keys", "kwargs")

    def __init__(self, kwargs: Mapping[str, object]) -> None:
        self.kwargs = kwargs
        self._keys: frozenset[str] | None = None

    def candidate_keys(self) -> frozenset[str] | None:
        """Keys of the ``candidates`` argument, or None if the hook has none."""
        if self._keys is None:
            candidates = self.kwargs.get("candidates")
            if candidates is None:
                return None
            self._keys = frozenset(c.key for c in candidates)  # type: ignore[attr-defined]
        return self._keys


Validator = Callable[[object, HookArguments], "str | None"]


def _kind(value: object) -> str:
    return type(value).__name__


def _list_of(item_type: type, keyed: bool) -> Validator:
    expected = f"list[{item_type.__name__}]"

    def check(value: object, args: HookArguments) -> str | None:
        if not isinstance(value, list):
            return f"returned {_kind(value)}, expected {expected}"
        for i, item in enumerate(value):
            if not isinstance(item, item_type):
                return f"returned {_kind(value)} with {_kind(item)} at index {i}, expected {expected}"
        if keyed and value:
            known = args.candidate_keys()
            if known is not None:
                for item in value:
                    if item.candidate not in known:  # type: ignore[attr-defined]
                        return (f"returned {item_type.__name__} for unknown candidate "
                                f"{item.candidate!r}")  # type: ignore[attr-defined]
        return None

    return check


_check_candidates = _list_of(Candidate, keyed=False)
_check_rejections = _list_of(Rejection, keyed=True)
_check_score_list = _list_of(Score, keyed=True)


def _finite(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


def _check_scores(value: object, args: HookArguments) -> str | None:
    problem = _check_score_list(value, args)
    if problem is not None:
        return problem
    for score in value:  # type: ignore[union-attr]
        if not _finite(score.value):
            return f"returned Score for {score.candidate!r} with value {score.value!r}"
        if not _finite(score.sigma) or score.sigma < 0:
            return f"returned Score for {score.candidate!r} with sigma {score.sigma!r}"
    return None


def _check_choice(value: object, args: HookArguments) -> str | None:
    if not isinstance(value, Choice):
        return f"returned {_kind(value)}, expected Choice"
    known = args.candidate_keys()
    if known is not None and value.candidate not in known:
        return f"returned Choice of unknown candidate {value.candidate!r}"
    return None


def _check_reason(value: object, args: HookArguments) -> str | None:
    if not isinstance(value, str):
        return f"returned {_kind(value)}, expected str or None"
    return None


_VALIDATORS: dict[str, Validator] = {
    "openastro_propose": _check_candidates,
    "openastro_filter": _check_rejections,
    "openastro_score": _check_scores,
    "openastro_choose": _check_choice,
    "openastro_trigger": _check_reason,
}


def check_result(hook_name: str, value: object, args: HookArguments) -> str | None:
    """What is wrong with ``value`` returned by a ``hook_name`` implementation.

    Parameters
    ----------
    hook_name : str
        The hook called.
    value : object
        A non-None return value.
    args : HookArguments
        The call's arguments (candidate keys are checked against them).

    Returns
    -------
    str or None
        None when ``value`` is acceptable, else one line starting "returned".
    """
    validator = _VALIDATORS.get(hook_name)
    return None if validator is None else validator(value, args)


def check_settings(settings: Settings, pm: pluggy.PluginManager,
                   broken: Mapping[str, str]) -> None:
    """Check that ``settings.policy`` and ``settings.scorer`` name loaded plugins.

    Parameters
    ----------
    settings : Settings
        The run settings.
    pm : pluggy.PluginManager
        The registered plugins.
    broken : Mapping
        Name -> error of plugins that failed to load (named in the message).

    Raises
    ------
    PluginError
        ``"unknown policy 'x'; available: greedy"`` and the like.
    """
    for role, name, hook in (("policy", settings.policy, "openastro_choose"),
                             ("scorer", settings.scorer, "openastro_score")):
        providers = sorted({impl.plugin_name for impl in getattr(pm.hook, hook).get_hookimpls()})
        if name in providers:
            continue
        available = ", ".join(providers) or "none"
        if name in broken:
            raise PluginError(one_line(
                f"{role} plugin {name!r} is broken ({broken[name]}); available: {available}"))
        if pm.has_plugin(name):
            raise PluginError(
                f"{role} {name!r} does not implement {hook}; available: {available}")
        raise PluginError(f"unknown {role} {name!r}; available: {available}")
