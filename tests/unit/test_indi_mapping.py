"""INDI values -> Conditions, camera state, FITS frames and headers; ICRS <-> JNow."""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime

import numpy as np
import pytest
from astropy.io import fits

from site_node.backends.base import InstrumentError, ObservationCommand
from site_node.backends.indi.coords import icrs_to_jnow, jnow_to_icrs, separation_deg
from site_node.backends.indi.mapping import (
    camera_state,
    conditions_from_weather,
    read_frame,
    stamp_headers,
)

WHEN = datetime(2026, 3, 21, 22, tzinfo=UTC)
ASSUME = {"assumed_seeing_arcsec": 1.8, "assumed_sky_v_mag_arcsec2": 20.5}
SIM_PARAMS = {"WEATHER_FORECAST": 0.0, "WEATHER_TEMPERATURE": 15.0, "WEATHER_WIND_SPEED": 18.0,
              "WEATHER_WIND_GUST": 20.0, "WEATHER_RAIN_HOUR": 0.0}
"""What ``indi_simulator_weather`` reports."""
OK_LIGHTS = {"WEATHER_FORECAST": "Ok", "WEATHER_WIND_SPEED": "Ok", "WEATHER_RAIN_HOUR": "Ok"}


def test_simulator_weather_maps_to_open_conditions():
    c, messages = conditions_from_weather(SIM_PARAMS, "Ok", OK_LIGHTS, station="WS", **ASSUME)
    assert c.open and c.reason == ""
    assert c.wind_m_s == pytest.approx(5.0) and c.cloud_cover == 0.0
    assert (c.seeing_arcsec, c.sky_v_mag_arcsec2) == (1.8, 20.5)
    assert messages == ("not measured (assumed): humidity, seeing, sky brightness",)


def test_full_station_is_read_in_its_units():
    params = {"WEATHER_CLOUD_COVER": 40.0, "WEATHER_HUMIDITY": 85.0, "WEATHER_WIND_SPEED": 3.6,
              "WEATHER_SEEING": 1.1, "WEATHER_SKY_BRIGHTNESS": 21.3, "WEATHER_FORECAST": 2.0}
    c, messages = conditions_from_weather(params, "Ok", {}, station="WS", **ASSUME)
    assert (c.cloud_cover, c.humidity, c.wind_m_s) == (0.4, 0.85, pytest.approx(1.0))
    assert (c.seeing_arcsec, c.sky_v_mag_arcsec2, messages) == (1.1, 21.3, ())


@pytest.mark.parametrize(("state", "lights", "is_open", "reason"), [
    ("Alert", {"WEATHER_RAIN_HOUR": "Alert", "WEATHER_WIND_GUST": "Alert"}, False,
     "weather alert: rain hour, wind gust"),
    ("Busy", {"WEATHER_WIND_SPEED": "Busy"}, True, "weather warning: wind speed"),
    ("Idle", {}, False, "weather status of 'WS' unknown"),
    (None, {}, False, "weather status of 'WS' unknown"),
])
def test_weather_status_opens_and_closes(state, lights, is_open, reason):
    c, _ = conditions_from_weather(SIM_PARAMS, state, lights, station="WS", **ASSUME)
    assert (c.open, c.reason) == (is_open, reason)


def test_missing_station_and_closed_dome_close_the_site():
    c, _ = conditions_from_weather(None, None, {}, station="WS", **ASSUME)
    assert not c.open and c.reason == "no data from weather station 'WS'"
    c, _ = conditions_from_weather(SIM_PARAMS, "Ok", {}, station="WS", dome_closed=True,
                                   dome="Dome", **ASSUME)
    assert not c.open and c.reason == "dome 'Dome' closed"
    c, _ = conditions_from_weather(None, None, {}, station=None, **ASSUME)
    assert c.open and c.reason == "no weather station configured"


