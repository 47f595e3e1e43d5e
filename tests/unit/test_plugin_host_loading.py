"""PluginHost loading: entry points (module / class / instance), origins, selection,
broken plugins, settings validation and the historic configure hook."""

from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path

import pytest

from control_center.network import load_network
from control_center.plugin_api import ENTRY_POINT_GROUP, Choice, Score, Settings, hookimpl
from control_center.plugin_host import PluginError, PluginFailure, PluginHost

PLUGIN_MODULE = '''
from control_center.plugin_api import Candidate, hookimpl

@hookimpl
def openastro_propose(context):
    return []

class Scorer:
    @hookimpl
    def openastro_score(self, context, candidates):
        return []

class Policy:
    def __init__(self, name="instance"):
        self.name = name

    @hookimpl
    def openastro_choose(self, context, candidates, scores):
        return None

policy = Policy()

class Exploding:
    def __init__(self):
        raise RuntimeError("no config file")

class Typo:
    @hookimpl
    def openastro_filtr(self, context, candidates):
        return []

class BadArgs:
    @hookimpl
    def openastro_filter(self, context, candidates, colour):
        return []

class Wrapper:
    @hookimpl(wrapper=True)
    def openastro_propose(self, context):
        return (yield)
'''


def make_distribution(root: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """Write a minimal ``<name>-<version>.dist-info`` declaring ``entry_points``."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A directory on sys.path holding a plugin module and dist-infos declaring it."""
    module = f"oa_fake_plugins_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    make_distribution(tmp_path, "openastro-fake", "1.2.3", {
        "as-module": module,
        "as-class": f"{module}:Scorer",
        "as-instance": f"{module}:policy",
        "missing": "oa_no_such_module_xyz",
        "exploding": f"{module}:Exploding",
    })
    make_distribution(tmp_path, "OpenAstro", "0.1.0", {"builtin-like": f"{module}:Policy"})
    return tmp_path


def entry_points(root: Path) -> list[importlib.metadata.EntryPoint]:
    return [ep for dist in importlib.metadata.distributions(path=[str(root)])
            for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]


def discover(root: Path, **kwargs) -> PluginHost:
    return PluginHost.discover(entry_points=entry_points(root), **kwargs)


def by_name(host: PluginHost) -> dict:
    return {info.name: info for info in host.plugins()}


def test_module_class_and_instance_entry_points(site):
    failures: list[PluginFailure] = []
    with discover(site, on_failure=failures.append) as host:
        infos = by_name(host)
        assert infos["as-module"].hooks == ("openastro_propose",)
        assert infos["as-class"].hooks == ("openastro_score",)
        assert infos["as-instance"].hooks == ("openastro_choose",)
        assert infos["as-class"].path.endswith(":Scorer")
        assert all(infos[n].ok and infos[n].status == "ok"
                   for n in ("as-module", "as-class", "as-instance"))
        # A class is instantiated: the registered object is an instance.
        assert not isinstance(host.plugin_manager.get_plugin("as-class"), type)


def test_origin_is_distribution_and_version_or_built_in(site):
    with discover(site) as host:
        infos = by_name(host)
    assert infos["as-module"].origin == "openastro-fake 1.2.3"
    assert infos["builtin-like"].origin == "built-in"


def test_installed_built_ins_come_through_the_entry_point_group():
    with PluginHost.discover(on_failure=lambda f: None) as host:
        infos = host.plugins()
    declared = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
                if ep.dist is not None and ep.dist.metadata["Name"] == "openastro"}
    assert declared, "openastro's own pyproject declares its built-in plugins"
    assert declared <= {i.name for i in infos}
    assert all(i.origin == "built-in" for i in infos if i.name in declared)


def test_import_failure_is_broken_and_reported_not_raised(site):
    failures: list[PluginFailure] = []
    with discover(site, on_failure=failures.append) as host:
        infos = by_name(host)
    assert infos["missing"].error == "ModuleNotFoundError: No module named 'oa_no_such_module_xyz'"
    assert infos["missing"].status.startswith("broken: ModuleNotFoundError")
    assert infos["exploding"].error == "RuntimeError: no config file"
    assert infos["as-module"].ok  # the others still load
    reported = {(f.plugin, f.hook, f.failure) for f in failures}
    assert reported == {("missing", "load", "raised"), ("exploding", "load", "raised")}


@pytest.mark.parametrize(("attr", "expected"), [
    ("Typo", "implements unknown hook 'openastro_filtr'"),
    ("BadArgs", "colour"),
    ("Wrapper", "hook wrappers are not supported (openastro_propose)"),
])
def test_invalid_hook_implementations_make_a_broken_plugin(site, attr, expected):
    module = entry_points(site)[0].value.split(":")[0]
    make_distribution(site, "bad-plugin", "0.0.1", {"bad": f"{module}:{attr}"})
    with discover(site, on_failure=lambda f: None) as host:
        bad = by_name(host)["bad"]
        assert not bad.ok and expected in bad.error
        assert "\n" not in bad.error
        assert host.plugin_manager.get_plugin("bad") is None


