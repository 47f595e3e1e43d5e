"""Local site-node processes: one ``openastro site-node`` per site, on 127.0.0.1.

What the demo and the integration tests use to run a network of real node
processes on one machine: a work directory with fresh certificates and tokens
(``certs init``), one ``SITE.toml`` per site listening on a free port
(``listen = "127.0.0.1:0"``; the node reports the port it bound), each process
started at once and waited for until ``Check`` answers, and everything stopped
cleanly (SIGTERM, then SIGKILL) on :meth:`LocalSiteNodes.stop`, on leaving the
``with`` block, at interpreter exit, and, on Linux, when the parent dies.

Example
-------
>>> with LocalSiteNodes(["la-palma"], seed=1) as nodes:        # doctest: +SKIP
...     client = nodes.client("la-palma")
...     client.status().site
'la-palma'
"""

from __future__ import annotations

import atexit
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from control_center.clock import RealClock
from control_center.sites.certs import init_certs, site_files

__all__ = ["LocalSiteNodes", "NodeProcess", "write_site_config"]

_live: set[subprocess.Popen] = set()


def _kill_leftovers() -> None:
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()


atexit.register(_kill_leftovers)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: SIGKILL this child when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def write_site_config(path: Path, *, site: str, listen: str, data_dir: Path, seed: int,
                      certs_dir: Path | None, network: Path | None = None,
                      frame_shape: tuple[int, int] = (256, 256), render: bool = True,
                      transients: int = 0, durable: bool = True) -> Path:
    """Write a ``SITE.toml`` (TLS and token from ``certs_dir``; insecure when None)."""
    lines = ["[node]", f"site = {json.dumps(site)}", f"listen = {json.dumps(listen)}",
             "backend = \"simulated\"", f"seed = {int(seed)}",
             f"data_dir = {json.dumps(str(data_dir))}",
             f"durable = {'true' if durable else 'false'}"]
    if network is not None:
        lines.append(f"network = {json.dumps(str(network))}")
    lines.append("\n[tls]")
    if certs_dir is None:
        lines.append("insecure = true")
    else:
        creds = site_files(certs_dir, site)
        lines += [f"cert = {json.dumps(str(creds.cert))}", f"key = {json.dumps(str(creds.key))}",
                  f"ca = {json.dumps(str(creds.ca))}",
                  f"token_file = {json.dumps(str(creds.token))}"]
    lines += ["\n[simulated]", f"render = {'true' if render else 'false'}",
              f"frame_shape = [{frame_shape[0]}, {frame_shape[1]}]",
              f"transients = {int(transients)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class NodeProcess:
    """One running node: its site, process, address, config and log file."""

    site: str
    process: subprocess.Popen
    config: Path
    data_dir: Path
    log: Path
    address: str = ""


class LocalSiteNodes:
    """Start one site-node process per site and stop them all.

    Parameters
    ----------
    sites : sequence of str
        Site names of the network.
    seed : int
        Seed of every node's simulation (use the demo's to reproduce it).
    network : path, optional
        Network file (default: the shipped one).
    workdir : path, optional
        Where configs, certificates, data and logs go (default: a new temporary
        directory, removed by :meth:`stop`).
    tls : bool
        TLS and tokens (default); False runs insecure nodes.
    frame_shape, render, transients :
        Frame rendering of the simulated backend.
    durable : bool
        Whether the nodes flush outbox and frames to disk before streaming a result
        (``[node] durable``); a demo of simulated sites may turn it off.
    startup_timeout_s : float
        How long to wait for every node's ``Check``.
    """

    def __init__(self, sites: Sequence[str], *, seed: int = 0, network: str | Path | None = None,
                 workdir: str | Path | None = None, tls: bool = True,
                 frame_shape: tuple[int, int] = (256, 256), render: bool = True,
                 transients: int = 0, durable: bool = True,
                 startup_timeout_s: float = 60.0) -> None:
        self.sites, self.seed = list(sites), seed
        self.network = Path(network).resolve() if network is not None else None
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="openastro-nodes-"))
        self.tls = tls
        self.frame_options = {"frame_shape": frame_shape, "render": render,
                              "transients": transients, "durable": durable}
        self.startup_timeout_s = startup_timeout_s
        self.certs_dir = self.workdir / "certs" if tls else None
        self.nodes: dict[str, NodeProcess] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalSiteNodes:
        """Create credentials, start every node, wait until each answers ``Check``."""
        if self.certs_dir is not None and not (self.certs_dir / "ca.pem").exists():
            init_certs(self.certs_dir, self.sites, now=RealClock().now())
        try:
            for site in self.sites:
                self._launch(site, "127.0.0.1:0")
            for site in self.sites:
                self._await_ready(site)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, site: str, listen: str) -> NodeProcess:
        data_dir = self.workdir / site
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "site-node.json").unlink(missing_ok=True)
        config = write_site_config(self.workdir / f"{site}.toml", site=site, listen=listen,
                                   data_dir=data_dir, seed=self.seed, certs_dir=self.certs_dir,
                                   network=self.network, **self.frame_options)
        log = data_dir / "node.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "control_center.cli.main", "site-node", "--config",
                 str(config)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)  # noqa: PLW1509
        _live.add(proc)
        node = NodeProcess(site, proc, config, data_dir, log)
        self.nodes[site] = node
        return node

    def _await_ready(self, site: str) -> None:
        node = self.nodes[site]
        marker = node.data_dir / "site-node.json"
        clock = RealClock()
        deadline = clock.monotonic() + self.startup_timeout_s
        while not marker.exists():
            if node.process.poll() is not None:
                raise RuntimeError(f"site node {site} exited with code {node.process.returncode}:"
                                   f" {self._tail(node)}")
            if clock.monotonic() > deadline:
                raise TimeoutError(f"site node {site} did not start in "
                                   f"{self.startup_timeout_s:g} s: {self._tail(node)}")
            time.sleep(0.02)
        node.address = json.loads(marker.read_text())["address"]
        with self.client(site) as client:
            client.wait_ready(max(1.0, deadline - clock.monotonic()))

    @staticmethod
    def _tail(node: NodeProcess) -> str:
        try:
            return " | ".join(node.log.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every node, SIGKILL those still running after ``timeout``."""
        for node in self.nodes.values():
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            self._reap(node, timeout)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def _reap(node: NodeProcess, timeout: float) -> None:
        try:
            node.process.wait(timeout)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
        _live.discard(node.process)

    # -- one node ------------------------------------------------------------------------

    def kill(self, site: str) -> None:
        """SIGKILL one node (to test crash recovery)."""
        node = self.nodes[site]
        node.process.kill()
        self._reap(node, 10.0)

    def terminate(self, site: str, timeout: float = 10.0) -> int:
        """SIGTERM one node and wait; returns its exit code."""
        node = self.nodes[site]
        node.process.send_signal(signal.SIGTERM)
        self._reap(node, timeout)
        return node.process.returncode

    def restart(self, site: str) -> NodeProcess:
        """Start a stopped node again on the same address, with the same data."""
        old = self.nodes[site]
        if old.process.poll() is None:
            raise RuntimeError(f"site node {site} is still running")
        node = self._launch(site, old.address)
        self._await_ready(site)
        return node

    @property
    def addresses(self) -> dict[str, str]:
        return {site: node.address for site, node in self.nodes.items()}

    def credentials(self, site: str) -> dict[str, Any]:
        """Keyword arguments of :class:`SiteNodeClient` for ``site`` (CA and token)."""
        if self.certs_dir is None:
            return {"insecure": True}
        creds = site_files(self.certs_dir, site)
        return {"ca": creds.ca, "token_file": creds.token}

    def client(self, site: str, *, deadline_s: float = 10.0,
               on_health_change: Callable[[str, str, str], None] | None = None,
               **kwargs: Any) -> Any:
        """A :class:`~control_center.sites.client.SiteNodeClient` of one node."""
        from control_center.sites.client import SiteNodeClient

        return SiteNodeClient(self.nodes[site].address, deadline_s=deadline_s,
                              on_health_change=on_health_change,
                              **{**self.credentials(site), **kwargs})

