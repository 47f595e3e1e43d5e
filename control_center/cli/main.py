"""Entry point of the ``openastro`` command: builds the parser from each command module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from control_center import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from control_center.cli.alert_command import add_alert_parser
    from control_center.cli.analyze_command import add_analyze_parser
    from control_center.cli.audit_commands import add_explain_parser, add_replay_parser
    from control_center.cli.bench_command import add_bench_parser
    from control_center.cli.dataset_command import add_dataset_parser
    from control_center.cli.demo_command import add_demo_parser
    from control_center.cli.lightcurve_command import add_lightcurve_parser
    from control_center.cli.log_commands import add_log_parser
    from control_center.cli.models_command import add_models_parser
    from control_center.cli.override_command import add_override_parser
    from control_center.cli.plugin_commands import add_plugins_parser
    from control_center.cli.site_commands import (
        add_certs_parser,
        add_observe_parser,
        add_site_node_parser,
    )
    from control_center.cli.train_command import add_retrain_parser, add_train_parser
    from control_center.cli.ui_command import add_ui_parser
    from control_center.cli.visibility_command import add_visibility_parser

    parser = argparse.ArgumentParser(
        prog="openastro",
        description="Control center for distributed networks of robotic telescopes.",
    )
    parser.add_argument("--version", action="version", version=f"openastro {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_demo_parser(commands)
    add_analyze_parser(commands)
    add_alert_parser(commands)
    add_visibility_parser(commands)
    add_lightcurve_parser(commands)
    add_ui_parser(commands)
    add_log_parser(commands)
    add_explain_parser(commands)
    add_replay_parser(commands)
    add_bench_parser(commands)
    add_override_parser(commands)
    add_plugins_parser(commands)
    add_dataset_parser(commands)
    add_train_parser(commands)
    add_retrain_parser(commands)
    add_models_parser(commands)
    add_site_node_parser(commands)
    add_certs_parser(commands)
    add_observe_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``openastro`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("openastro: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
