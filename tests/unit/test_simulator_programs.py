"""The demo program book."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from control_center import astro
from control_center.network import load_network
from control_center.plugin_api.types import CANDIDATE_KINDS
from simulator import demo_requests
from simulator.horizon import HorizonFrame
from simulator.programs import COORDINATED, PROGRAMS

NETWORK = load_network()


def test_deterministic_from_the_seed():
    a = demo_requests(1, NETWORK)
    assert a == demo_requests(1, NETWORK)
    assert a != demo_requests(2, NETWORK)


def test_sizes_and_programs():
    requests = demo_requests(3, NETWORK, n_science=100, n_survey=40, n_campaign=2,
                             n_monitoring=3)
    by_program = Counter(r.program for r in requests)
    assert set(by_program) == {p.name for p in PROGRAMS}
    assert by_program["survey"] == 40
    assert (by_program["campaign"], by_program["monitoring"]) == (2, 3)
    science = sum(n for p, n in by_program.items()
                  if p not in ("survey", "standards", *COORDINATED))
    assert science == 100
    assert len({r.request_id for r in requests}) == len(requests)
    assert len({r.target for r in requests if r.program in ("variables", *COORDINATED)}) == sum(
        by_program[p] for p in ("variables", *COORDINATED))


def test_requests_are_well_formed():
    have = {f for s in NETWORK.sites for t in s.telescopes for f in t.filters}
    for r in demo_requests(1, NETWORK):
        assert r.request_id == f"{r.program}-{r.target}"
        assert r.kind in CANDIDATE_KINDS
        assert 0.0 <= r.priority <= 10.0
        assert r.filters and set(r.filters) <= have
        assert 5.0 <= r.exposure_s <= 600.0
        assert r.repeats >= 1
        assert r.v_mag is not None
        assert 0.0 <= r.ra_deg < 360.0 and -90.0 <= r.dec_deg <= 90.0
        assert max(90 - abs(r.dec_deg - s.latitude_deg) for s in NETWORK.sites) >= 30


def test_readable_ids_and_real_targets():
    requests = demo_requests(1, NETWORK)
    galaxies = [r for r in requests if r.program == "galaxies"]
    assert galaxies and all(r.request_id.startswith("galaxies-NGC")
                            or r.request_id.startswith("galaxies-IC") for r in galaxies)
    assert all(r.filters == ("g", "r") for r in galaxies)
    variables = [r for r in requests if r.program == "variables"]
    assert all(r.repeats >= 4 for r in variables)
    assert all(r.kind == "followup" for r in requests if r.program == "transients")
    assert all(r.kind == "calibration" for r in requests if r.program == "standards")


def test_fainter_targets_get_longer_exposures():
    variables = sorted((r for r in demo_requests(1, NETWORK) if r.program == "variables"),
                       key=lambda r: r.v_mag)
    assert variables[0].exposure_s <= variables[-1].exposure_s
    assert variables[0].exposure_s < variables[-1].exposure_s or variables[-1].v_mag < 12


def test_night_picks_targets_in_season():
    night = datetime(2026, 3, 21, 22, tzinfo=UTC)  # equinox: anti-Sun at RA ~180
    requests = demo_requests(1, NETWORK, night=night)
    ra = [r.ra_deg for r in requests if r.program != "standards"]
    assert all(abs((x - 180.0 + 180.0) % 360.0 - 180.0) <= 105.0 for x in ra)


@pytest.mark.parametrize("filters", [("B", "V"), ("Ha",)])
def test_programs_fall_back_to_available_filters(filters):
    from dataclasses import replace

    site = NETWORK.sites[0]
    scope = replace(site.telescopes[0], filters=filters)
    network = replace(NETWORK, sites=(replace(site, telescopes=(scope,)),))
    for r in demo_requests(1, network, n_science=30, n_survey=5):
        assert set(r.filters) <= set(filters)


def test_the_coordinated_programmes_leave_the_other_requests_as_they_were():
    without = demo_requests(1, NETWORK, n_campaign=0, n_monitoring=0)
    full = demo_requests(1, NETWORK)
    assert full[:len(without)] == without
    assert [r.program for r in full[len(without):]] == ["campaign", "monitoring", "monitoring"]
    assert all(r.not_before is None and r.not_after is None for r in full)


def _sites_seeing(request, when: datetime) -> set[str]:
    """Sites where the Sun is below -12 deg and the target above 30 deg at ``when``."""
    out = set()
    for site in NETWORK.sites:
        sun = float(astro.sun_altitude(site.location, [when])[0])
        alt, _ = HorizonFrame(site.latitude_deg, site.longitude_deg, when).altaz(
            request.ra_deg, request.dec_deg, when)
        if sun < -12.0 and alt >= 30.0:
            out.add(site.name)
    return out


def test_coordinated_targets_are_seen_by_two_sites_at_once_or_in_turn():
    night = datetime(2026, 3, 21, 18, tzinfo=UTC)
    requests = demo_requests(1, NETWORK, campaign_night=night, n_monitoring=1)
    assert requests == demo_requests(1, NETWORK, campaign_night=night, n_monitoring=1)
    campaign, monitoring = (next(r for r in requests if r.program == p) for p in COORDINATED)
    assert night <= campaign.not_before
    assert timedelta(hours=1) <= campaign.not_after - campaign.not_before <= timedelta(hours=2)
    for minutes in (5, 30, 55):
        assert len(_sites_seeing(campaign, campaign.not_before + timedelta(minutes=minutes))) >= 2
    assert monitoring.not_after - monitoring.not_before >= timedelta(hours=3)
    span = (monitoring.not_after - monitoring.not_before).total_seconds()
    seen = [_sites_seeing(monitoring, monitoring.not_before + timedelta(seconds=span * f))
            for f in (0.05, 0.35, 0.65, 0.95)]
    assert all(seen) and len(set().union(*seen)) >= 2
    # Without a night the other requests are those of the plain book.
    plain = demo_requests(1, NETWORK, n_monitoring=1)
    assert [r for r in requests if r.program not in COORDINATED] == [
        r for r in plain if r.program not in COORDINATED]
