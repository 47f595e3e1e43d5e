"""The network file: the shipped default loads; every mistake names file and key."""

from pathlib import Path

import pytest

from control_center.network import NetworkFileError, load_network

GOOD = """
[network]
name = "test"

[[sites]]
name = "a"
latitude_deg = -30
longitude_deg = -70
elevation_m = 2000
[sites.climate]
clear_night_fraction = 0.8
median_seeing_arcsec = 1.0
[[sites.telescopes]]
name = "a1"
aperture_m = 0.5
field_of_view_arcmin = 20
filters = ["g", "r"]
slew_rate_deg_s = 3
readout_s = 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.toml"
    path.write_text(text)
    return path


def test_default_network_has_three_sites_in_different_longitudes():
    network = load_network()
    assert len(network.sites) >= 3
    longitudes = sorted(s.longitude_deg for s in network.sites)
    assert longitudes[-1] - longitudes[0] > 90
    assert all(s.telescopes for s in network.sites)


def test_minimal_file_loads_with_defaults(tmp_path):
    network = load_network(write(tmp_path, GOOD))
    site = network.site("a")
    assert site.climate.weather_persistence_hours == 4.0
    assert site.telescopes[0].filters == ("g", "r")
    assert site.location.lat.deg == pytest.approx(-30)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("clear_night_fraction = 0.8", "clear_night_fraction = 1.4"),
     "clear_night_fraction = 1.4 is outside"),
    (lambda t: t.replace('filters = ["g", "r"]', "filters = []"), "filters must be"),
    (lambda t: t.replace("latitude_deg = -30\n", ""), "latitude_deg is required"),
    (lambda t: t.replace("aperture_m = 0.5", "aperture_m = -1"), "aperture_m must be positive"),
    (lambda t: t.replace("readout_s = 10", "readout_s = 10\nreadoutt = 3"), "unknown key"),
    (lambda t: t.replace("slew_rate_deg_s = 3", 'slew_rate_deg_s = "fast"'), "must be float"),
    (lambda t: t + "\n[[sites]\n", "not valid TOML"),
])
def test_bad_files_name_the_problem(tmp_path, edit, message):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(NetworkFileError) as err:
        load_network(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(NetworkFileError, match="not found"):
        load_network(tmp_path / "nope.toml")


def test_duplicate_telescope_names_rejected(tmp_path):
    text = GOOD + GOOD.split("[network]")[1].replace('name = "test"', "").replace(
        'name = "a"', 'name = "b"')
    with pytest.raises(NetworkFileError, match="telescope names must be unique"):
        load_network(write(tmp_path, text))


def test_a_telescope_may_have_its_own_horizon(tmp_path):
    text = GOOD.replace("readout_s = 10", "readout_s = 10\nhorizon = [[90, 35], [0, 25]]")
    network = load_network(write(tmp_path, text))
    assert network.sites[0].telescopes[0].horizon == ((0.0, 25.0), (90.0, 35.0))
    bad = GOOD.replace("readout_s = 10", "readout_s = 10\nhorizon = [[90, 135]]")
    with pytest.raises(NetworkFileError, match=r"horizon\[0\] altitude"):
        load_network(write(tmp_path, bad))


def test_the_recorded_description_gives_back_the_same_network():
    from control_center.network import network_from_dict

    network = load_network()
    assert network_from_dict(network.to_dict(), network.source) == network
    with pytest.raises(NetworkFileError, match="unknown key"):
        network_from_dict({**network.to_dict(), "extra": 1})
