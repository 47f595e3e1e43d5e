"""``openastro visibility``: windows per target and telescope, clear errors for bad input."""

import argparse
import json
from datetime import date
from pathlib import Path

import pytest

from control_center.cli.visibility_command import (
    TargetRowError,
    add_visibility_parser,
    parse_dec,
    parse_ra,
)
from control_center.network import load_network
from plugins.constraints.visibility import Target, network_visibility

TARGETS = Path(__file__).parents[1] / "data" / "targets"
DATE = "2026-03-21"


def run(capsys, *argv):
    """Run the command through its own parser; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="openastro")
    add_visibility_parser(parser.add_subparsers())
    args = parser.parse_args(["visibility", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _lines(stdout, target):
    return [line.split()[1:] for line in stdout.splitlines() if line.split()[:1] == [target]]


def test_prints_a_window_per_target_and_telescope_on_the_shipped_network(capsys):
    code, out, err = run(capsys, "--targets", str(TARGETS / "bright.csv"), "--date", DATE)
    assert (code, err) == (0, "")
    assert "night of 2026-03-21" in out and "OpenAstro demo network" in out
    scopes = [t.name for _, t in load_network().telescopes()]
    m13 = _lines(out, "M13")
    assert sorted({row[0] for row in m13}) == sorted(scopes)
    palma = next(row for row in m13 if row[0] == "palma-1m")
    # telescope, site, start date, start time, end date, end time, max alt, hours
    assert palma[1] == "la-palma"
    assert 80 < float(palma[6]) < 90 and 5 < float(palma[7]) < 7
    # the sexagesimal and the decimal M42 rows give the same windows
    assert _lines(out, "M42") == _lines(out, "M42-deg")
    polaris = next(row for row in _lines(out, "Polaris") if row[0] == "pachon-1m")
    assert polaris[-3:] == ["not", "observable:", "altitude"]
    u_band = {row[0]: row for row in _lines(out, "M83-u")}
    assert u_band["pachon-1m"][-1] == "instrument"
    assert u_band["palma-1m"][-1] != "instrument"


def test_json_gives_the_same_windows_as_the_library(capsys):
    code, out, _ = run(capsys, "--targets", str(TARGETS / "bright.csv"), "--date", DATE,
                       "--json", "--telescope", "hanle-0.7m")
    assert code == 0
    rows = {r["target"]: r for r in json.loads(out)["rows"]}
    m13 = Target("M13", parse_ra("16:41:41.24"), parse_dec("+36:27:35.5"))
    [expected] = network_visibility(load_network(), [m13],
                                    date(2026, 3, 21), telescopes=["hanle-0.7m"])
    [window] = rows["M13"]["windows"]
    assert window["start"] == expected.windows[0].start.isoformat()
    assert window["hours"] == pytest.approx(expected.hours, abs=0.01)
    assert {r["telescope"] for r in rows.values()} == {"hanle-0.7m"}


def test_filter_option_leaves_out_telescopes_without_it(capsys):
    code, out, _ = run(capsys, "--targets", str(TARGETS / "bright.csv"), "--date", DATE,
                       "--filter", "u")
    assert code == 0
    m13 = {row[0]: row for row in _lines(out, "M13")}
    assert m13["pachon-1m"][-1] == "instrument"
    assert m13["palma-1m"][-1] != "instrument"


def test_invalid_rows_are_named_and_the_others_still_printed(capsys):
    code, out, err = run(capsys, "--targets", str(TARGETS / "invalid_rows.csv"), "--date", DATE)
    assert code == 1
    messages = err.strip().splitlines()
    assert len(messages) == 4
    assert "row 3 (too-far-east): ra '24:10:00'" in messages[0]
    assert "row 4 (too-far-north): dec '95.0' is outside [-90, 90]" in messages[1]
    assert "row 5 (garbled): ra '12h30'" in messages[2]
    assert "row 7 (missing-dec): dec is empty" in messages[3]
    assert all(m.startswith("openastro: error: ") for m in messages)
    assert _lines(out, "M42") and _lines(out, "M13")
    assert not _lines(out, "garbled")


def test_malformed_network_file_is_a_one_line_error(capsys, tmp_path):
    bad = tmp_path / "net.toml"
    bad.write_text("[network]\nname = 'x'\n[[sites]]\nname = 'a'\nlatitude_deg = 120\n")
    code, out, err = run(capsys, "--network", str(bad), "--targets",
                         str(TARGETS / "bright.csv"), "--date", DATE)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("openastro: error: ")
    assert str(bad) in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--date", "21/03/2026"], "--date '21/03/2026' is not a date"),
    (["--filter", "Q"], "--filter 'Q': no telescope"),
    (["--telescope", "hubble"], "no telescope 'hubble'"),
    (["--step", "0"], "--step must be in [1, 3600]"),
])
def test_bad_options_are_one_line_errors(capsys, argv, message):
    base = {"--targets": str(TARGETS / "bright.csv"), "--date": DATE}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    code, out, err = run(capsys, *[x for kv in base.items() for x in kv])
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_targets_file_without_coordinates_or_missing_is_an_error(capsys, tmp_path):
    headless = tmp_path / "t.csv"
    headless.write_text("name,ra\nM42,83.8\n")
    code, _, err = run(capsys, "--targets", str(headless), "--date", DATE)
    assert code == 2 and "missing column(s) dec" in err
    code, _, err = run(capsys, "--targets", str(tmp_path / "nope.csv"), "--date", DATE)
    assert code == 2 and "nope.csv: cannot read" in err and err.count("\n") == 1
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"name,ra,dec\n\xff\xfe,1,2\n")
    code, _, err = run(capsys, "--targets", str(binary), "--date", DATE)
    assert code == 2 and "b.csv: not UTF-8 text" in err


@pytest.mark.parametrize(("text", "degrees"), [
    ("05:35:17.3", 83.82208), ("83.822", 83.822), ("0:00:00", 0.0), ("23 59 59.9", 359.9996),
    ("12:30", 187.5)])
def test_ra_parsing(text, degrees):
    assert parse_ra(text) == pytest.approx(degrees, abs=1e-4)


@pytest.mark.parametrize(("text", "degrees"), [
    ("-05:23:28", -5.39111), ("+36:27:35.5", 36.45986), ("-00:30:00", -0.5), ("-89.5", -89.5),
    ("90:00:00", 90.0)])
def test_dec_parsing(text, degrees):
    assert parse_dec(text) == pytest.approx(degrees, abs=1e-4)


@pytest.mark.parametrize(("parse", "text", "why"), [
    (parse_ra, "24:00:00", "outside"), (parse_ra, "360", "outside"), (parse_ra, "-1", "outside"),
    (parse_ra, "12:61:00", "below 60"), (parse_ra, "nan", "finite"), (parse_ra, "", "empty"),
    (parse_ra, "-01:00:00", "outside"), (parse_dec, "90:00:01", "outside"),
    (parse_dec, "ten", "neither"), (parse_dec, "inf", "finite")])
def test_invalid_coordinates_name_the_value(parse, text, why):
    with pytest.raises(TargetRowError, match=why) as info:
        parse(text)
    assert repr(text) in str(info.value) or not text
