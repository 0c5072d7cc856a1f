"""Judge-client throughput against a local OpenAI-compatible server with a fixed latency.

Compares, on the same N distinct requests:
  ours     judges.client.OpenAIChatClient (AsyncOpenAI) at concurrency C, writing the cache;
  ideal    the latency-bound ideal, N * latency / C;
  threads  a FastChat-style client: ThreadPoolExecutor(C) around the sync OpenAI SDK;
  cached   ours again on the filled cache (no HTTP at all).
and prints the ratios (goals: ours >= 90% of ideal, ours >= threads, cached >= 100x faster),
with the client CPU time per call. Each client runs --repeat times, alternating; the best counts.

The server runs in its own process (aiohttp) so that its work does not share the client's GIL.
The default latency, 0.2 s, is still short for a judge call (GPT-4-class replies take seconds).
With n 2000 and c 64 the latency-bound floor is ceil(n/c) = 32 waves of one latency, 0.977 of
the ideal, so at 0.1-0.2 s every good client ties near 0.95; the client's CPU per call decides
the lower latencies. Figures on the 2-core CPU machine, --repeat 3 (JSON records in
docs/measurements/judge-throughput/):

    latency   ours/ideal   ours/threads   cached speed-up   CPU ms/call ours, threads
    0.2 s     0.954        1.003          257x              0.66, 1.26
    0.1 s     0.937        1.016          133x              0.68, 1.26
    75 ms     0.930        1.095          104x              0.81, 1.29
    50 ms     0.917        1.560           68x              0.64, 1.33

What it took (judges/client.py): each HTTP slot is held inside the HTTP client's ``send`` only,
so the SDK's request building and reply wrapping happen outside it; twice the concurrency may
build ahead, so a freed slot is taken by a ready request; the finishing call yields once after
freeing its slot so that the next request goes out before this reply's bookkeeping (asyncio runs
ready callbacks in order, and without that a burst of replies kept the next burst waiting); a
fixed set of workers instead of one task per call. At 50 ms the cached re-run (about 25 ms for
2,000 look-ups) is 68x faster than a first run that is itself 1.5x faster than the thread pool.

    python benchmarks/judge_throughput.py                     # latency 0.2 s, n 2000, c 64
    python benchmarks/judge_throughput.py --latency 0.1
    python benchmarks/judge_throughput.py --latency 0.075
    python benchmarks/judge_throughput.py --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _serve(latency: float, port_queue: "mp.Queue[int]") -> None:
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(latency)
        return web.json_response({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Verdict: A"}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 3, "total_tokens": 53}})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You compare two answers and say which is better."},
            {"role": "user", "content": f"Question {i}: which answer is better?\n" + "x" * 400}]


def run_ours(base_url: str, n: int, concurrency: int, cache: Path,
             backend: str = "auto") -> tuple[float, float]:
    """Wall and CPU seconds of one batch; a warm-up batch first opens the HTTP pools, as the
    thread-pool client's warm-up does (both then measure steady-state calls)."""
    from judges.client import OpenAIChatClient
    from judges.config import ClientConfig

    client = OpenAIChatClient(ClientConfig(base_url=base_url, model="bench", api_key_env="BENCH_KEY",
                                           concurrency=concurrency, cache_path=str(cache),
                                           http_backend=backend))
    warm = [client.request(_messages(-1 - i), max_tokens=16) for i in range(concurrency)]
    requests = [client.request(_messages(i), max_tokens=16) for i in range(n)]

    async def go() -> tuple[float, float, list]:
        await client.arun_batch(warm, progress=False)
        start, cpu = time.perf_counter(), time.process_time()
        results = await client.arun_batch(requests, progress=False)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        await client.aclose_http()
        return elapsed, cpu, results

    elapsed, cpu, results = asyncio.run(go())
    client.close()
    bad = [r for r in results if not hasattr(r, "text")]
    if bad:
        raise SystemExit(f"{len(bad)} calls failed, e.g. {bad[0]}")
    return elapsed, cpu


def run_threads(base_url: str, n: int, concurrency: int) -> tuple[float, float]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=os.environ["BENCH_KEY"], max_retries=0)

    def one(i: int) -> str:
        out = client.chat.completions.create(model="bench", messages=_messages(i), max_tokens=16,
                                             temperature=0.0)
        return out.choices[0].message.content or ""

    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per run")
    parser.add_argument("--latency", type=float, default=0.2, help="server latency in seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each client, alternating; the best (shortest) counts")
    parser.add_argument("--http-backend", default="auto", choices=["auto", "httpx", "aiohttp"],
                        help="our client's SDK transport")
    args = parser.parse_args(argv)
    os.environ.setdefault("BENCH_KEY", "sk-bench-not-a-real-key")

    ctx = mp.get_context("spawn")
    port_queue: "mp.Queue[int]" = ctx.Queue()
    server = ctx.Process(target=_serve, args=(args.latency, port_queue), daemon=True)
    server.start()
    ours_runs, thread_runs, cached_runs = [], [], []
    try:
        base_url = f"http://127.0.0.1:{port_queue.get(timeout=30)}/v1"
        run_threads(base_url, min(args.n, 2 * args.concurrency), args.concurrency)  # warm-up
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeat):
                cache = Path(tmp) / f"bench-{r}.sqlite"  # empty: a first run
                ours_runs.append(run_ours(base_url, args.n, args.concurrency, cache,
                                          args.http_backend))
                cached_runs.append(run_ours(base_url, args.n, args.concurrency, cache,
                                            args.http_backend)[0])
                thread_runs.append(run_threads(base_url, args.n, args.concurrency))
    finally:
        server.terminate()
    (ours, ours_cpu), (threads, threads_cpu) = min(ours_runs), min(thread_runs)
    cached = min(cached_runs)
    ideal = args.n * args.latency / args.concurrency
    report = {
        "http_backend": args.http_backend, "n": args.n, "latency_s": args.latency,
        "concurrency": args.concurrency, "repeat": args.repeat, "cpus": os.cpu_count(),
        "ideal_s": round(ideal, 3), "ours_s": round(ours, 3), "threads_s": round(threads, 3),
        "cached_s": round(cached, 4),
        "all_runs_s": {"ours": [round(t, 3) for t, _ in ours_runs],
                       "threads": [round(t, 3) for t, _ in thread_runs],
                       "cached": [round(t, 4) for t in cached_runs]},
        "ours_vs_ideal": round(ideal / ours, 3), "ours_vs_threads": round(threads / ours, 3),
        "cached_speedup": round(ours / cached, 1),
        "cpu_ms_per_call_ours": round(1000 * ours_cpu / args.n, 3),
        "cpu_ms_per_call_threads": round(1000 * threads_cpu / args.n, 3),
    }
    goals = {"ours_vs_ideal>=0.9": report["ours_vs_ideal"] >= 0.9,
             "ours_vs_threads>=1": report["ours_vs_threads"] >= 1.0,
             "cached_speedup>=100": report["cached_speedup"] >= 100}
    sys.stdout.write(json.dumps({**report, "goals": goals}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
