"""Tests of the galactic-plane plugin, run through OpenAstro's plugin host.

Run with ``pytest`` from this directory (OpenAstro installed).
"""

from __future__ import annotations

import pytest
from openastro_galactic_plane import ENV_LIMIT, NAME, GalacticPlane

from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import candidate, decision_context


@pytest.fixture
def host():
    # enabled=[]: none of the installed plugins, only ours (extra= is always loaded).
    with PluginHost.discover(enabled=[], extra={NAME: GalacticPlane(min_abs_b_deg=10)}) as h:
        yield h


def test_rejects_survey_field_in_the_plane(host):
    in_plane = candidate("cyg", ra_deg=308.0, dec_deg=41.0, kind="survey")
    high = candidate("m31", ra_deg=10.68, dec_deg=41.27, kind="survey")
    [(plugin, rejections)] = host.call_all("openastro_filter", context=decision_context(),
                                           candidates=[in_plane, high])
    assert plugin == NAME
    assert [(r.candidate, r.constraint, r.limit) for r in rejections] == [
        ("cyg/r", NAME, 10.0)]
    assert rejections[0].value == pytest.approx(0.79, abs=0.01)


def test_leaves_follow_ups_alone(host):
    follow_up = candidate("sn", ra_deg=308.0, dec_deg=41.0, kind="followup")
    assert host.call_all("openastro_filter", context=decision_context(),
                         candidates=[follow_up]) == [(NAME, [])]


def test_limit_from_environment(monkeypatch):
    monkeypatch.setenv(ENV_LIMIT, "30")
    assert GalacticPlane().min_abs_b_deg == 30.0
