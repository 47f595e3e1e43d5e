"""``openastro site-node``, ``openastro certs init`` and ``openastro observe``."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime

__all__ = ["add_certs_parser", "add_observe_parser", "add_site_node_parser"]


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return 2


# -- site-node ---------------------------------------------------------------------------

def add_site_node_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("site-node", help="run a site node (gRPC server for one site)",
                            description="Run one site's node: instrument backend, edge "
                                        "inference and outbox, served over gRPC (TLS and "
                                        "token by default). Schema: docs/site-node.md.")
    p.add_argument("--config", required=True, metavar="SITE.toml", help="site configuration")
    p.set_defaults(func=_run_site_node)


def _run_site_node(args: argparse.Namespace) -> int:
    from site_node.server import run

    return run(args.config)


# -- certs init --------------------------------------------------------------------------

def add_certs_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("certs", help="TLS certificates and site tokens",
                            description="Manage the local certificate authority, the site "
                                        "nodes' certificates and their tokens.")
    sub = p.add_subparsers(dest="certs_command", metavar="ACTION")
    init = sub.add_parser("init", help="create a CA, a certificate and a token per site",
                          description="Create ca.pem, and per site SITE.pem, SITE-key.pem and "
                                      "SITE.token (secrets mode 0600). Refuses to overwrite "
                                      "unless --force.")
    init.add_argument("--dir", default="certs", help="output directory (default certs)")
    init.add_argument("--network", metavar="FILE.toml",
                      help="network file naming the sites (default: the shipped network)")
    init.add_argument("--host", action="append", default=[], metavar="NAME_OR_IP",
                      help="another name or address the site certificates are valid for")
    init.add_argument("--force", action="store_true", help="replace existing files")
    init.set_defaults(func=_run_certs_init)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _run_certs_init(args: argparse.Namespace) -> int:
    from control_center.clock import RealClock
    from control_center.network import NetworkFileError, load_network
    from control_center.sites.certs import CertsExist, init_certs

    try:
        network = load_network(args.network)
    except NetworkFileError as exc:
        return _fail(str(exc))
    try:
        made = init_certs(args.dir, [s.name for s in network.sites], now=RealClock().now(),
                          force=args.force, extra_hosts=args.host)
    except CertsExist as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{args.dir}: {exc}")
    print(f"CA: {args.dir}/ca.pem (key ca-key.pem: keep it offline)")
    for site, creds in made.items():
        print(f"{site}: cert {creds.cert.name}, key {creds.key.name}, token {creds.token.name}")
    return 0


# -- observe -----------------------------------------------------------------------------

def add_observe_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("observe", help="send one observation to a site node",
                            description="Send one observation to a site node, wait for it, "
                                        "print the frame's edge-inference result as JSON.")
    p.add_argument("--site", required=True, metavar="HOST:PORT", help="the node's address")
    p.add_argument("--ra", type=float, required=True, metavar="DEG")
    p.add_argument("--dec", type=float, required=True, metavar="DEG")
    p.add_argument("--exposure", type=float, required=True, metavar="SECONDS")
    p.add_argument("--filter", help="filter (default: the telescope's first)")
    p.add_argument("--telescope", help="telescope (default: the site's first)")
    p.add_argument("--out", metavar="FILE.fits", help="save the frame here")
    p.add_argument("--ca", metavar="FILE", help="CA certificate (PEM)")
    p.add_argument("--token-file", metavar="FILE", help="the site's token")
    p.add_argument("--insecure", action="store_true", help="plain TCP, no TLS (tests only)")
    p.add_argument("--start", metavar="ISO", help="simulated start time (UTC)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")
    p.set_defaults(func=_run_observe)


def _run_observe(args: argparse.Namespace) -> int:
    import grpc

    from control_center.sites.client import SiteNodeClient
    from site_node.backends.base import ObservationCommand
    from site_node.messages import result_to_dict

    if not args.insecure and not args.ca:
        return _fail("--ca FILE is required for TLS (or --insecure for a test node)")
    start = None
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            return _fail(f"--start {args.start!r} is not an ISO date-time")
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    try:
        client = SiteNodeClient(args.site, ca=args.ca, token_file=args.token_file,
                                insecure=args.insecure, deadline_s=min(args.timeout, 30.0))
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    with client:
        try:
            status = client.status()
            scope = next((t for t in status.telescopes
                          if args.telescope in (None, t.name)), None)
            if scope is None:
                return _fail(f"no telescope {args.telescope!r} at {status.site}")
            observation_id = f"cli-{uuid.uuid4().hex}"
            command = ObservationCommand(
                observation_id=observation_id, request_id=observation_id, telescope=scope.name,
                ra_deg=args.ra, dec_deg=args.dec, filter=args.filter or scope.filters[0],
                exposure_s=args.exposure, target="cli", start=start)
            client.submit(command)
            result = next(iter(client.results(0, include_fits=bool(args.out),
                                               observation_id=observation_id,
                                               timeout=args.timeout)))
        except grpc.RpcError as exc:
            return _fail(f"{args.site}: {exc.code().name}: {exc.details()}")
    if args.out and result.fits:
        with open(args.out, "wb") as f:
            f.write(result.fits)
    print(json.dumps(result_to_dict(result), indent=2))
    return 0
