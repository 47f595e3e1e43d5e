"""Node-side photometry of a simulated frame: target, matched stars, and bad input flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.network import load_network
from control_center.plugin_api.types import Conditions
from site_node.edge.frame import load_frame
from site_node.edge.photometry import FLAGS, USABLE_MASK, measure_photometry, photometry_stage
from site_node.edge.quality import measure_quality
from site_node.edge.sources import extract_sources

RA, DEC = 150.1, 2.2


def render(mag: float | None, *, seed: int = 1):
    from simulator.frames import Transient, render_frame

    site = load_network().site("la-palma")
    sky = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
                     sky_v_mag_arcsec2=21.8, open=True)
    return render_frame(site, site.telescopes[0], ra_deg=RA, dec_deg=DEC, filter="r",
                        exposure_s=60.0, start=datetime(2026, 3, 21, 23, tzinfo=UTC),
                        conditions=sky, altitude_deg=60.0, sky_mag_arcsec2=20.8, seed=seed,
                        shape=(256, 256),
                        transients=[Transient(RA, DEC, mag)] if mag is not None else [])


def measure(hdul):
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                          saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    return measure_photometry(frame, ext, fwhm_px=quality.fwhm_px)


@pytest.fixture(scope="module")
def frame_with_target():
    return render(16.5)


def test_target_and_stars_are_measured_consistently_with_the_truth(frame_with_target):
    result = measure(frame_with_target).to_dict()
    assert result["status"] == "ok" and result["filter"] == "r"
    assert result["airmass"] == pytest.approx(frame_with_target[0].header["AIRMASS"])
    target = result["target"]
    assert target["status"] == "ok" and target["snr"] > 20
    true_zp = frame_with_target[0].header["OA_ZP"]
    assert 16.5 - target["instrumental_mag"] == pytest.approx(true_zp, abs=0.08)
    stars = result["stars"]
    n = len(stars["catalogue_mag"])
    assert 20 <= n <= 80 and all(len(v) == n for v in stars.values())
    use = (np.array(stars["flag"]) & USABLE_MASK) == 0
    zp = np.array(stars["catalogue_mag"])[use] - np.array(stars["instrumental_mag"])[use]
    assert np.median(zp) == pytest.approx(true_zp, abs=0.05)
    assert np.all(np.abs(stars["x"]) <= 1) and np.all(np.abs(stars["y"]) <= 1)
    assert len(json.dumps(result)) < 12_000          # compact enough for one event a frame


def test_frame_without_wcs_is_flagged_not_measured(frame_with_target):
    hdul = frame_with_target.copy()
    header = hdul[0].header.copy()
    for key in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2"):
        header.remove(key, ignore_missing=True)
    hdul[0] = type(hdul[0])(data=hdul[0].data, header=header)
    result = measure(hdul)
    assert result.status == "no-wcs" and result.target is None and not result.stars
    assert any("no WCS" in r for r in result.reasons)


def test_target_outside_the_frame_is_flagged(frame_with_target):
    hdul = frame_with_target.copy()
    hdul[0].header["RA"] = RA + 5.0
    result = measure(hdul)
    assert result.target["status"] == "outside-frame"
    assert result.target["instrumental_mag"] is None
    assert any("outside the frame" in r for r in result.reasons)
    assert result.status == "ok"                      # the stars still calibrate the site


def test_saturated_stars_are_flagged_and_not_usable(frame_with_target):
    hdul = frame_with_target.copy()
    hdul[0].header["SATURATE"] = float(np.percentile(hdul[0].data, 99.5))
    result = measure(hdul)
    flags = np.array(result.stars["flag"])
    mags = np.array(result.stars["catalogue_mag"])
    saturated = (flags & FLAGS["saturated"]) != 0
    assert result.n_saturated > 0 and saturated.any()
    # the bright stars are the saturated ones, and they are kept in the table, flagged
    assert np.median(mags[saturated]) < np.median(mags[~saturated]) - 2.0
    assert len(mags) > saturated.sum()


def test_absent_target_gives_a_limit_not_a_magnitude():
    result = measure(render(None, seed=2))
    target = result.target
    assert target["status"] == "not-detected" and target["snr"] < 3
    assert target["instrumental_mag"] is None and target["limit_mag"] is not None


class PhotometryOnly:
    """A minimal edge pipeline: the photometry stage the way the edge pipeline calls it."""

    name = "photometry-only"

    def analyze(self, hdul):
        frame = load_frame(hdul)
        ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                              saturate=frame.saturate)
        quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
        notes: list[str] = []
        phot = photometry_stage(frame, ext, quality.fwhm_px, notes=notes)

        class Result:
            def to_dict(self):
                return {"fwhm_arcsec": quality.fwhm_arcsec, "photometry": phot,
                        "warnings": notes}
        return Result()

    def deploy_model(self, *args):
        raise NotImplementedError


class OneFrame:
    """An instrument backend that exposes one given frame."""

    name = "one-frame"

    def __init__(self, frame) -> None:
        self.frame = frame

    def connect(self):
        pass

    def close(self):
        pass

    def observe(self, cmd):
        from datetime import timedelta

        from site_node.backends.base import Exposure

        return Exposure(cmd, cmd.start, cmd.start + timedelta(seconds=70), self.frame, True,
                        "ok")


def test_a_site_node_result_carries_the_photometry_to_the_event_fields(tmp_path,
                                                                        frame_with_target):
    from types import SimpleNamespace

    from control_center.photometry.ingest import frame_photometry_fields
    from site_node.backends.base import ObservationCommand
    from site_node.messages import command_to_pb, pb
    from site_node.node import SiteNode

    site = load_network().site("la-palma")
    node = SiteNode(site, OneFrame(frame_with_target), PhotometryOnly(), tmp_path,
                    durable=False)
    cmd = ObservationCommand(observation_id="obs-1", request_id="req-1", telescope="palma-1m",
                             ra_deg=RA, dec_deg=DEC, filter="r", exposure_s=60.0,
                             start=datetime(2026, 3, 21, 23, tzinfo=UTC), target="VAR-0001")
    try:
        node.execute(command_to_pb(cmd))
        row = node.outbox.pending(0, limit=1)[0]
    finally:
        node.stop()
    result = pb.ObservationResult.FromString(row.body)       # what travels to the centre
    assigned = SimpleNamespace(request_id="req-1", target="VAR-0001", filter="r")
    fields = frame_photometry_fields(result, assigned)
    direct = measure(frame_with_target).to_dict()
    assert fields["target"] == "VAR-0001" and fields["site"] == "la-palma"
    assert fields["status"] == "ok" and fields["n_matched"] == direct["n_matched"]
    assert fields["measurement"]["instrumental_mag"] == pytest.approx(
        direct["target"]["instrumental_mag"])
    assert fields["stars"]["flag"] == direct["stars"]["flag"]
    assert fields["time_mjd"] == pytest.approx(direct["time_mjd"])


def test_a_result_without_photometry_is_recorded_as_not_measured():
    from types import SimpleNamespace

    from control_center.photometry.ingest import frame_photometry_fields
    from site_node.messages import analysis_to_pb, pb

    result = pb.ObservationResult(observation_id="o", site="hanle", telescope="hanle-0.7m",
                                  has_frame=True)
    result.analysis.CopyFrom(analysis_to_pb({"sky_level": 10.0}, pipeline="old",
                                            latency_s=0.1))
    fields = frame_photometry_fields(result, SimpleNamespace(request_id="r", target="T",
                                                             filter="g"))
    assert fields["status"] == "not-measured" and fields["filter"] == "g"
    assert fields["reasons"] == ["the site's edge pipeline reported no photometry"]
