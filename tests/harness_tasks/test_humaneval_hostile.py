"""Programs that attack their worker, the pool or this process, in both isolation modes.

One batch per mode mixes hostile programs with ordinary passing and failing ones. Every program
must get its expected verdict, the ordinary ones their right results, and this process (the
pool's, like the lm-eval or pytest process in a real run) must survive without a signal. The
hostile programs kill their process group, their worker, the pool's process, everything they
may; close or scribble over their descriptors; fork processes that outlive them; exhaust memory
and descriptors; sleep; exit; raise BaseException subclasses; look for the secrets of this
process. Then, with a scripted worker (fault injection): a worker that dies, garbles its replies
or closes its pipes costs only its own program, and an error inside the pool loop too. Last,
reduced mode's Landlock fence (files, /proc) where the kernel has Landlock.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness_tasks.execution import pool as pool_module
from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.records import Job
from harness_tasks.execution.sandbox import ENV_ALLOWED, find_bwrap
from tests.support.skips import needs

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"OPENAI_API_KEY": "sk-hostile-canary-1", "IMITATION_LEADERBOARD_TOKEN": "lb-canary-2",
           "IMITATION_FAKE_SECRET": "imitation-canary-3", "HF_TOKEN": "hf_canary_4"}
TEST = "def check(candidate):\n    assert candidate(0) == 42\n"
CFG = ExecConfig(workers=2, cpu_floor_s=0.5, wall_floor_s=2.0)
MODES = [pytest.param("bubblewrap", marks=pytest.mark.skipif(
             find_bwrap(CFG) is None, reason=needs("bubblewrap", "bubblewrap is not installed"))),
         "reduced"]
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGQUIT)


def prog(body: str) -> str:
    """A program whose candidate f runs ``body``; 42 is a pass."""
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return f"import os, sys, signal, time\ndef f(x):\n{lines}\n"


def hostile(pool_pid: int) -> list[tuple[str, str, str]]:
    """(name, program, expected verdict)."""
    return signal_attacks(pool_pid) + other_attacks()


def signal_attacks(pool_pid: int) -> list[tuple[str, str, str]]:
    grandparent = ("try:\n    ppid = int(open(f'/proc/{os.getppid()}/stat').read()"
                   ".rsplit(')', 1)[1].split()[1])\nexcept OSError:  # Landlock hides /proc\n"
                   "    ppid = 1\n")
    return [
        ("kill its own process group", prog("os.killpg(0, signal.SIGKILL)\nreturn 42"),
         "crashed"),
        ("kill its parent (the worker)",
         prog("os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)\nreturn 42"), "crashed"),
        ("kill its parent's process group",
         prog("os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)\ntime.sleep(5)"), "crashed"),
        ("kill its grandparent, found through /proc",
         prog(grandparent + "os.kill(ppid, signal.SIGKILL)\ntime.sleep(5)"), "crashed"),
        ("stop its parent", prog("os.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(5)"),
         "crashed"),
        ("kill the pool's process", prog(f"os.kill({pool_pid}, signal.SIGKILL)\ntime.sleep(5)"),
         "crashed"),
        ("interrupt the pool's process", prog(f"os.kill({pool_pid}, signal.SIGINT)\nreturn 42"),
         "crashed"),
        ("kill every process it may", prog("os.kill(-1, signal.SIGKILL)\ntime.sleep(5)"),
         "crashed"),
        ("aim SIGIO at the pool's process (F_SETOWN)",
         prog(f"import ctypes\nr, w = os.pipe()\nctypes.CDLL(None).fcntl(r, 8, {pool_pid})\n"
              "return 42"), "crashed"),  # 8: F_SETOWN (ctypes: the worker loaded it already)
        ("raise a signal at itself", prog("signal.raise_signal(signal.SIGTERM)\nreturn 42"),
         "crashed"),
        ("os.abort()", prog("os.abort()"), "crashed"),
    ]


def other_attacks() -> list[tuple[str, str, str]]:
    canaries = sorted(SECRETS.values())
    return [
        ("os._exit(0)", prog("os._exit(0)"), "crashed"),
        ("close descriptors 0-1023",
         prog("for fd in range(1024):\n    try:\n        os.close(fd)\n"
              "    except OSError:\n        pass\nreturn 42"), "crashed"),
        ("point descriptors 0-9 at /dev/null",
         prog("null = os.open('/dev/null', os.O_RDWR)\nfor fd in range(10):\n"
              "    if fd != null:\n        os.dup2(null, fd)\nreturn 42"), "crashed"),
        ("write garbage to descriptors 0-1023",
         prog("for fd in range(1024):\n    try:\n"
              "        os.write(fd, b'\\x00\\x00\\x00\\x09{\"op\": 1}' + bytes(64))\n"
              "    except OSError:\n        pass\nreturn 0"), "failed"),
        ("fork a child that outlives it",
         prog("if os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n"
              "return 42"), "passed"),
        ("exhaust file descriptors",
         prog("fds = []\nwhile True:\n    fds.append(os.open('/dev/null', os.O_RDONLY))"),
         "failed"),
        ("exhaust memory at once", prog("return len(bytearray(1 << 40))"), "failed"),
        ("exhaust memory bit by bit",  # touching 1 GiB costs CPU time: its own limit below
         prog("blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 26))"), "failed"),
        ("sleep past the timeout", prog("time.sleep(60)\nreturn 42"), "timeout"),
        ("raise KeyboardInterrupt", prog("raise KeyboardInterrupt"), "failed"),
        ("raise GeneratorExit", prog("raise GeneratorExit"), "failed"),
        ("raise its own BaseException subclass",
         prog("class Escape(BaseException):\n    pass\nraise Escape('out')"), "failed"),
        ("raise SystemExit(0)", prog("raise SystemExit(0)"), "failed"),
        ("find the secrets in its environment",
         prog(f"seen = repr(dict(os.environ)) + repr(open('/proc/self/environ', 'rb').read())\n"
              f"return 42 if any(c in seen for c in {canaries!r}) else 0"), "failed"),
        ("find the secrets of any process it can see",
         prog("for pid in filter(str.isdigit, os.listdir('/proc')):\n    try:\n"
              "        data = open(f'/proc/{pid}/environ', 'rb').read()\n"
              "    except OSError:\n        continue\n"
              f"    if any(c.encode() in data for c in {canaries!r}):\n        return 42\n"
              "return 0"), "failed"),
        ("its environment is the allow-list",
         prog(f"extra = set(os.environ) - {{'PATH', 'HOME', 'TMPDIR', 'PWD', *{ENV_ALLOWED!r}}}\n"
              "assert not extra, sorted(extra)\nreturn 42"), "passed"),
    ]


ORDINARY = [("passes", "def f(x):\n    return x + 42\n", "passed"),
            ("fails", "def f(x):\n    return x + 41\n", "failed"),
            ("does not compile", "def f(x) return 42\n", "failed"),
            ("passes after a loop", "def f(x):\n    return sum(range(10)) + 42 - 45\n", "passed")]


@pytest.fixture()
def no_signal_reaches_us() -> Iterator[list[int]]:
    """Record (instead of dying of) the catchable signals this process receives."""
    received: list[int] = []
    old = {sig: signal.signal(sig, lambda s, _f: received.append(s)) for sig in SIGNALS}
    yield received
    for sig, handler in old.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("mode", MODES)
def test_hostile_programs_get_verdicts_and_the_run_goes_on(
        mode: str, monkeypatch: pytest.MonkeyPatch, no_signal_reaches_us: list[int]) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    cases = hostile(os.getpid())
    jobs, expected = [], []
    for i, (name, program, want) in enumerate(cases):
        ordinary = ORDINARY[i % len(ORDINARY)]
        cpu = 5.0 if "bit by bit" in name else 0.5
        jobs += [Job(program, TEST, "f", cpu, 4 * cpu, name),
                 Job(ordinary[1], TEST, "f", 0.5, 2.0, ordinary[0])]
        expected += [want, ordinary[2]]
    with WorkerPool(dataclasses.replace(CFG, isolation=mode)) as pool:
        assert pool.isolation == mode
        assert pool.hardening.get("seccomp") is True, pool.hardening
        outcomes = pool.run(jobs)
        again = pool.run([Job(ORDINARY[0][1], TEST, "f", 0.5, 2.0)] * 4)  # the pool still works
    wrong = {f"{job.task_id} #{i}": (outcome.verdict, outcome.reason)
             for i, (job, outcome, want) in enumerate(zip(jobs, outcomes, expected))
             if outcome.verdict != want}
    assert wrong == {}
    assert [o.verdict for o in again] == ["passed"] * 4
    assert {o.isolation for o in outcomes} == {mode}
    got = {job.task_id: outcome for job, outcome in zip(jobs, outcomes)}
    assert "signal filter" in got["kill the pool's process"].reason
    assert "Too many open files" in got["exhaust file descriptors"].reason
    assert got["exhaust memory at once"].reason.startswith("MemoryError")
    assert got["exhaust memory bit by bit"].reason.startswith("MemoryError")
    assert "wall-clock" in got["sleep past the timeout"].reason
    text = " ".join(o.reason + o.message for o in outcomes)
    assert not any(secret in text for secret in SECRETS.values())
    assert no_signal_reaches_us == []


# ----- fault injection: a scripted worker that misbehaves on purpose -----------------------------
FAKE_WORKER = r'''
import json, os, struct, sys, time
H = struct.Struct(">I")
def send(obj):
    data = json.dumps(obj).encode()
    os.write(1, H.pack(len(data)) + data)
def read():
    head = sys.stdin.buffer.read(4)
    if len(head) < 4:
        return None
    return json.loads(sys.stdin.buffer.read(H.unpack(head)[0]))
send({"op": "ready", "hardening": {"seccomp": True}})
while (job := read()) is not None:
    act = job["program"].split("#", 1)[0]
    result = {"op": "result", "id": job["id"], "verdict": "passed", "reason": "ok",
              "message": "", "cpu": 0.0, "wall": 0.0, "recycle": False}
    if act == "die":
        os.killpg(0, 9)
    elif act == "exit":
        os._exit(0)
    elif act == "close":
        os.close(1)
        os.close(0)
        time.sleep(30)
    elif act == "garbage":
        os.write(1, H.pack(12) + b"\xff\xfe not json")
    elif act == "list":
        os.write(1, H.pack(2) + b"[]")
    elif act == "huge":
        os.write(1, H.pack(1 << 30) + b"x" * 100)
    elif act == "verdict":
        send(dict(result, verdict="passed!"))
    elif act == "cpu":
        send(dict(result, cpu="lots"))
    else:
        send(result)
'''


def test_a_misbehaving_worker_costs_only_its_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "reduced_argv",
                        lambda scratch, uid=None: [sys.executable, "-I", "-c", FAKE_WORKER])
    acts = {"die": "crashed", "exit": "crashed", "close": "crashed", "garbage": "sandbox_error",
            "list": "sandbox_error", "huge": "sandbox_error", "verdict": "sandbox_error",
            "cpu": "sandbox_error", "ok#" + "x" * 200_000: "passed"}  # a frame over 64 KiB
    jobs = []
    for act in acts:
        jobs += [Job(act, TEST, "f", 0.5, 2.0, act[:8]), Job("ok", TEST, "f", 0.5, 2.0, "ok")]
    with WorkerPool(ExecConfig(workers=2, isolation="reduced")) as pool:
        outcomes = pool.run(jobs)
    assert [o.verdict for o in outcomes] == [v for want in acts.values() for v in (want, "passed")]


def test_an_error_inside_the_pool_loop_loses_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    real = WorkerPool._outcome
    calls = {"n": 0}

    def flaky(self: WorkerPool, msg: dict) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("injected pool bug")
        return real(self, msg)

    monkeypatch.setattr(WorkerPool, "_outcome", flaky)
    jobs = [Job(f"def f(x):\n    return {42 if i % 2 else 41}\n", TEST, "f", 0.5, 2.0)
            for i in range(8)]
    with WorkerPool(ExecConfig(workers=1, isolation="reduced")) as pool:
        outcomes = pool.run(jobs)
    assert "injected pool bug" in outcomes[2].reason and outcomes[2].verdict == "sandbox_error"
    others = [o.verdict for i, o in enumerate(outcomes) if i != 2]
    assert others == ["failed" if i % 2 == 0 else "passed" for i in range(8) if i != 2]


def test_reduced_mode_fences_files_and_proc_with_landlock() -> None:
    """Without bubblewrap, Landlock keeps a program to the system folders, the Python
    installation and its own scratch folder (a normal user's program could otherwise read the
    working tree, and through /proc the start-up environment of this process)."""
    outside = Path(tempfile.gettempdir()) / f"imitation-fence-{uuid.uuid4().hex}"  # /tmp: 1777
    cases = [
        ("read the working tree", prog(f"open({str(REPO / 'pyproject.toml')!r}).read()\n"
                                       "return 42"), "failed"),
        ("list /proc", prog("os.listdir('/proc')\nreturn 42"), "failed"),
        ("read the pool's environment",
         prog(f"open('/proc/{os.getpid()}/environ', 'rb').read()\nreturn 42"), "failed"),
        ("write outside its folder", prog(f"open({str(outside)!r}, 'w').write('x')\nreturn 42"),
         "failed"),
        ("write and read its own folder",
         prog("open('f.txt', 'w').write('42')\nreturn int(open('f.txt').read())"), "passed"),
        ("import the standard library",
         prog("import json, hashlib, decimal, fractions, datetime, heapq\n"
              "return 42 + int(datetime.date(2020, 1, 1).year < 2000)"), "passed"),
    ]
    if landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock (Linux 5.13+): reduced mode cannot fence files")
    with WorkerPool(ExecConfig(workers=1, isolation="reduced")) as pool:
        assert pool.hardening.get("landlock") is True, pool.hardening
        outcomes = pool.run([Job(program, TEST, "f", 1.0, 4.0, name)
                             for name, program, _ in cases])
    got = {name: (o.verdict, o.reason) for (name, _, _), o in zip(cases, outcomes)}
    assert got == {name: (want, got[name][1]) for name, _, want in cases}
    assert all("Permission denied" in outcomes[i].reason for i in range(4)), got
    assert not outside.exists()


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none), asked the way the worker asks it."""
    import ctypes

    if os.uname().machine not in ("x86_64", "aarch64"):
        return 0
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    return max(0, syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
