"""The ``[indi]`` configuration table and the backend's behaviour without a server."""

from __future__ import annotations

import tomllib

import pytest

from site_node.backends.base import InstrumentBackend, InstrumentError, ObservationCommand
from site_node.backends.indi import IndiBackend, IndiConfig

TOML = """
[indi]
host = "192.168.1.20"
port = 7625
telescope = "EQMod Mount"
ccd = "ZWO CCD ASI294MM Pro"
weather = "AAG Cloudwatcher"
wheel = "ZWO EFW"
dome = ""
telescope_name = "pier-1"
observatory = "Hilltop"
latitude_deg = 47.5
longitude_deg = -120.25
connect_timeout_s = 5
slew_timeout_s = 120

[indi.filters]
R = "Red"
L = 8
"""


def test_reads_a_site_table():
    cfg = IndiConfig.from_mapping(tomllib.loads(TOML)["indi"])
    assert (cfg.host, cfg.port, cfg.address) == ("192.168.1.20", 7625, "192.168.1.20:7625")
    assert cfg.devices == {"telescope": "EQMod Mount", "ccd": "ZWO CCD ASI294MM Pro",
                           "weather": "AAG Cloudwatcher", "wheel": "ZWO EFW"}
    assert cfg.dome is None and cfg.filters == {"R": "Red", "L": 8}
    assert cfg.slew_timeout_s == 120.0 and cfg.readout_timeout_s == 60.0


def test_defaults_are_the_debian_simulators():
    cfg = IndiConfig()
    assert cfg.address == "127.0.0.1:7624"
    assert cfg.devices == {"telescope": "Telescope Simulator", "ccd": "CCD Simulator",
                           "weather": "Weather Simulator"}


@pytest.mark.parametrize(("table", "message"), [
    ({"hots": "x"}, "unknown key.*hots"),
    ({"port": 0}, "port must be an integer"),
    ({"port": "7624"}, "port must be an integer"),
    ({"ccd": ""}, "ccd .* must not be empty"),
    ({"slew_timeout_s": 0}, "slew_timeout_s must be > 0"),
    ({"slew_timeout_s": "fast"}, "must be a number"),
    ({"latitude_deg": 10.0}, "both latitude_deg and longitude_deg"),
    ({"latitude_deg": 100.0, "longitude_deg": 0.0}, "latitude_deg out of range"),
    ({"filters": {"R": True}}, "'R' must map to a slot"),
    ({"filters": "R=Red"}, "filters must be a table"),
    ({"telescope": 5}, "telescope must be a string"),
])
def test_rejects_bad_tables(table, message):
    with pytest.raises(ValueError, match=message):
        IndiConfig.from_mapping(table)


def test_backend_implements_the_interface_and_takes_settings():
    backend = IndiBackend(port=7700, ccd="My CCD", name="site-a")
    assert isinstance(backend, InstrumentBackend)
    assert backend.config.port == 7700 and backend.config.ccd == "My CCD"
    assert backend.name == "site-a" and backend.telescope_key == "Telescope Simulator"
    table = tomllib.loads(TOML)["indi"]
    assert IndiBackend.from_config(table).telescope_key == "pier-1"


def _command(**changes) -> ObservationCommand:
    values = {"observation_id": "o1", "request_id": "r1", "telescope": "pier-1",
              "ra_deg": 10.0, "dec_deg": 20.0, "filter": "R", "exposure_s": 5.0}
    return ObservationCommand(**{**values, **changes})


@pytest.mark.parametrize(("changes", "message"), [
    ({"ra_deg": float("nan")}, "ra_deg nan"),
    ({"ra_deg": 360.0}, "ra_deg 360.0"),
    ({"dec_deg": -91.0}, "dec_deg -91.0"),
    ({"exposure_s": 0.0}, "exposure_s 0.0"),
    ({"exposure_s": float("inf")}, "exposure_s inf"),
    ({"filter": ""}, "no filter"),
    ({"telescope": "other"}, "telescope 'other' is not this site's"),
])
def test_invalid_commands_are_refused_before_any_device_is_touched(changes, message):
    backend = IndiBackend.from_config(tomllib.loads(TOML)["indi"])
    with pytest.raises(InstrumentError, match=f"invalid observation 'o1': .*{message}"):
        backend.observe(_command(**changes))


def test_without_a_server_nothing_hangs_and_telemetry_says_why():
    backend = IndiBackend(port=1, connect_timeout_s=1.0)
    with pytest.raises(InstrumentError, match="not connected to INDI server 127.0.0.1:1"):
        backend.observe(_command(telescope="x"))
    with pytest.raises(InstrumentError, match="cannot reach INDI server 127.0.0.1:1"):
        backend.connect()
    telemetry = backend.telemetry()
    assert not telemetry.healthy and not telemetry.conditions.open
    assert "127.0.0.1:1" in telemetry.conditions.reason
    assert backend.cancel("o1") is False
    backend.close()
    backend.close()


def test_site_node_factory_fills_in_the_site():
    from dataclasses import replace

    from control_center.network import load_network
    from site_node.backends.indi import create_backend

    site = load_network().sites[0]
    one = replace(site, telescopes=site.telescopes[:1])
    backend = create_backend(one, {"port": 7700})
    cfg = backend.config
    assert backend.name == site.name and cfg.port == 7700
    assert (cfg.latitude_deg, cfg.longitude_deg) == (site.latitude_deg, site.longitude_deg)
    assert cfg.telescope_name == one.telescopes[0].name == backend.telescope_key
    assert cfg.min_altitude_deg == one.telescopes[0].min_altitude_deg
    assert cfg.observatory == site.label
    kept = create_backend(one, {"latitude_deg": 1.0, "longitude_deg": 2.0,
                                "min_altitude_deg": 5.0, "observatory": "X"}).config
    assert (kept.latitude_deg, kept.min_altitude_deg, kept.observatory) == (1.0, 5.0, "X")
    two = replace(site, telescopes=(site.telescopes[0], replace(site.telescopes[0], name="b")))
    with pytest.raises(ValueError, match="telescope_name is required"):
        create_backend(two, {})
    assert create_backend(two, {"telescope_name": "b"}).telescope_key == "b"
    with pytest.raises(ValueError, match="'nope' is not a telescope"):
        create_backend(two, {"telescope_name": "nope"})