def test_duplicate_name_from_another_distribution_is_broken(site):
    module = entry_points(site)[0].value.split(":")[0]
    make_distribution(site, "zz-other", "2.0", {"as-module": f"{module}:Scorer"})
    with discover(site, on_failure=lambda f: None) as host:
        both = [i for i in host.plugins() if i.name == "as-module"]
    assert [i.ok for i in both] == [True, False]
    assert "also declared by" in both[1].error


def test_extra_registers_objects_and_replaces_an_entry_point(site):
    class Mine:
        @hookimpl
        def openastro_trigger(self, event):
            return "mine"

    with discover(site, extra={"as-module": Mine(), "other": Mine}) as host:
        infos = by_name(host)
        assert infos["as-module"].origin == "in-process"
        assert infos["as-module"].hooks == ("openastro_trigger",)
        assert infos["other"].path.endswith("Mine")
        assert host.call_all("openastro_trigger", event=None) == [
            ("as-module", "mine"), ("other", "mine")]


def test_enabled_and_disabled_select_by_name(site):
    with discover(site, enabled=["as-class", "missing"], disabled=["missing"],
                  extra={"x": object()}) as host:
        assert [i.name for i in host.plugins()] == ["as-class", "x"]  # extras always
    with discover(site, disabled=["missing", "exploding", "x"], extra={"x": object()}) as host:
        assert all(i.ok for i in host.plugins())
        assert "x" not in by_name(host)


@pytest.mark.parametrize("option", ["enabled", "disabled"])
def test_unknown_plugin_name_is_a_one_line_error_listing_the_available(site, option):
    with pytest.raises(PluginError) as err:
        discover(site, **{option: ["nope"]})
    message = str(err.value)
    assert message == (f"unknown plugin 'nope' in {option}; available: as-class, as-instance, "
                       "as-module, builtin-like, exploding, missing")


def test_enabled_must_be_a_sequence_of_names(site):
    with pytest.raises(TypeError):
        discover(site, enabled="as-class")


# -- load(): settings and configure --------------------------------------------------------


class Recorder:
    """Policy + scorer that records configure calls."""

    def __init__(self):
        self.configured = []

    @hookimpl
    def openastro_configure(self, settings, network):
        self.configured.append((settings, network))

    @hookimpl
    def openastro_choose(self, context, candidates, scores):
        return Choice(candidates[0].key, "first")

    @hookimpl
    def openastro_score(self, context, candidates):
        return [Score(c.key, 1.0) for c in candidates]


@pytest.fixture(scope="module")
def network():
    return load_network()


def test_load_checks_settings_then_configures_every_plugin(network):
    rec = Recorder()
    settings = Settings(policy="rec", scorer="rec", plugin_time_budget_s=1.0)
    with PluginHost.load(settings, network, enabled=[], extra={"rec": rec}) as host:
        assert rec.configured == [(settings, network)]
        assert host.time_budget_s == 1.0


def test_configure_is_historic_for_plugins_registered_later(network):
    settings = Settings(policy="rec", scorer="rec")
    with PluginHost.load(settings, network, enabled=[], extra={"rec": Recorder()}) as host:
        late = Recorder()
        info = host.register(late, "late")
        assert info.hooks == ("openastro_choose", "openastro_configure", "openastro_score")
        assert late.configured == [(settings, network)]
        with pytest.raises(PluginError, match="already loaded"):
            host.register(Recorder(), "late")
        with pytest.raises(PluginError, match="historic"):
            host.notify("openastro_configure", settings=settings, network=network)


def test_configure_failure_is_isolated(network):
    class Broken:
        @hookimpl
        def openastro_configure(self, settings, network):
            raise KeyError("api_key")

    rec, failures = Recorder(), []
    PluginHost.load(Settings(policy="rec", scorer="rec"), network, enabled=[],
                    extra={"rec": rec, "broken": Broken}, on_failure=failures.append).close()
    assert len(rec.configured) == 1
    assert failures == [PluginFailure("broken", "openastro_configure", "raised",
                                      "KeyError: 'api_key'")]


def test_unknown_policy_or_scorer_is_a_plugin_error(network):
    extra = {"rec": Recorder()}
    with pytest.raises(PluginError) as err:
        PluginHost.load(Settings(policy="x", scorer="rec"), network, enabled=[], extra=extra)
    assert str(err.value) == "unknown policy 'x'; available: rec"
    with pytest.raises(PluginError) as err:
        PluginHost.load(Settings(policy="rec", scorer="y"), network, enabled=[], extra=extra)
    assert str(err.value) == "unknown scorer 'y'; available: rec"


def test_policy_naming_a_plugin_without_the_hook_or_a_broken_one(site, network):
    extra = {"rec": Recorder()}
    with pytest.raises(PluginError, match="'as-module' does not implement openastro_choose"):
        PluginHost.load(Settings(policy="as-module", scorer="rec"), network,
                        entry_points=entry_points(site), extra=extra)
    with pytest.raises(PluginError, match=r"policy plugin 'missing' is broken \(ModuleNotF"):
        PluginHost.load(Settings(policy="missing", scorer="rec"), network,
                        entry_points=entry_points(site), extra=extra,
                        on_failure=lambda f: None)
