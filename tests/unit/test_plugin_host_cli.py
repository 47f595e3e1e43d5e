"""``openastro plugins list``: table and JSON, without a database."""

from __future__ import annotations

import argparse
import json

from control_center.cli.plugin_commands import add_plugins_parser, format_table
from control_center.plugin_host import PluginInfo


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="openastro")
    add_plugins_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_table_shows_origin_hooks_and_status():
    table = format_table([
        PluginInfo("galactic-plane", "openastro-example-plugin 0.1.0", "m:G",
                   ("openastro_filter",)),
        PluginInfo("greedy", "built-in", "plugins.greedy", ("openastro_choose",)),
        PluginInfo("gone", "built-in", "plugins.gone", (), "ModuleNotFoundError: gone"),
    ])
    assert table.splitlines() == [
        "NAME            ORIGIN                          HOOKS   STATUS",
        "galactic-plane  openastro-example-plugin 0.1.0  filter  ok",
        "greedy          built-in                        choose  ok",
        "gone            built-in                        -       broken: ModuleNotFoundError: gone",
    ]


def test_empty_table_says_where_it_looked():
    assert "openastro.plugins" in format_table([])


def test_plugins_list_json_lists_every_installed_plugin(capsys):
    args = parse("plugins", "list", "--json")
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows, "at least the built-in plugins"
    for row in rows:
        assert set(row) == {"name", "origin", "path", "hooks", "status", "error"}
        assert row["status"] in {"ok", "broken"}
        assert (row["error"] is None) == (row["status"] == "ok")


def test_plugins_list_table(capsys):
    args = parse("plugins", "list")
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert out.startswith("NAME")
    assert err == ""  # broken plugins are in the table, not warnings on stderr


def test_plugins_without_action_prints_usage(capsys):
    args = parse("plugins")
    assert args.func(args) == 2
    assert "list" in capsys.readouterr().err
