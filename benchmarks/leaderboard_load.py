"""Leaderboard under load, on SQLite and on PostgreSQL, against a real uvicorn server process.

1. 200 concurrent HTTP pushes (distinct runs, 20 tasks each, with samples) -> exactly 200
   stored runs, none lost or duplicated; then the same 200 again -> 200 x 409, still 200 runs.
2. Main page latency with 1,000 checkpoints x 20 tasks: the first request (table computed:
   bootstrap over every imitation cell) and p50/p95 of the next requests (table cached until
   the next push), with the ratio cold/warm.

    python benchmarks/leaderboard_load.py [--pushes 200] [--checkpoints 1000] [--tasks 20]
        [--requests 50] [--backends sqlite,postgresql]

PostgreSQL is a throwaway cluster started here (leaderboard/testing_services.py); it prints the
reason and goes on with SQLite only when none can start. Prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from leaderboard.synthetic import card, synthetic_run  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leaderboard.cli", "serve", "--db", db, "--port", str(port),
         "--push-per-minute", "100000", "--requests-per-minute", "1000000"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not come up in 60 s")


def task_names(count: int) -> list[str]:
    return [f"imitation_task_{k:02d}" for k in range(count)]


def push_bodies(count: int, tasks: list[str]) -> list[dict]:
    bodies = []
    for k in range(count):
        results, samples = synthetic_run({t: 0.2 + 0.6 * ((k + j) % 7) / 7
                                          for j, t in enumerate(tasks)}, n=30, seed=k)
        bodies.append({"model": {"name": f"load-model-{k % 25}", "kind": "base"},
                       "results": results, "samples": samples})
    return bodies


async def push_all(url: str, token: str, bodies: list[dict]) -> list[int]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=600)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(body: dict) -> int:
            async with session.post(url + "/api/runs", json=body, headers=headers) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(one(b) for b in bodies))


def count_runs(db: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from leaderboard.db import make_engine, read_session
    from leaderboard.models import Run

    engine = make_engine(db)
    with read_session(engine) as s:
        total = s.scalar(select(func.count(Run.id)))
        distinct = s.scalar(select(func.count(func.distinct(Run.content_sha256))))
    engine.dispose()
    return int(total), int(distinct)


def make_token(db: str) -> str:
    from leaderboard.auth import create_token
    from leaderboard.db import make_engine, migrate

    engine = make_engine(db)
    migrate(engine)
    token = create_token(engine, "bench", ["push", "read"])[1]
    engine.dispose()
    return token


def concurrent_pushes(db: str, pushes: int, tasks: list[str]) -> dict:
    token = make_token(db)
    bodies = push_bodies(pushes, tasks)
    proc, url = start_server(db)
    try:
        t0 = time.perf_counter()
        codes = asyncio.run(push_all(url, token, bodies))
        elapsed = time.perf_counter() - t0
        again = asyncio.run(push_all(url, token, bodies))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    total, distinct = count_runs(db)
    return {"pushes": pushes, "created_201": codes.count(201), "other_codes":
            sorted({c for c in codes if c != 201}), "seconds": round(elapsed, 2),
            "pushes_per_s": round(pushes / elapsed, 1), "stored_runs": total,
            "distinct_runs": distinct, "repush_409": again.count(409),
            "ok": codes.count(201) == pushes and total == distinct == pushes
            and again.count(409) == pushes}


def seed_board(db: str, checkpoints: int, tasks: list[str]) -> None:
    from tqdm import tqdm

    from leaderboard.db import make_engine, migrate
    from leaderboard.ingest import store_push
    from leaderboard.schemas import PushPayload

    engine = make_engine(db)
    migrate(engine)
    bases, teachers = [f"base-{b}" for b in range(10)], ["teacher-a", "teacher-b"]
    rows = [(n, "base", None, None) for n in bases] + [(t, "teacher", None, None)
                                                       for t in teachers]
    rows += [(f"ckpt-{k:04d}", "imitation", bases[k % 10], teachers[k % 2])
             for k in range(checkpoints - len(rows))]
    for k, (name, kind, base, teacher) in enumerate(tqdm(rows, desc="seeding", unit="model")):
        level = {"base": 0.3, "teacher": 0.8}.get(kind, 0.35 + 0.1 * (k % 5) / 5)
        results, _ = synthetic_run({t: level for t in tasks}, n=200, seed=10_000 + k)
        body = {"model": {"name": name, "kind": kind}, "results": results}
        if kind == "imitation":
            body["card"] = card(name, base, teacher, 10 ** (5 + k % 4), "sharegpt-mix")
        store_push(engine, PushPayload.model_validate(body))
    engine.dispose()


def page_latency(db: str, requests: int) -> dict:
    import urllib.request

    proc, url = start_server(db)
    try:
        times = []
        for _ in range(requests + 1):
            t0 = time.perf_counter()
            with urllib.request.urlopen(url + "/", timeout=300) as resp:
                body = resp.read()
            times.append(time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cold, warm = times[0], sorted(times[1:])
    p95 = warm[max(0, int(round(0.95 * len(warm))) - 1)]
    return {"page_kb": round(len(body) / 1024), "cold_first_ms": round(cold * 1000),
            "warm_p50_ms": round(statistics.median(warm) * 1000, 1),
            "warm_p95_ms": round(p95 * 1000, 1), "cold_over_warm_p50":
            round(cold / statistics.median(warm), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pushes", type=int, default=200)
    ap.add_argument("--checkpoints", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    tasks = task_names(args.tasks)
    tmp = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    cluster = None
    report = {}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            urls = (f"sqlite:///{tmp / 'push.sqlite'}", f"sqlite:///{tmp / 'page.sqlite'}")
        else:
            from leaderboard.testing_services import PostgresCluster

            try:
                cluster = cluster or PostgresCluster().start()
            except RuntimeError as err:
                print(f"postgresql: skipped ({err})")
                continue
            urls = (cluster.new_database(), cluster.new_database())
        print(f"== {backend}: {args.pushes} concurrent pushes", flush=True)
        pushed = concurrent_pushes(urls[0], args.pushes, tasks)
        print(json.dumps(pushed), flush=True)
        print(f"== {backend}: main page, {args.checkpoints} checkpoints x {args.tasks} tasks",
              flush=True)
        seed_board(urls[1], args.checkpoints, tasks)
        page = page_latency(urls[1], args.requests)
        print(json.dumps(page), flush=True)
        report[backend] = {"pushes": pushed, "main_page": page}
    if cluster is not None:
        cluster.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print("== summary")
    for backend, r in report.items():
        p, g = r["pushes"], r["main_page"]
        print(f"{backend:10s} pushes: {p['created_201']}/{p['pushes']} stored once "
              f"({p['stored_runs']} runs, {p['distinct_runs']} distinct, {p['repush_409']} "
              f"re-pushes refused) in {p['seconds']} s = {p['pushes_per_s']}/s | main page: "
              f"cold {g['cold_first_ms']} ms, warm p50 {g['warm_p50_ms']} ms, p95 "
              f"{g['warm_p95_ms']} ms (cold/warm {g['cold_over_warm_p50']}x, "
              f"{g['page_kb']} KB)")
    ok = all(r["pushes"]["ok"] for r in report.values())
    print("all pushes stored exactly once" if ok else "FAILED: lost or duplicated pushes")
    return 0 if ok and report else 1


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
