"""A throwaway PostgreSQL cluster for tests and benchmarks.

Runs ``initdb`` into a fresh directory and starts ``postgres`` on a free
loopback port with a Unix socket in that directory. As root, the server runs
as the ``postgres`` OS user (PostgreSQL refuses to run as root).

Examples
--------
>>> with PostgresCluster.start() as cluster:          # doctest: +SKIP
...     url = cluster.create_database("openastro_test")
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from control_center.clock import RealClock

__all__ = ["PostgresCluster", "PostgresUnavailable", "find_pg_bin"]

_SEARCH = ("/usr/lib/postgresql", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the server would not start."""


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb`` and ``postgres``, or None.

    Looks at ``$PG_BIN``, then ``/usr/lib/postgresql/<newest>/bin``, then ``PATH``.
    """
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    root = Path(_SEARCH[0])
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.split(".")[0].isdigit()),
                          key=lambda p: float(p.name), reverse=True)
        candidates.extend(v / "bin" for v in versions)
    candidates.extend(Path(p) for p in _SEARCH[1:])
    which = shutil.which("postgres")
    if which:
        candidates.append(Path(which).resolve().parent)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "postgres").is_file():
            return c
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A running throwaway cluster; stop it with :meth:`stop` (or use ``with``).

    Attributes
    ----------
    directory : Path
        Data directory (also holds the socket and ``postgres.log``).
    port : int
        TCP port on 127.0.0.1.
    """

    def __init__(self, directory: Path, port: int, process: subprocess.Popen, bin_dir: Path,
                 as_user: list[str], owns_parent: Path | None) -> None:
        self.directory = directory
        self.port = port
        self._process = process
        self._bin = bin_dir
        self._as_user = as_user
        self._owns_parent = owns_parent

    @classmethod
    def start(cls, *, fsync: bool = False, timeout: float = 30.0,
              base_dir: Path | None = None) -> PostgresCluster:
        """Create and start a cluster.

        Parameters
        ----------
        fsync : bool
            Keep PostgreSQL's durability settings (False: ``fsync=off``, faster).
        timeout : float
            Seconds to wait for the server to accept connections.
        base_dir : Path, optional
            Where to create the data directory (default: a new temp directory).

        Raises
        ------
        PostgresUnavailable
            No binaries, or the server did not start in time.
        """
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise PostgresUnavailable("PostgreSQL server binaries (initdb, postgres) not found")
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        parent = Path(tempfile.mkdtemp(prefix="openastro-pg-", dir=base_dir))
        directory = parent / "data"
        directory.mkdir()
        if as_user:
            shutil.chown(parent, "postgres")
            shutil.chown(directory, "postgres")
        initdb = [*as_user, str(bin_dir / "initdb"), "-D", str(directory), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(initdb, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(parent, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        port = _free_port()
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"]
        if not fsync:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                         "-c", "full_page_writes=off"]
        log_file = (directory / "postgres.log").open("ab")
        process = subprocess.Popen(
            [*as_user, str(bin_dir / "postgres"), "-D", str(directory), "-k", str(directory),
             "-h", "127.0.0.1", "-p", str(port), *settings],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        cluster = cls(directory, port, process, bin_dir, as_user, parent)
        try:
            cluster._wait_ready(timeout)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2

        clock = RealClock()
        deadline = clock.monotonic() + timeout
        last_error = ""
        while clock.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                 dbname="postgres", connect_timeout=2).close()
                return
            except psycopg2.OperationalError as e:
                last_error = str(e).strip()
            time.sleep(0.05)
        log = self.directory / "postgres.log"
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        raise PostgresUnavailable(f"PostgreSQL did not start: {last_error} {tail}".strip())

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        if self._process.poll() is None:
            subprocess.run([*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self.directory),
                            "stop", "-m", "fast", "-w", "-t", "20"],
                           capture_output=True, check=False)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self._owns_parent is not None:
            shutil.rmtree(self._owns_parent, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
