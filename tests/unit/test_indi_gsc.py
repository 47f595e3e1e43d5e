"""The gsc-compatible star server: the call INDI's CCD simulator makes and the lines it parses."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

from simulator.starfield import stars_in_field
from site_node.backends.gsc import GscQuery, format_line, main, parse_args, star_lines

CCD_SIM_CALL = ["-c", "150.000000", "+2.200000", "-r", "16.3", "-m", "0", "17.00",
                "-n", "3000"]
"""``sprintf("gsc -c %8.6f %+8.6f -r %4.1f -m 0 %4.2f -n 3000", ...)`` in ccd_simulator.cpp."""

# sscanf(line, "%10s %f %f %f %f %f %d %d %4s %2s %f %d", ...) must yield 12 fields.
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SSCANF = re.compile(rf"^\s*(\S{{1,10}})\s+({_FLOAT})\s+({_FLOAT})\s+({_FLOAT})\s+({_FLOAT})\s+"
                     rf"({_FLOAT})\s+([-+]?\d+)\s+([-+]?\d+)\s+(\S{{1,4}})\s+(\S{{1,2}})\s+"
                     rf"({_FLOAT})\s+([-+]?\d+)\s*$")


def test_parses_the_ccd_simulators_command_line():
    q = parse_args(CCD_SIM_CALL)
    assert q == GscQuery(150.0, 2.2, 16.3, 0.0, 17.0, 3000, "V")


def test_parses_negative_and_sexagesimal_centres():
    q = parse_args(["-c", "10:30:00", "-05:30:00", "-r", "5"])
    assert q.ra_deg == pytest.approx(157.5) and q.dec_deg == pytest.approx(-5.5)
    assert parse_args(["-c", "359.9", "-89.000000"]).dec_deg == -89.0


@pytest.mark.parametrize("argv", [["-r", "5"], ["-c", "10", "95"], ["-c", "x", "1"],
                                  ["-c", "10", "10", "-r", "0"]])
def test_rejects_bad_command_lines(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "gsc: error" in capsys.readouterr().err


def test_line_layout_matches_the_simulators_sscanf():
    line = format_line(12345678901, 359.999999, -89.5, 7.25, 123.456, 359)
    m = _SSCANF.match(line)
    assert m, line
    assert float(m.group(2)) == pytest.approx(359.999999)
    assert float(m.group(3)) == -89.5 and float(m.group(5)) == 7.25


def test_serves_our_sky_brightest_first_within_limits():
    query = parse_args(CCD_SIM_CALL)
    lines = list(star_lines(query))
    assert lines and all(_SSCANF.match(line) for line in lines)
    mags = np.array([float(line.split()[4]) for line in lines])
    assert (np.diff(mags) >= 0).all() and mags.max() <= 17.0
    sky = stars_in_field(150.0, 2.2, 16.3 / 60.0, mag_limit=17.0)
    assert len(lines) == len(sky)
    ra = np.array([float(line.split()[1]) for line in lines])
    assert np.allclose(np.sort(ra), np.sort(sky.ra_deg), atol=2e-6)
    dist = np.array([float(line.split()[10]) for line in lines])
    assert dist.max() <= 16.3 + 1e-3


def test_respects_count_range_and_band():
    few = list(star_lines(GscQuery(150.0, 2.2, 16.3, 12.0, 17.0, max_stars=5)))
    assert len(few) == 5
    assert all(12.0 <= float(line.split()[4]) <= 17.0 for line in few)
    assert list(star_lines(GscQuery(150.0, 2.2, 16.3, max_stars=0))) == []
    red = list(star_lines(GscQuery(150.0, 2.2, 5.0, mag_max=16.0, band="r")))
    assert red and all(float(line.split()[4]) <= 16.0 for line in red)


def test_main_prints_lines_and_reports_unknown_band(capsys):
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([*CCD_SIM_CALL[:-2], "-n", "3"]) == 0
    assert len(out.getvalue().splitlines()) == 3
    assert main([*CCD_SIM_CALL, "--band", "nope"]) == 2
    assert "unknown filter 'nope'" in capsys.readouterr().err


def test_faint_limits_are_clipped_to_the_catalogue():
    deep = list(star_lines(GscQuery(150.0, 2.2, 0.5, mag_max=30.0, band="i")))
    assert deep and max(float(line.split()[4]) for line in deep) <= 30.0
