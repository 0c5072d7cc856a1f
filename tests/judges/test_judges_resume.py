"""Kill a judging run midway and resume it: nothing already paid for is requested again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer, echo

REPO = Path(__file__).resolve().parents[2]
N, PAID_BEFORE_KILL = 30, 10


def _worker(base_url: str, cache: Path) -> subprocess.Popen:
    env = {**os.environ, KEY_ENV: SECRET, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.judges.resume_worker", base_url,
                             str(cache), str(N)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_kill_and_resume_pays_for_nothing_twice(tmp_path: Path) -> None:
    cache = tmp_path / "judge-cache.sqlite"
    release = threading.Event()
    lock = threading.Lock()
    answered = [0]
    phase = ["first run"]

    def script(body, seen):
        if phase[0] == "resume":
            return echo(body, seen)
        with lock:
            if answered[0] < PAID_BEFORE_KILL:
                answered[0] += 1
                return echo(body, seen)
        return Reply(hold=release)  # in flight when the worker dies: never answered, never paid

    with ScriptedServer(script) as server:
        worker = _worker(server.base_url, cache)
        try:
            _wait_for(lambda: sum(server.delivered.values()) == PAID_BEFORE_KILL
                      and sum(server.hits.values()) > PAID_BEFORE_KILL, 60, "the first replies")
            # Every paid reply must be on disk before the process dies.
            _wait_for(lambda: _rows(cache) >= PAID_BEFORE_KILL, 10, "the replies in the cache")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
            release.set()
        assert worker.returncode == -signal.SIGKILL
        paid_first = dict(server.delivered)
        assert sum(paid_first.values()) == PAID_BEFORE_KILL

        phase[0] = "resume"
        resumed = _worker(server.base_url, cache)
        out, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
        texts = json.loads(out)
        assert texts == [f"echo: question {i}" for i in range(N)]
        # No request was paid for twice, and all were paid for exactly once.
        assert max(server.delivered.values()) == 1
        assert sum(server.delivered.values()) == N
        assert _rows(cache) == N
