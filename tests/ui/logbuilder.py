"""Write small, realistic logs for the console's tests (real events, real EventLog).

Every helper appends through ``log.batch`` exactly as the control center
does, so what the console folds is what a running night records.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from eventsourcing.utils import clear_topic_cache

from control_center.eventlog import EventLog, LogEvent, stream_id
from control_center.events import (
    AlertReceived,
    AlertRejected,
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    FrameAnalyzed,
    NightEnded,
    NightStarted,
    NoAssignment,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
    SiteConditionsChanged,
    SiteHealthChanged,
    TransientDetected,
)
from control_center.events.decision import CANDIDATE_FIELDS, to_columns
from control_center.network import Network, load_network

START = datetime(2026, 3, 21, 23, 0, tzinfo=UTC)
"""Start of the test nights (dark at Cerro Pachón and La Palma, day at Hanle)."""


class Unknown(LogEvent):
    """An event type from a 'newer plugin': its class is removed from the module after
    writing, so readers cannot import it (see :func:`write_unknown_event`)."""

    what: str


class LogBuilder:
    """Appends events to ``log`` for a night starting at ``start``."""

    def __init__(self, log: EventLog, network: Network | None = None, *,
                 start: datetime = START, hours: float = 2.0, seed: int = 7) -> None:
        self.log = log
        self.network = network or load_network()
        self.start = start
        self.end = start + timedelta(hours=hours)
        self.night = uuid.uuid5(uuid.NAMESPACE_URL, f"test-night:{seed}:{start.isoformat()}")
        self.seed = seed
        self._n = 0

    def at(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def _batch(self, actor: str, minutes: float):
        return self.log.batch(actor=actor, sim_time=self.at(minutes), correlation_id=self.night)

    def night_started(self, *, network_dict: dict | None = None) -> None:
        with self._batch("control-center", 0) as b:
            b.add(NightStarted, stream=self.night, network_name=self.network.name,
                  network_source="test", start=self.start, end=self.end, seed=self.seed,
                  sites={s.name: {"dark": [], "telescopes": [t.name for t in s.telescopes]}
                         for s in self.network.sites},
                  policy="greedy", plugins=["greedy"],
                  network=self.network.to_dict() if network_dict is None else network_dict,
                  settings={"policy": "greedy"}, plugin_versions={})

    def night_ended(self, minutes: float, reason: str = "end of the simulated span") -> None:
        with self._batch("control-center", minutes) as b:
            b.add(NightEnded, stream=self.night, reason=reason)

    def request(self, request_id: str, *, target: str = "NGC1234", program: str = "galaxies",
                kind: str = "science", priority: float = 5.0, filters=("g", "r"),
                repeats: int = 1, minutes: float = 0, ra_deg: float = 150.0,
                dec_deg: float = -20.0, not_before: datetime | None = None,
                not_after: datetime | None = None) -> None:
        with self._batch("control-center", minutes) as b:
            b.add(ObservationRequested, stream=stream_id("request", request_id),
                  request_id=request_id, program=program, kind=kind, target=target,
                  ra_deg=ra_deg, dec_deg=dec_deg, filters=list(filters), exposure_s=60.0,
                  priority=priority, repeats=repeats, not_before=not_before,
                  not_after=not_after)

    def conditions(self, site: str, minutes: float, *, open: bool = True, seeing: float = 0.9,
                   sky: float = 21.5, cloud: float = 0.1, reason: str = "") -> None:
        with self._batch(f"site:{site}", minutes) as b:
            b.add(SiteConditionsChanged, stream=stream_id("site", site), site=site,
                  cloud_cover=cloud, humidity=0.3, wind_m_s=5.0, seeing_arcsec=seeing,
                  sky_v_mag_arcsec2=sky, open=open, reason=reason)

    def health(self, site: str, minutes: float, state: str, previous: str = "online",
               reason: str = "") -> None:
        with self._batch("control-center", minutes) as b:
            b.add(SiteHealthChanged, stream=stream_id("site", site), site=site, state=state,
                  previous=previous, reason=reason, address="127.0.0.1:50051")

    def decision(self, minutes: float, site: str, telescope: str, *,
                 request_id: str | None = None, target: str = "NGC1234", filter: str = "r",
                 duration_s: float = 600.0, trigger: str = "observation-ended",
                 reason: str = "highest expected value", n_candidates: int = 3
                 ) -> tuple[str, str | None]:
        """A whole decision (and its assignment when ``request_id`` is given);
        returns (decision id, observation id)."""
        self._n += 1
        decision = uuid.uuid5(self.night, f"decision:{self._n}")
        candidates = [{"request_id": f"{request_id or 'cand'}-{i}" if i else (request_id or "x"),
                       "target": target, "ra_deg": 150.0, "dec_deg": -20.0, "filter": filter,
                       "exposure_s": 60.0, "program": "galaxies", "kind": "science",
                       "priority": 5.0, "proposed_by": "queue", "not_before": None,
                       "not_after": None} for i in range(n_candidates)]
        observation_id = None
        with self._batch("control-center", minutes) as b:
            t = b.add(DecisionTriggered, stream=decision, trigger=trigger, site=site,
                      telescope=telescope, inputs={"policy": "greedy", "scorer": "value-formula",
                                                   "seed": self._n})
            b.add(CandidatesProposed, stream=decision, causation=t,
                  candidates=to_columns(candidates, CANDIDATE_FIELDS))
            b.add(CandidatesRejected, stream=decision, causation=t,
                  rejections={"candidate": [], "constraint": [], "value": [], "limit": [],
                              "plugin": []})
            keys = [f"{c['request_id']}/{c['filter']}" for c in candidates]
            b.add(CandidatesScored, stream=decision, causation=t, scorer="value-formula",
                  scores={"candidate": keys, "value": [1.0 - 0.1 * i for i in range(len(keys))],
                          "sigma": [0.1] * len(keys)})
            if request_id is None:
                b.add(NoAssignment, stream=decision, causation=t, actor="plugin:greedy",
                      policy="greedy", reason=reason)
            else:
                chosen = b.add(AssignmentChosen, stream=decision, causation=t,
                               actor="plugin:greedy", policy="greedy",
                               candidate=candidates[0] | {"key": keys[0]}, reason=reason)
                observation_id = str(uuid.uuid5(chosen.event_id, "observation"))
                now = self.at(minutes)
                b.add(ObservationAssigned, stream=stream_id("observation", observation_id),
                      causation=chosen, observation_id=observation_id, request_id=request_id,
                      site=site, telescope=telescope, target=target, ra_deg=150.0,
                      dec_deg=-20.0, filter=filter, exposure_s=60.0, expected_start=now,
                      expected_end=now + timedelta(seconds=duration_s), expected_value=1.0)
        return str(decision), observation_id

    def completed(self, minutes: float, observation_id: str, request_id: str, site: str,
                  telescope: str, *, filter: str = "r", zero_point: float | None = None) -> None:
        common = {"observation_id": observation_id, "request_id": request_id, "site": site,
                  "telescope": telescope, "filter": filter, "started": self.at(minutes - 10),
                  "ended": self.at(minutes)}
        stream = stream_id("observation", observation_id)
        with self._batch(f"site:{site}", minutes) as b:
            if zero_point is not None:
                b.add(FrameAnalyzed, stream=stream, observation_id=observation_id, site=site,
                      telescope=telescope, seq=1, pipeline="edge",
                      measures={"zero_point": zero_point, "fwhm_arcsec": 1.0,
                                "n_sources": 40, "verdict": "ok"}, error="")
            b.add(ObservationCompleted, stream=stream, snr=50.0, seeing_arcsec=0.9, airmass=1.2,
                  science_value=1.0, **common)

    def failed(self, minutes: float, observation_id: str, request_id: str, site: str,
               telescope: str, reason: str = "clouds", filter: str = "r") -> None:
        with self._batch(f"site:{site}", minutes) as b:
            b.add(ObservationFailed, stream=stream_id("observation", observation_id),
                  observation_id=observation_id, request_id=request_id, site=site,
                  telescope=telescope, filter=filter, started=self.at(minutes - 10),
                  ended=self.at(minutes), reason=reason)

    def anomaly(self, minutes: float, observation_id: str, site: str, telescope: str, *,
                verdict: str = "anomalous", score: float | None = 0.93,
                transients: int = 0) -> None:
        """The edge pipeline's measures of a frame (flagged ``verdict``), and ``transients``
        detections in it."""
        stream = stream_id("observation", observation_id)
        with self._batch(f"site:{site}", minutes) as b:
            b.add(FrameAnalyzed, stream=stream, observation_id=observation_id, site=site,
                  telescope=telescope, seq=2, pipeline="edge",
                  measures={"zero_point": 24.0, "fwhm_arcsec": 1.1, "n_sources": 12,
                            "verdict": verdict, "anomaly_score": score,
                            "n_transients": transients}, error="")
            for i in range(transients):
                b.add(TransientDetected, stream=stream, observation_id=observation_id,
                      site=site, telescope=telescope, filter="r", ra_deg=150.01 + i,
                      dec_deg=-20.0, mag=18.5 + i, snr=25.0, detector="edge")

    def alert(self, minutes: float, alert_id: str, short_id: str, *, kind: str = "grb",
              priority: float = 9.0, observable: bool = True, note: str = "") -> None:
        with self._batch("control-center", minutes) as b:
            b.add(AlertReceived, stream=stream_id("alert", alert_id), alert_id=alert_id,
                  short_id=short_id, broker="gcn", source=f"{short_id}.xml", format="voevent",
                  kind=kind, role="observation", issued=self.at(minutes), event_time=None,
                  ra_deg=150.0, dec_deg=-20.0, error_deg=0.01, tiles=[], tile_side_deg=0.4,
                  area90_deg2=None, tiles_probability=None, importance=0.9, priority=priority,
                  observable=observable, note=note, revision=1, supersedes=[], params={},
                  skymap=None, digest=f"digest-{short_id}")

    def alert_rejected(self, minutes: float, source: str, reason: str) -> None:
        with self._batch("control-center", minutes) as b:
            b.add(AlertRejected, stream=stream_id("alert-rejected", source), source=source,
                  reason=reason, alert_id="", format="voevent", size_bytes=12,
                  digest=f"digest-{source}")


def write_unknown_event(log: EventLog, minutes: float = 1.0, what: str = "from the future"
                        ) -> None:
    """Append an event whose class readers cannot import (a newer plugin's type)."""
    cls = type("FutureThing", (Unknown,), {"__module__": "openastro_future_plugin.events",
                                            "__qualname__": "FutureThing"})
    cls.__annotations__ = {"what": str}
    with log.batch(actor="plugin:future", sim_time=START + timedelta(minutes=minutes)) as b:
        b.add(cls, stream=stream_id("future", what), what=what)
    clear_topic_cache()   # forget the class: readers now cannot resolve its topic


def demo_log(path) -> dict:
    """A small night: 3 sites, decisions, observations, an alert, a rejected notice.

    Returns ids the tests look for.
    """
    ids: dict = {}
    with EventLog.open(path, durable=False) as log:
        b = LogBuilder(log)
        b.night_started()
        b.request("galaxies-NGC1234", target="NGC1234", priority=6.0)
        b.request("variables-VAR-0042", target="VAR-0042", program="variables", priority=8.5,
                  filters=("g",), repeats=2)
        b.conditions("cerro-pachon", 0, seeing=0.82, sky=21.7)
        b.conditions("la-palma", 0, seeing=1.10, sky=21.4)
        b.conditions("hanle", 0, open=False, cloud=0.91, reason="cloud cover 0.91 > 0.7")
        d1, o1 = b.decision(1, "cerro-pachon", "pachon-1m", request_id="galaxies-NGC1234",
                            target="NGC1234", filter="g", duration_s=600)
        b.completed(11, o1, "galaxies-NGC1234", "cerro-pachon", "pachon-1m", filter="g",
                    zero_point=25.1)
        d2, o2 = b.decision(12, "cerro-pachon", "pachon-1m", request_id="variables-VAR-0042",
                            target="VAR-0042", filter="g", duration_s=1800)
        d3, _ = b.decision(13, "la-palma", "palma-1m", reason="no feasible candidate")
        b.alert(14, "ivo://gcn/SWIFT#1234", "SWIFT-1234")
        b.request("alert:SWIFT-1234", target="SWIFT-1234", program="alerts", kind="followup",
                  priority=9.0, filters=("r",), minutes=14)
        d4, o4 = b.decision(15, "la-palma", "palma-1m", request_id="alert:SWIFT-1234",
                            target="SWIFT-1234", filter="r", duration_s=300,
                            trigger="alerts: new alert SWIFT-1234")
        b.alert_rejected(16, "broken.xml", "not a VOEvent: no <Who>")
        b.conditions("cerro-pachon", 20, seeing=0.95, sky=21.6)
        ids.update(decisions=[d1, d2, d3, d4], observations=[o1, o2, o4], night=str(b.night),
                   now=b.at(20))
    return ids
