"""Event versions: upcasting, records from a newer schema, unknown event types."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.utils import clear_topic_cache

from control_center.eventlog import EventLog, LogSchemaTooNew, UnknownEvent
from control_center.eventlog.envelope import LogEvent
from control_center.projections.base import Projection, ProjectionStore
from control_center.projections.log_stats import LogStats

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)

V1 = """
from control_center.eventlog.envelope import LogEvent

class Reading(LogEvent):
    value: float
"""

V2 = """
from typing import ClassVar
from control_center.eventlog.envelope import LogEvent

class Reading(LogEvent):
    class_version: ClassVar[int] = 2
    value: float
    unit: str

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["unit"] = "mag"
"""

V3 = V2.replace("class_version: ClassVar[int] = 2", "class_version: ClassVar[int] = 3") + """
    @staticmethod
    def upcast_v2_v3(state: dict) -> None:
        state["value"] = state["value"] * 10
"""


class PluginModule:
    """A throwaway module that the tests rewrite to change an event class."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.name = f"oa_plugin_{uuid.uuid4().hex[:8]}"
        self.path = tmp_path / f"{self.name}.py"
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setattr(sys, "dont_write_bytecode", True)

    def load(self, source: str | None) -> type[LogEvent] | None:
        """Install ``source`` as the module (None: uninstall it); return its Reading."""
        sys.modules.pop(self.name, None)
        clear_topic_cache()
        if source is None:
            self.path.unlink(missing_ok=True)
            importlib.invalidate_caches()
            return None
        self.path.write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return importlib.import_module(self.name).Reading

    def cleanup(self) -> None:
        sys.modules.pop(self.name, None)
        clear_topic_cache()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = PluginModule(tmp_path, monkeypatch)
    yield module
    module.cleanup()


def write(url: str, cls: type[LogEvent], stream: uuid.UUID, **fields) -> None:
    with EventLog.open(url) as log, log.batch(actor="plugin:meter", sim_time=T0) as b:
        b.add(cls, stream=stream, **fields)


def test_old_records_load_as_the_new_version(plugin: PluginModule, sqlite_url: str) -> None:
    stream = uuid.uuid4()
    v1 = plugin.load(V1)
    write(sqlite_url, v1, stream, value=1.5)
    v2 = plugin.load(V2)
    write(sqlite_url, v2, stream, value=2.5, unit="jy")
    with EventLog.open(sqlite_url) as log:
        events = [r.event for r in log.read()]
        assert [type(e) for e in events] == [v2, v2]
        assert [(e.value, e.unit) for e in events] == [(1.5, "mag"), (2.5, "jy")]
        assert log.stream(stream)[0].unit == "mag"
        assert log.verify().ok
    v3 = plugin.load(V3)
    with EventLog.open(sqlite_url) as log:
        assert [(e.value, e.unit) for e in (r.event for r in log.read())] == \
            [(15.0, "mag"), (25.0, "jy")]
        assert all(type(r.event) is v3 for r in log.read())


def test_record_from_a_newer_class_version_is_refused(plugin: PluginModule,
                                                      sqlite_url: str) -> None:
    v2 = plugin.load(V2)
    write(sqlite_url, v2, uuid.uuid4(), value=1.0, unit="mag")
    plugin.load(V1)
    with EventLog.open(sqlite_url) as log:
        (recorded,) = list(log.read())
        assert recorded.type_name == "Reading"  # the envelope is still readable
        with pytest.raises(LogSchemaTooNew) as info:
            _ = recorded.event
    message = str(info.value)
    assert "record 1" in message and "Reading" in message
    assert "class_version 2" in message and "up to 1" in message
    assert sqlite_url.removeprefix("sqlite:///") in message
    assert "\n" not in message


def test_log_with_newer_schema_version_is_refused_untouched(sqlite_url: str) -> None:
    with EventLog.open(sqlite_url) as log, log.batch(actor="x", sim_time=T0) as b:
        b.add(LogStatsProbe, stream=uuid.uuid4(), note="x")
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    con = sqlite3.connect(path)
    con.execute("UPDATE openastro_log_meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    before = path.read_bytes()
    for create in (True, False):
        with pytest.raises(LogSchemaTooNew) as info:
            EventLog.open(path, create=create)
        assert str(info.value) == (
            f"event log {path}: log schema version 2 is newer than this OpenAstro "
            "supports (1); upgrade OpenAstro to open it")
    assert path.read_bytes() == before


class LogStatsProbe(LogEvent):
    note: str


class CountProbes(Projection):
    name = "count-probes"
    handles = (LogStatsProbe,)

    def __init__(self) -> None:
        self.n = 0

    def apply_event(self, event: LogStatsProbe) -> None:
        self.n += 1

    def to_state(self) -> dict:
        return {"n": self.n}

    def load_state(self, state: dict) -> None:
        self.n = state["n"]


def test_unknown_event_types_do_not_crash_readers(plugin: PluginModule,
                                                  sqlite_url: str) -> None:
    v1 = plugin.load(V1)
    stream = uuid.uuid4()
    with EventLog.open(sqlite_url) as log, log.batch(actor="plugin:meter", sim_time=T0) as b:
        b.add(LogStatsProbe, stream=uuid.uuid4(), note="before")
        b.add(v1, stream=stream, value=3.0)
        b.add(LogStatsProbe, stream=uuid.uuid4(), note="after")
    topic = f"{plugin.name}:Reading"
    plugin.load(None)  # the plugin is not installed any more
    with EventLog.open(sqlite_url) as log:
        recorded = list(log.read())
        unknown = recorded[1].event
        assert isinstance(unknown, UnknownEvent)
        assert unknown.topic == topic and unknown.position == 2
        assert unknown.originator_id == stream and unknown.originator_version == 1
        assert unknown.state["value"] == 3.0 and unknown.state["sim_time"] == T0
        assert unknown.type_name == f"?{topic}" == recorded[1].type_name
        assert recorded[1].event_type is None
        assert unknown.payload() == {"value": 3.0}
        assert recorded[1].actor == "plugin:meter"
        assert isinstance(log.stream(stream)[0], UnknownEvent)
        counter = CountProbes()
        stats = LogStats()
        for r in recorded:
            counter.apply(r)
            stats.apply(r)
        assert counter.n == 2 and counter.position == 3
        assert stats.by_type()[f"?{topic}"] == 1
        store = ProjectionStore(log)
        assert store.rebuild(CountProbes()) == 3
        assert log.verify().ok
