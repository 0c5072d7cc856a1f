"""A testing aid: real services for the leaderboard tests and benchmarks/leaderboard_load.py, a
throwaway PostgreSQL cluster and a uvicorn server in a thread, both on 127.0.0.1 (never for a real
deployment). Importing it does nothing: clusters and servers start when asked."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


class PostgresNotInstalled(RuntimeError):
    """initdb or pg_ctl is not on PATH nor under /usr/lib/postgresql/*/bin."""


class PostgresCluster:
    """initdb + pg_ctl in a temp dir (as the postgres user when we are root), trust auth on
    127.0.0.1 only. ``start()`` raises RuntimeError with the reason when it cannot start."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lb-pg-"))
        self.port = _free_port()
        self._counter = 0

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def start(self) -> "PostgresCluster":
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise PostgresNotInstalled("PostgreSQL is not installed (apt-get install postgresql)")
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root without runuser: cannot start postgres")
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        run = subprocess.run(self._as_owner([initdb, "-D", str(data), "-U", "postgres",
                                             "--auth=trust", "-E", "UTF8", "--no-sync"]),
                             capture_output=True, text=True)
        if run.returncode:
            raise RuntimeError(f"initdb failed: {run.stderr.strip()[-500:]}")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off "
                f"-c unix_socket_directories={self.dir} -c max_connections=200")
        run = subprocess.run(self._as_owner([pg_ctl, "-D", str(data), "-o", opts, "-l",
                                             str(self.dir / "log"), "-w", "-t", "60", "start"]),
                             capture_output=True, text=True)
        if run.returncode:
            log = (self.dir / "log").read_text()[-800:] if (self.dir / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {run.stderr.strip()[-300:]} {log}")
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self._counter += 1
        name = f"lb_test_{os.getpid()}_{self._counter}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        if pg_ctl and (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(self._as_owner([pg_ctl, "-D", str(self.dir / "data"), "-m",
                                           "immediate", "-w", "stop"]), capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerThread:
    """A real uvicorn server for ``app`` on 127.0.0.1 (random port), in a daemon thread."""

    def __init__(self, app, port: int | None = None) -> None:  # noqa: ANN001
        import uvicorn

        self.port = port or _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", limit_concurrency=1000, backlog=2048)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
