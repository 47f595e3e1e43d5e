"""The example third-party plugin, installed as a real distribution, is found and works.

``examples/openastro-example-plugin`` is built and installed with pip into a
temporary directory (no network: ``--no-deps --no-build-isolation --no-index``),
then found through the ``openastro.plugins`` entry-point group like any
third-party plugin: by ``openastro plugins list`` in a subprocess, and by
``PluginHost`` in this process.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from control_center.network import load_network
from control_center.plugin_api import Choice, Score, Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import candidate, decision_context

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "openastro-example-plugin"
DISTRIBUTION, VERSION, PLUGIN = "openastro-example-plugin", "0.1.0", "galactic-plane"


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    """The example plugin installed with pip into a fresh directory."""
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the repo.
    source = tmp_path_factory.mktemp("source") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site-packages")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--quiet", "--target", str(target),
         str(source)],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def test_plugins_list_shows_the_installed_distribution(site_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site_dir), *filter(None, [os.environ.get("PYTHONPATH")])]))
    result = subprocess.run(
        [sys.executable, "-m", "control_center.cli.main", "plugins", "list", "--json"],
        check=False, capture_output=True, text=True, timeout=120, env=env, cwd=site_dir,
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    example = rows[PLUGIN]
    assert example["origin"] == f"{DISTRIBUTION} {VERSION}"
    assert example["hooks"] == ["openastro_filter"]
    assert example["status"] == "ok"
    assert example["path"] == "openastro_galactic_plane:GalacticPlane"
    built_in = [row for row in rows.values() if row["origin"] == "built-in"]
    assert built_in, "built-in plugins are listed next to third-party ones"


class StubChooser:
    """Policy and scorer, so the run settings validate without the built-ins."""

    @hookimpl
    def openastro_score(self, context, candidates):
        return [Score(c.key, 1.0) for c in candidates]

    @hookimpl
    def openastro_choose(self, context, candidates, scores):
        return Choice(candidates[0].key, "first")


def test_plugin_host_loads_it_and_it_rejects_the_galactic_plane(site_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(site_dir))
    entry_points = importlib.metadata.entry_points(group="openastro.plugins", name=PLUGIN)
    assert [ep.dist.metadata["Name"] for ep in entry_points] == [DISTRIBUTION]

    failures = []
    settings = Settings(policy="stub", scorer="stub")
    with PluginHost.load(settings, load_network(), enabled=[PLUGIN], extra={"stub": StubChooser},
                         on_failure=failures.append) as host:
        info = {i.name: i for i in host.plugins()}[PLUGIN]
        assert (info.origin, info.hooks, info.ok) == (
            f"{DISTRIBUTION} {VERSION}", ("openastro_filter",), True)
        in_plane = candidate("cygnus-field", ra_deg=308.0, dec_deg=41.0, kind="survey")
        pole = candidate("ngp-field", ra_deg=192.86, dec_deg=27.13, kind="survey")
        follow_up = candidate("nova", ra_deg=308.0, dec_deg=41.0, kind="followup")
        results = host.call_all("openastro_filter", context=decision_context(settings=settings),
                                candidates=[in_plane, pole, follow_up])
    assert failures == []
    [(plugin, rejections)] = results
    assert plugin == PLUGIN
    [rejection] = rejections
    assert (rejection.candidate, rejection.constraint, rejection.limit) == (
        in_plane.key, PLUGIN, 10.0)
    assert rejection.value == pytest.approx(0.79, abs=0.01)
