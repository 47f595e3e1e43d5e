"""Parsing alert notices: VOEvent 2.0 and GCN JSON, good and bad."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from control_center.alerts import AlertParseError, parse_alert, short_id
from simulator.alerts import gw_skymap, igwn_notice, skymap_fits, voevent_xml

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
T0 = datetime(2025, 1, 15, 2, 41, 7, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


# -- realistic notices ------------------------------------------------------------------


def test_swift_bat_voevent() -> None:
    alert = parse_alert(fixture("swift_bat_grb.xml"))
    assert alert.alert_id == "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1283461-259"
    assert (alert.broker, alert.kind, alert.role, alert.format) == (
        "nasa.gsfc.gcn", "grb", "observation", "voevent")
    assert alert.issued == T0
    assert alert.event_time == datetime(2025, 1, 15, 2, 40, 12, 450000, tzinfo=UTC)
    # FK5 J2000 -> ICRS moves the position by milliarcseconds only
    assert alert.position.ra.deg == pytest.approx(101.2480, abs=1e-4)
    assert alert.position.dec.deg == pytest.approx(-22.5122, abs=1e-4)
    assert alert.error_radius == 0.05 * u.deg
    assert alert.importance == pytest.approx(0.95)
    assert alert.params["Packet_Type"] == "61"
    assert alert.params["GRB_Identified"] == "true"     # params inside <Group> too
    assert alert.localisation is None


def test_icecube_voevent_default_namespace_icrs() -> None:
    alert = parse_alert(fixture("icecube_gold.xml"))
    assert alert.kind == "neutrino"
    assert alert.position.ra.deg == pytest.approx(140.31)
    assert alert.error_radius.to_value(u.deg) == pytest.approx(0.7)
    assert alert.event_time.microsecond == 120000


def test_lvk_voevent_reads_the_skymap_saved_next_to_it() -> None:
    alert = parse_alert(fixture("lvk_S250115ab_preliminary.xml"), base_dir=DATA)
    assert alert.kind == "gw" and alert.position is None
    assert alert.localisation is not None
    assert alert.localisation.description == "flat RING nside 32"
    assert alert.skymap_source == str(DATA / "bayestar.fits.gz")
    assert alert.importance == pytest.approx(0.98)    # significant, 2 % terrestrial


def test_lvk_voevent_with_a_remote_skymap_only_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AlertParseError, match="remote and is not downloaded") as info:
        parse_alert(fixture("lvk_S250115ab_preliminary.xml"), base_dir=tmp_path)
    assert info.value.alert_id == "ivo://gwnet/LVC#S250115ab-1-Preliminary"


def test_igwn_json_with_a_multi_order_skymap() -> None:
    alert = parse_alert(fixture("igwn_S250115ab_preliminary.json"))
    assert (alert.alert_id, alert.kind, alert.broker, alert.format) == (
        "S250115ab", "gw", "igwn", "gcn-json")
    assert alert.event_time == datetime(2025, 1, 15, 2, 38, 21, 512000, tzinfo=UTC)
    loc = alert.localisation
    assert loc.description.startswith("multi-order")
    assert len(set(loc.order.tolist())) > 1
    assert loc.prob.sum() == pytest.approx(1.0)
    assert alert.params["classification.BNS"] == "0.93"


def test_igwn_retraction() -> None:
    alert = parse_alert(fixture("igwn_S250115ab_retraction.json"))
    assert alert.is_retraction and alert.retracts == ("S250115ab",)


def test_igwn_mock_event_is_a_test() -> None:
    raw = json.loads(fixture("igwn_S250115ab_preliminary.json"))
    raw["superevent_id"] = "MS250115a"
    assert parse_alert(json.dumps(raw).encode()).role == "test"


def test_insignificant_gw_is_less_important() -> None:
    raw = json.loads(fixture("igwn_S250115ab_preliminary.json"))
    raw["event"]["significant"] = False
    raw["event"]["classification"]["Terrestrial"] = 0.5
    assert parse_alert(json.dumps(raw).encode()).importance == pytest.approx(0.15)


def test_einstein_probe_point_notice() -> None:
    alert = parse_alert(fixture("ep_wxt_alert.json"))
    assert alert.kind == "xray" and alert.broker == "gcn.nasa.gov"
    assert alert.alert_id == "WXT-01709121520"
    assert alert.position.dec.deg == pytest.approx(-31.207)
    assert alert.error_radius.to_value(u.deg) == pytest.approx(0.0483)
    assert alert.issued == alert.event_time


def test_swift_json_notice_with_mission_and_test_tense() -> None:
    notice = {"$schema": "https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/swift/bat/"
                         "guano.schema.json", "mission": "Swift", "instrument": "BAT",
              "alert_tense": "test", "alert_datetime": "2025-01-15T02:41:00Z",
              "trigger_time": "2025-01-15T02:40:00Z", "id": ["1283461"], "ra": 10.5,
              "dec": -5.25, "ra_dec_error": 0.05, "classification": {"GRB": 0.9}}
    alert = parse_alert(json.dumps(notice).encode())
    assert (alert.alert_id, alert.kind, alert.role) == ("Swift-BAT-1283461", "grb", "test")
    assert alert.importance == pytest.approx(0.9)


def test_galactic_and_fk4_coordinates_are_converted_to_icrs() -> None:
    galactic = voevent_xml("ivo://test/x#1", issued=T0, ra_deg=0.0, dec_deg=0.0,
                           coord_system="UTC-GAL-GEO")
    centre = parse_alert(galactic).position
    assert centre.ra.deg == pytest.approx(266.405, abs=0.01)      # the Galactic centre
    assert centre.dec.deg == pytest.approx(-28.936, abs=0.01)
    fk4 = voevent_xml("ivo://test/x#2", issued=T0, ra_deg=10.0, dec_deg=20.0,
                      coord_system="UTC-FK4-GEO")
    assert abs(parse_alert(fk4).position.ra.deg - 10.0) > 0.5      # precessed from B1950


def test_radian_units() -> None:
    xml = voevent_xml("ivo://test/x#3", issued=T0, ra_deg=1.0, dec_deg=0.5, error_deg=0.001)
    xml = xml.replace(b'unit="deg"', b'unit="rad"')
    alert = parse_alert(xml)
    assert alert.position.ra.deg == pytest.approx(np.degrees(1.0), abs=1e-3)
    assert alert.error_radius.to_value(u.deg) == pytest.approx(np.degrees(0.001), abs=1e-6)


def test_citations_supersede_and_retract() -> None:
    update = voevent_xml("ivo://test/x#2", issued=T0, ra_deg=1.0, dec_deg=2.0,
                         cites=[("supersedes", "ivo://test/x#1")])
    assert parse_alert(update).supersedes == ("ivo://test/x#1",)
    retraction = voevent_xml("ivo://test/x#3", issued=T0, cites=[("retraction",
                                                                    "ivo://test/x#1")])
    alert = parse_alert(retraction)
    assert alert.retracts == ("ivo://test/x#1",) and alert.position is None


def test_short_ids_are_safe_and_stable() -> None:
    ivorn = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1283461-259"
    assert short_id(ivorn) == "nasa.gsfc.gcn-SWIFT-BAT_GRB_Pos_1283461-259"
    long = "ivo://example.org/" + "x" * 200
    assert len(short_id(long)) <= 64 and short_id(long) == short_id(long)
    assert short_id(long) != short_id(long + "y")
    assert "/" not in short_id(long)


# -- bad notices -------------------------------------------------------------------------


GOOD_XML = voevent_xml("ivo://test/bad#1", issued=T0, ra_deg=10.0, dec_deg=20.0,
                       error_deg=0.01)


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "empty notice"),
    (b"hello", "neither XML nor JSON"),
    (GOOD_XML[: len(GOOD_XML) // 2], "malformed XML"),
    (b"<html><body/></html>", "root element is <html>, not <VOEvent>"),
    (GOOD_XML.replace(b'ivorn="ivo://test/bad#1"', b'ivorn="test"'), "ivorn 'test'"),
    (GOOD_XML.replace(b'role="observation"', b'role="rumour"'), "role 'rumour'"),
    (GOOD_XML.replace(b"<C1>10.0000</C1>", b"<C1>400.0</C1>"), r"C1 \(RA\) 400 deg is outside"),
    (GOOD_XML.replace(b"<C2>20.0000</C2>", b"<C2>-95</C2>"), r"C2 \(Dec\) -95 deg is outside"),
    (GOOD_XML.replace(b"<C1>10.0000</C1>", b"<C1>ten</C1>"), "no numeric Value2/C1 and C2"),
    (GOOD_XML.replace(b"<Error2Radius>0.0100", b"<Error2Radius>-1"), "Error2Radius -1 deg"),
    (GOOD_XML.replace(b'unit="deg"', b'unit="km"'), "unit 'km' is not an angle unit"),
    (GOOD_XML.replace(b"UTC-FK5-GEO", b"UTC-GEOD-TOPO"), "coordinate system 'UTC-GEOD-TOPO'"),
    (GOOD_XML.replace(b"<Date>", b"<Date>yesterday ").replace(b"</Date>", b"</Date>"),
     "Who/Date .* is not an ISO-8601 time"),
    (voevent_xml("ivo://test/bad#2", issued=T0), "no position"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><VOEvent/>',
     "DTD or entity"),
    (b'{"superevent_id": "S1", "alert_type": "PRELIMINARY"', "malformed JSON"),
    (b"[1, 2]", "must be an object"),
    (b'{"hello": 1}', "unrecognised JSON notice"),
    (b'{"instrument": "WXT", "id": "1", "ra": 10, "trigger_time": "2025-01-15T02:00:00Z"}',
     "no position: ra or dec is missing"),
    ((b'{"instrument": "WXT", "id": "1", "ra": 365, "dec": 0, '
     b'"trigger_time": "2025-01-15T02:00:00Z"}'), "ra 365 deg is outside"),
    ((b'{"instrument": "WXT", "id": "1", "ra": "ten", "dec": 0, '
     b'"trigger_time": "2025-01-15T02:00:00Z"}'), "ra 'ten' is not a number"),
    (b'{"ra": 1, "dec": 2}', "no alert id"),
    (igwn_notice("S1", alert_type="PRELIMINARY", time_created=T0, skymap=b"garbage"),
     "undecodable skymap: event.skymap: not a FITS file"),
    (igwn_notice("S1", alert_type="PRELIMINARY", time_created=T0).replace(
        b'"skymap": "', b'"skymap": "%%%'), "not valid base64"),
    (igwn_notice("S1", alert_type="NOPE", time_created=T0), "alert_type 'NOPE'"),
    ((b'{"superevent_id": "S1", "alert_type": "PRELIMINARY", "time_created": '
     b'"2025-01-15T02:00:00Z", "event": null}'), "without an event object"),
])
def test_bad_notices_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(AlertParseError, match=reason):
        parse_alert(payload)


def test_the_alert_id_is_kept_when_known() -> None:
    with pytest.raises(AlertParseError) as info:
        parse_alert(GOOD_XML.replace(b"<C1>10.0000</C1>", b"<C1>400.0</C1>"))
    assert info.value.alert_id == "ivo://test/bad#1"


def test_gw_skymap_with_negative_probabilities_is_refused() -> None:
    prob = gw_skymap(np.random.default_rng(1), 10.0, 10.0, nside=8)
    prob[3] = -0.5
    notice = igwn_notice("S2", alert_type="PRELIMINARY", time_created=T0,
                         skymap=skymap_fits(prob))
    with pytest.raises(AlertParseError, match="negative values"):
        parse_alert(notice)