def test_camera_state():
    assert camera_state(None, None) == "idle"
    assert camera_state("Ok", 0.0) == "idle"
    assert camera_state("Busy", 0.5) == "exposing"
    assert camera_state("Busy", 0.0) == "reading"
    assert camera_state("Alert", 1.0) == "error"


def _fits_bytes(header: dict | None = None) -> bytes:
    hdu = fits.PrimaryHDU(np.arange(64, dtype=np.uint16).reshape(8, 8))
    for key, value in (header or {}).items():
        hdu.header[key] = value
    buf = io.BytesIO()
    hdu.writeto(buf)
    return buf.getvalue()


def test_reads_plain_zlib_and_tile_compressed_frames():
    raw = _fits_bytes()
    assert read_frame(raw, ".fits", device="CCD")[0].data[1, 0] == 8
    assert read_frame(zlib.compress(raw), ".fits.z", device="CCD")[0].data[7, 7] == 63
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(np.ones((8, 8), np.int16))]).writeto(buf)
    frame = read_frame(buf.getvalue(), ".fits.fz", device="CCD")
    assert frame[1].data.sum() == 64


@pytest.mark.parametrize(("data", "fmt", "message"), [
    (b"\x89PNG not fits", ".png", "sent a '.png' frame, not FITS"),
    (b"SIMPLE  = garbage" + b" " * 3000, ".fits", "sent a frame astropy cannot read"),
    (b"", ".fits", "sent a frame astropy cannot read"),
    (b"not zlib", ".fits.z", "sent a frame astropy cannot read"),
])
def test_broken_frames_raise_naming_the_camera(data, fmt, message):
    with pytest.raises(InstrumentError, match=f"camera 'CCD Simulator' {message}"):
        read_frame(data, fmt, device="CCD Simulator")


def test_header_without_image_is_refused():
    buf = io.BytesIO()
    fits.PrimaryHDU().writeto(buf)
    with pytest.raises(InstrumentError, match="without image data"):
        read_frame(buf.getvalue(), ".fits", device="CCD")


def test_stamps_our_headers_and_keeps_the_cameras():
    frame = read_frame(_fits_bytes({"FILTER": "Red", "TELESCOP": "Telescope Simulator"}),
                       ".fits", device="CCD")
    command = ObservationCommand("obs-7", "req-3", "pier-1", 12.5, -30.25, "R", 30.0,
                                 target="NGC0253")
    stamp_headers(frame, command, observatory="Hilltop", start=WHEN)
    h = frame[0].header
    assert (h["FILTER"], h["WHEELFLT"], h["OBSID"], h["REQID"]) == ("R", "Red", "obs-7", "req-3")
    assert (h["OBSERVAT"], h["TELESCOP"], h["OBJECT"]) == ("Hilltop", "Telescope Simulator",
                                                          "NGC0253")
    assert (h["DATE-OBS"], h["EXPTIME"], h["RA"]) == ("2026-03-21T22:00:00.000", 30.0, 12.5)


def test_jnow_round_trip_and_agreement_with_astropy():
    import astropy.units as u
    from astropy.coordinates import TETE, SkyCoord
    from astropy.time import Time

    for ra, dec in ((0.0, 0.0), (359.9, -89.0), (123.4, 56.7), (280.0, 89.9)):
        ra_now, dec_now = icrs_to_jnow(ra, dec, WHEN)
        back = jnow_to_icrs(ra_now, dec_now, WHEN)
        assert separation_deg(ra, dec, *back) < 1e-7
        tete = SkyCoord(ra * u.deg, dec * u.deg).transform_to(TETE(obstime=Time(WHEN)))
        assert separation_deg(ra_now, dec_now, tete.ra.deg, tete.dec.deg) < 1.0 / 3600


def test_separation():
    assert separation_deg(10, 0, 11, 0) == pytest.approx(1.0)
    assert separation_deg(0, 89, 180, 89) == pytest.approx(2.0)
    assert separation_deg(5, 5, 5, 5) == 0.0
