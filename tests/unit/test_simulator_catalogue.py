"""Targets: OpenNGC objects, standard fields, HEALPix survey fields, generated stars."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simulator import catalogue
from simulator.catalogue import KINDS, Target


def test_real_ngc_objects_with_correct_coordinates():
    objects = {t.name: t for t in catalogue.ngc_objects(12.0)}
    m31 = objects["NGC0224"]
    assert m31.kind == "galaxy"
    assert m31.ra_deg == pytest.approx(10.68, abs=0.01)
    assert m31.dec_deg == pytest.approx(41.27, abs=0.01)
    assert m31.v_mag == pytest.approx(3.4, abs=0.2)
    omega_cen = objects["NGC5139"]
    assert omega_cen.kind == "globular-cluster"
    assert (omega_cen.ra_deg, omega_cen.dec_deg) == pytest.approx((201.70, -47.48), abs=0.02)
    assert objects["NGC7293"].kind == "planetary-nebula"  # the Helix


def test_magnitude_cut_and_kinds():
    bright = catalogue.ngc_objects(9.0)
    assert bright and all(t.v_mag <= 9.0 for t in bright)
    assert {t.kind for t in catalogue.ngc_objects(12.0)} == {
        "galaxy", "globular-cluster", "open-cluster", "planetary-nebula"}
    galaxies = catalogue.ngc_objects(12.0, ("galaxy",))
    assert len(galaxies) > 300 and all(t.kind == "galaxy" for t in galaxies)
    with pytest.raises(ValueError):
        catalogue.ngc_objects(12.0, ("comet",))


def test_catalogue_read_is_cached():
    catalogue.ngc_objects(12.0)
    t = time.perf_counter()
    for _ in range(10):
        catalogue.ngc_objects(11.0)
    assert time.perf_counter() - t < 0.1


@pytest.mark.parametrize("nside", [1, 2, 4, 8])
def test_survey_fields_cover_the_sky(nside):
    fields = catalogue.survey_fields(nside)
    assert len(fields) == 12 * nside**2
    assert len({f.name for f in fields}) == len(fields)
    dec = np.array([f.dec_deg for f in fields])
    assert abs(np.mean(np.sin(np.radians(dec)))) < 0.05  # equal-area: as much north as south
    assert all(f.kind == "survey-field" for f in fields)


def test_generated_targets_are_seeded():
    a, b = catalogue.variable_stars(3, 20), catalogue.variable_stars(3, 20)
    assert a == b
    assert a != catalogue.variable_stars(4, 20)
    assert catalogue.variable_stars(3, 5) == a[:5]
    assert a[0].name == "VAR-0001"
    hosts = catalogue.transient_hosts(3, 10)
    assert all(h.kind == "transient-host" and 14 <= h.v_mag <= 18 for h in hosts)
    dec = np.array([t.dec_deg for t in catalogue.variable_stars(1, 2000)])
    assert np.mean(np.abs(dec) < 30) == pytest.approx(0.5, abs=0.04)  # uniform on the sphere


def test_standard_fields():
    fields = catalogue.standard_fields()
    assert len(fields) == 8
    assert all(abs(f.dec_deg) < 1.0 and f.kind == "standard-field" for f in fields)


def test_target_is_frozen():
    t = Target("x", 1.0, 2.0, "galaxy", 10.0)
    with pytest.raises(AttributeError):
        t.ra_deg = 3.0  # type: ignore[misc]
    assert set(KINDS) >= {"galaxy", "survey-field", "variable-star"}
