"""Helpers for testing plugins: a ready-made :class:`DecisionContext` and candidates.

Plugin tests call hooks through a :class:`PluginHost` built with ``extra=``,
exactly as the decision loop does; these helpers build the arguments.

Examples
--------
>>> from control_center.plugin_host import PluginHost
>>> from control_center.plugin_host.testing import candidate, decision_context
>>> from control_center.plugin_api import Rejection, hookimpl
>>> class NoU:
...     @hookimpl
...     def openastro_filter(self, context, candidates):
...         return [Rejection(c.key, "no-u", c.filter, "not u")
...                 for c in candidates if c.filter == "u"]
>>> with PluginHost.discover(enabled=[], extra={"no-u": NoU}) as host:
...     host.call_all("openastro_filter", context=decision_context(),
...                   candidates=[candidate("a", filter="u"), candidate("b")])
[('no-u', [Rejection(candidate='a/u', constraint='no-u', value='u', limit='not u')])]
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from control_center.network import Network, load_network
from control_center.plugin_api.types import (
    Candidate,
    Conditions,
    DecisionContext,
    NightPlan,
    QueuedRequest,
    Settings,
    TelescopeState,
)

__all__ = ["CLEAR", "candidate", "decision_context"]

CLEAR = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
                   sky_v_mag_arcsec2=21.5, open=True)
"""Good conditions at an open site."""

_DEFAULT_NOW = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)


def candidate(request_id: str = "req-1", *, ra_deg: float = 150.0, dec_deg: float = 20.0,
              filter: str = "r", exposure_s: float = 60.0, kind: str = "science",
              program: str = "test", priority: float = 1.0, target: str | None = None,
              ) -> Candidate:
    """A :class:`Candidate` with plausible defaults; its key is ``"<request_id>/<filter>"``."""
    return Candidate(request_id=request_id, target=target or request_id, ra_deg=ra_deg,
                     dec_deg=dec_deg, filter=filter, exposure_s=exposure_s, program=program,
                     kind=kind, priority=priority)


def decision_context(*, network: Network | None = None, telescope: str | None = None,
                     now: datetime = _DEFAULT_NOW, conditions: Conditions = CLEAR,
                     queue: Sequence[QueuedRequest] = (), settings: Settings | None = None,
                     busy_targets: Mapping[str, str] | None = None,
                     extras: Mapping[str, object] | None = None, seed: int = 0,
                     trigger: str = "test") -> DecisionContext:
    """A :class:`DecisionContext` for one telescope, every site in ``conditions``.

    Parameters
    ----------
    network : Network, optional
        Default: the network shipped with OpenAstro.
    telescope : str, optional
        Telescope name; default: the network's first telescope.
    now : datetime
        Time of the decision (UTC).
    conditions : Conditions
        Conditions at every site.
    queue, settings, busy_targets, extras, seed, trigger
        Fields of the context (defaults: empty, ``Settings()``, 0, ``"test"``).

    Notes
    -----
    The night spans ``now`` - 2 h to ``now`` + 8 h and every site counts as
    dark throughout: enough for plugins that do not compute their own twilight.
    """
    network = network or load_network()
    pairs = network.telescopes()
    site, scope = (pairs[0] if telescope is None
                   else next((p for p in pairs if p[1].name == telescope), (None, None)))
    if site is None or scope is None:
        names = ", ".join(t.name for _, t in pairs)
        raise ValueError(f"no telescope {telescope!r} in the network; available: {names}")
    start, end = now - timedelta(hours=2), now + timedelta(hours=8)
    night = NightPlan(start=start, end=end, network=network,
                      dark={s.name: ((start, end),) for s in network.sites})
    state = TelescopeState(site=site, telescope=scope, pointing_ra_deg=None,
                           pointing_dec_deg=None, filter=None)
    return DecisionContext(
        decision_id=uuid.UUID(int=seed), trigger=trigger, now=now, night=night,
        telescope=state, conditions=conditions,
        conditions_by_site={s.name: conditions for s in network.sites}, queue=tuple(queue),
        busy_targets=dict(busy_targets or {}), settings=settings or Settings(), seed=seed,
        extras=dict(extras or {}),
    )
