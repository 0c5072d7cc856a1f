"""Leaderboard under load, on SQLite and on PostgreSQL, against a real uvicorn server process.

1. 200 concurrent HTTP pushes (distinct runs, 20 tasks each, with samples) -> exactly 200
   stored runs, none lost or duplicated; then the same 200 again -> 200 x 409, still 200 runs.
   (``--pushes 0`` skips it.)
2. The main page with 1,000 checkpoints x 20 tasks: the server process's first view (the whole
   table computed: bootstrap over every imitation cell), the repeat view (cached), and the first
   view after a push over HTTP (``--after-pushes`` new imitation checkpoints, then as many new
   runs of base models, each read by ~100 imitation rows), with the page's size in bytes.
   With ``--compare-with REV`` (default: the commit before the incremental table) the same is
   measured in the same run against that revision's code (``git archive`` into a temporary
   folder: its own server, on a board it seeded itself), and the ratios old/new are printed.

    python benchmarks/leaderboard_load.py [--pushes 200] [--checkpoints 1000] [--tasks 20]
        [--requests 20] [--after-pushes 5] [--backends sqlite,postgresql] [--compare-with REV]

PostgreSQL is a throwaway cluster started here (leaderboard/testing_services.py); it prints the
reason and goes on with SQLite only when none can start. Prints the figures (and, with --json
FILE, writes them).
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
OLD_REV = "9e88891"  # the last commit before the incremental table and pagination (#16)
sys.path.insert(0, str(REPO))

from leaderboard.synthetic import card, synthetic_run  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, tree: Path = REPO) -> tuple[subprocess.Popen, str]:
    """A server process of the code in ``tree`` (this checkout, or an older revision's)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leaderboard.cli", "serve", "--db", db, "--port", str(port),
         "--push-per-minute", "100000", "--requests-per-minute", "1000000"],
        cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    token = create_token(engine, "bench", ["push", "read", "admin"])[1]  # admin: may push to
    # the seeded models (owned by the user of direct pushes)
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


def _view(url: str) -> tuple[float, int]:
    """Seconds to GET the main page, and its size in bytes."""
    import urllib.request

    t0 = time.perf_counter()
    with urllib.request.urlopen(url + "/", timeout=300) as resp:
        body = resp.read()
    return time.perf_counter() - t0, len(body)


