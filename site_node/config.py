"""The site node's configuration file (``SITE.toml``), read and validated.

The schema is documented in ``docs/site-node.md``. Every problem raises
:class:`SiteConfigError` with a one-line message naming the file and the key,
e.g. ``site.toml: [node] listen: expected HOST:PORT, got '50061'``. Relative
paths are resolved against the directory of the file.

Example
-------
.. code-block:: toml

    [node]
    site = "la-palma"
    listen = "127.0.0.1:50061"
    backend = "simulated"
    seed = 1
    data_dir = "var/la-palma"

    [tls]
    cert = "certs/la-palma.pem"
    key = "certs/la-palma-key.pem"
    ca = "certs/ca.pem"
    token_file = "certs/la-palma.token"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "SimulatedOptions", "SiteConfig", "SiteConfigError", "TlsConfig",
           "load_config", "parse_config", "resolve_site"]

BACKENDS = ("simulated", "indi")
_MIB = 1024 * 1024


class SiteConfigError(ValueError):
    """A site configuration file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class TlsConfig:
    """Transport security: the node's certificate and key, the CA, the bearer token."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    token_file: Path | None = None
    insecure: bool = False
    """Plain TCP without TLS (tests only); a token is still required if ``token_file`` is set."""


@dataclass(frozen=True)
class SimulatedOptions:
    """How the simulated backend renders frames."""

    render: bool = True
    frame_shape: tuple[int, int] = (1024, 1024)
    transients: int = 0
    artefacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteConfig:
    """A validated ``SITE.toml``."""

    source: Path
    site: str
    listen: str = "127.0.0.1:50061"
    backend: str = "simulated"
    seed: int = 0
    data_dir: Path = Path("site-node-data")
    network: Path | None = None
    """Network file; None means the shipped default network."""
    max_receive_mb: int = 64
    durable: bool = True
    """Flush the outbox and every frame to disk before a result is streamed; off only
    for simulated demo nodes (a process crash still loses nothing, a power cut may)."""
    tls: TlsConfig = field(default_factory=TlsConfig)
    simulated: SimulatedOptions = field(default_factory=SimulatedOptions)
    indi: Mapping[str, Any] = field(default_factory=dict)
    """The ``[indi]`` table, passed through to the INDI backend untouched."""

    @property
    def max_receive_bytes(self) -> int:
        return self.max_receive_mb * _MIB

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class _Reader:
    """Typed access to one table that reports errors as ``[table] key: ...``."""

    def __init__(self, raw: Mapping[str, Any], table: str, base: Path) -> None:
        self.raw, self.table, self.base = raw, table, base

    def fail(self, key: str, message: str) -> SiteConfigError:
        return SiteConfigError(f"[{self.table}] {key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.raw:
            if default is ...:
                raise self.fail(key, "missing (required)")
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {_names(kinds)}, got {value!r}")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {_names(kinds)}, got {value!r}")
        return value

    def path(self, key: str, default: Any = None) -> Path | None:
        value = self.get(key, str, None)
        if value is None:
            return default
        if not value:
            raise self.fail(key, "empty path")
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.raw) - allowed)
        if extra:
            raise self.fail(extra[0], f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join({str: "a string", int: "an integer", float: "a number",
                        bool: "true or false", list: "a list", dict: "a table"}.get(k, k.__name__)
                       for k in kinds)


def _listen(reader: _Reader) -> str:
    value = reader.get("listen", str, "127.0.0.1:50061")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise reader.fail("listen", f"expected HOST:PORT (port 0-65535), got {value!r}")
    return value


def parse_config(raw: Mapping[str, Any], *, source: Path) -> SiteConfig:
    """Validate a parsed ``SITE.toml`` (``source`` resolves relative paths)."""
    base = source.parent
    top = set(raw) - {"node", "tls", "indi", "simulated"}
    if top:
        raise SiteConfigError(f"[{min(top)}]: unknown table (allowed: node, tls, "
                              "simulated, indi)")
    if not isinstance(raw.get("node"), dict):
        raise SiteConfigError("[node]: missing table (needs at least site = \"NAME\")")
    node = _Reader(raw["node"], "node", base)
    node.unknown({"site", "network", "listen", "backend", "seed", "data_dir",
                  "max_receive_mb", "durable"})
    site = node.get("site", str)
    if not site:
        raise node.fail("site", "empty site name")
    backend = node.get("backend", str, "simulated")
    if backend not in BACKENDS:
        raise node.fail("backend", f"expected one of {', '.join(BACKENDS)}, got {backend!r}")
    max_mb = node.get("max_receive_mb", int, 64)
    if not 1 <= max_mb <= 1024:
        raise node.fail("max_receive_mb", f"expected 1-1024, got {max_mb}")
    listen, seed = _listen(node), node.get("seed", int, 0)
    data_dir = node.path("data_dir", base / f"site-node-{site}")
    network = node.path("network")
    tls = _tls(_Reader(raw.get("tls", {}), "tls", base))
    sim = _simulated(_Reader(raw.get("simulated", {}), "simulated", base))
    indi = raw.get("indi", {})
    if not isinstance(indi, dict):
        raise SiteConfigError("[indi]: expected a table")
    return SiteConfig(source=source, site=site, listen=listen, backend=backend, seed=seed,
                      data_dir=data_dir, network=network, max_receive_mb=max_mb,
                      durable=node.get("durable", bool, True), tls=tls, simulated=sim,
                      indi=dict(indi))


def _tls(reader: _Reader) -> TlsConfig:
    reader.unknown({"cert", "key", "ca", "token_file", "insecure"})
    cfg = TlsConfig(cert=reader.path("cert"), key=reader.path("key"), ca=reader.path("ca"),
                    token_file=reader.path("token_file"),
                    insecure=reader.get("insecure", bool, False))
    if not cfg.insecure:
        for key in ("cert", "key", "token_file"):
            if getattr(cfg, key) is None:
                raise reader.fail(key, "missing (required unless insecure = true; "
                                       "create one with `openastro certs init`)")
    for key in ("cert", "key", "ca", "token_file"):
        p = getattr(cfg, key)
        if p is not None and not p.is_file():
            raise reader.fail(key, f"file not found: {p}")
    return cfg


def _simulated(reader: _Reader) -> SimulatedOptions:
    reader.unknown({"render", "frame_shape", "transients", "artefacts"})
    shape = reader.get("frame_shape", list, [1024, 1024])
    if (len(shape) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
            or not all(16 <= n <= 8192 for n in shape)):
        raise reader.fail("frame_shape", f"expected [ROWS, COLUMNS] of 16-8192, got {shape!r}")
    transients = reader.get("transients", int, 0)
    if transients < 0:
        raise reader.fail("transients", f"expected >= 0, got {transients}")
    artefacts = reader.get("artefacts", list, [])
    if not all(isinstance(a, str) for a in artefacts):
        raise reader.fail("artefacts", f"expected a list of names, got {artefacts!r}")
    return SimulatedOptions(render=reader.get("render", bool, True),
                            frame_shape=(shape[0], shape[1]), transients=transients,
                            artefacts=tuple(artefacts))


def load_config(path: str | Path) -> SiteConfig:
    """Read and validate a ``SITE.toml``.

    Raises
    ------
    SiteConfigError
        With a one-line message ``FILE: [table] key: problem``.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteConfigError(f"{path}: site configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_config(raw, source=path)
    except SiteConfigError as exc:
        raise SiteConfigError(f"{path}: {exc}") from None


def resolve_site(config: SiteConfig):
    """The :class:`~control_center.network.Site` named by ``[node] site`` in the network.

    Raises
    ------
    SiteConfigError
        If the network file is invalid or has no such site.
    """
    from control_center.network import NetworkFileError, load_network

    try:
        network = load_network(config.network)
    except NetworkFileError as exc:
        raise SiteConfigError(f"{config.source}: [node] network: {exc}") from None
    try:
        return network.site(config.site)
    except KeyError:
        names = ", ".join(s.name for s in network.sites)
        raise SiteConfigError(f"{config.source}: [node] site: no site {config.site!r} in "
                              f"network {network.name!r} (have {names})") from None