def _push(url: str, token: str, body: dict) -> None:
    import urllib.request

    req = urllib.request.Request(url + "/api/runs", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as resp:
        if resp.status != 201:
            raise RuntimeError(f"push answered {resp.status}")


def after_push_bodies(count: int, tasks: list[str]) -> tuple[list[dict], list[dict]]:
    """``count`` new imitation checkpoints and ``count`` new runs of base models (distinct)."""
    new, bases = [], []
    for k in range(count):
        results, _ = synthetic_run({t: 0.45 for t in tasks}, n=200, seed=50_000 + k)
        new.append({"model": {"name": f"ckpt-pushed-{k}", "kind": "imitation"},
                    "results": results, "card": card(f"ckpt-pushed-{k}", f"base-{k % 10}",
                                                     "teacher-a", 10 ** 6, "sharegpt-mix")})
        results, _ = synthetic_run({t: 0.31 for t in tasks}, n=200, seed=60_000 + k)
        bases.append({"model": {"name": f"base-{k % 10}", "kind": "base"}, "results": results})
    return new, bases


def page_latency(db: str, token: str, requests: int, bodies: tuple[list[dict], list[dict]],
                 tree: Path = REPO) -> dict:
    """The first view of a fresh server process, repeat views, and the first view after each
    push (new checkpoints, then new base runs)."""
    proc, url = start_server(db, tree)
    try:
        start, size = _view(url)
        repeat = [_view(url)[0] for _ in range(requests)]
        after: dict[str, list[float]] = {"imitation": [], "base": []}
        for kind, group in zip(after, bodies):
            for body in group:
                _push(url, token, body)
                seconds, size = _view(url)
                after[kind].append(seconds)
                repeat.append(_view(url)[0])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ms = lambda xs: round(statistics.median(xs) * 1000, 1)  # noqa: E731
    return {"page_bytes": size, "process_first_ms": round(start * 1000),
            "repeat_p50_ms": ms(repeat),
            "after_imitation_push_ms": ms(after["imitation"]) if after["imitation"] else None,
            "after_base_push_ms": ms(after["base"]) if after["base"] else None,
            "after_push_max_ms": round(max(after["imitation"] + after["base"], default=0)
                                       * 1000, 1)}


def old_tree(rev: str, into: Path) -> Path:
    """The packages and this benchmark at revision ``rev`` (git archive), to run beside."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "leaderboard", "judges", "harness_tasks",
                              "benchmarks"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def seed_in(tree: Path, db: str, checkpoints: int, tasks: int) -> str:
    """Seed ``db`` with the benchmark and code of ``tree``; returns a push token made there."""
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import leaderboard_load as L; "
            f"L.seed_board({db!r}, {checkpoints}, L.task_names({tasks})); "
            f"print(L.make_token({db!r}))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True,
                         text=True, check=True)
    return run.stdout.strip().splitlines()[-1]


def main_page(urls: tuple[str, str], args: argparse.Namespace, tasks: list[str],
              old: Path | None) -> dict:
    bodies = after_push_bodies(args.after_pushes, tasks)
    seed_board(urls[0], args.checkpoints, tasks)
    out = {"new": page_latency(urls[0], make_token(urls[0]), args.requests, bodies)}
    print(json.dumps(out), flush=True)
    if old is not None:
        token = seed_in(old, urls[1], args.checkpoints, args.tasks)
        out["old"] = page_latency(urls[1], token, args.requests, bodies, old)
        n, o = out["new"], out["old"]
        out["old_over_new"] = {
            "after_imitation_push": round(o["after_imitation_push_ms"]
                                          / n["after_imitation_push_ms"], 1),
            "after_base_push": round(o["after_base_push_ms"] / n["after_base_push_ms"], 1),
            "repeat": round(o["repeat_p50_ms"] / n["repeat_p50_ms"], 1),
            "page_bytes": round(o["page_bytes"] / n["page_bytes"], 1)}
    return out


def summary(report: dict) -> None:
    print("== summary")
    for backend, r in report.items():
        p = r.get("pushes")
        if p:
            print(f"{backend:10s} pushes: {p['created_201']}/{p['pushes']} stored once "
                  f"({p['stored_runs']} runs, {p['distinct_runs']} distinct, {p['repush_409']} "
                  f"re-pushes refused) in {p['seconds']} s = {p['pushes_per_s']}/s")
        for which in ("new", "old"):
            g = r["main_page"].get(which)
            if g:
                print(f"{backend:10s} main page ({which}): first view after a push "
                      f"{g['after_imitation_push_ms']} ms (new checkpoint), "
                      f"{g['after_base_push_ms']} ms (new base run; max "
                      f"{g['after_push_max_ms']} ms), repeat {g['repeat_p50_ms']} ms, "
                      f"{g['page_bytes']:,} bytes; a new process's first view "
                      f"{g['process_first_ms']} ms")
        if "old_over_new" in r["main_page"]:
            print(f"{backend:10s} old/new: {r['main_page']['old_over_new']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pushes", type=int, default=200)
    ap.add_argument("--checkpoints", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--after-pushes", type=int, default=5)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--compare-with", default=OLD_REV,
                    help="a git revision whose code to measure beside ('' : none)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    tasks = task_names(args.tasks)
    tmp = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    old = old_tree(args.compare_with, tmp / "old") if args.compare_with else None
    cluster = None
    report = {}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            urls = tuple(f"sqlite:///{tmp / f'{n}.sqlite'}" for n in ("push", "page", "old"))
        else:
            from leaderboard.testing_services import PostgresCluster

            try:
                cluster = cluster or PostgresCluster().start()
            except RuntimeError as err:
                print(f"postgresql: skipped ({err})")
                continue
            urls = tuple(cluster.new_database() for _ in range(3))
        report[backend] = {}
        if args.pushes:
            print(f"== {backend}: {args.pushes} concurrent pushes", flush=True)
            report[backend]["pushes"] = concurrent_pushes(urls[0], args.pushes, tasks)
            print(json.dumps(report[backend]["pushes"]), flush=True)
        print(f"== {backend}: main page, {args.checkpoints} checkpoints x {args.tasks} tasks",
              flush=True)
        report[backend]["main_page"] = main_page(urls[1:], args, tasks, old)
    if cluster is not None:
        cluster.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    summary(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    ok = all(r["pushes"]["ok"] for r in report.values() if "pushes" in r)
    print("all pushes stored exactly once" if ok else "FAILED: lost or duplicated pushes")
    return 0 if ok and report else 1


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
