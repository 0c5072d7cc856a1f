"""A pool of long-lived sandboxed workers, one per core, each forking a child per program.

    with WorkerPool(ExecConfig()) as pool:
        outcomes = pool.run(jobs)          # one Outcome per Job, in order

Each worker is a warm interpreter inside its own bubblewrap sandbox (sandbox.py) that forks a
child per program (_worker.py), so a program costs a fork (~1 ms) instead of a Python start-up
(~110 ms). A worker that dies, stops answering or sends something that is not a frame while
running a program is replaced; that program gets "crashed" (or "sandbox_error" for a garbled
reply) and the run goes on. Nothing a worker does raises out of ``run``: every job gets an
Outcome. Single-threaded: one selector loop over the workers' pipes.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.records import VERDICTS, Isolation, Job, Outcome, Verdict
from harness_tasks.execution.sandbox import (SandboxError, bwrap_argv, find_bwrap, reduced_argv,
                                             sandbox_uid, scrubbed_env)

log = logging.getLogger(__name__)
HEADER = struct.Struct(">I")
READY_TIMEOUT_S = 20.0
WATCHDOG_GRACE_S = 2.0  # + half the wall-clock limit: time for the worker's own clean-up
MAX_START_FAILURES = 3
MAX_FRAME = 1 << 20  # a worker's reply is a few hundred bytes; more is a garbled stream
MAX_INTERNAL_ERRORS = 3  # unexpected errors in the pool loop before the rest is sandbox_error
PIPELINE = 2  # jobs queued per worker, so that a worker never waits for the pool


def _watchdog_s(wall_limit_s: float) -> float:
    return 1.5 * wall_limit_s + WATCHDOG_GRACE_S


@dataclass
class _Slot:
    proc: subprocess.Popen
    scratch: str | None
    buf: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    ready: bool = False
    started: float = field(default_factory=time.monotonic)
    inflight: deque[int] = field(default_factory=deque)  # sent, in order; the head runs
    deadline: float = 0.0  # watchdog for the head job
    retiring: bool = False
    dead: bool = False  # killed and its pipes closed (events already selected are stale)


class WorkerPool:
    """Sandboxed workers; ``run(jobs)`` executes a batch and returns outcomes in job order."""

    def __init__(self, cfg: ExecConfig | None = None) -> None:
        self.cfg = cfg or ExecConfig()
        self.isolation: Isolation = "bubblewrap"
        self.isolation_note = ""
        self._bwrap: str | None = None
        self._slots: list[_Slot] = []
        self._sel: selectors.BaseSelector | None = None
        self._start_failures = 0
        self._serial = 0  # workers started (root: each gets its own uid)
        self.hardening: dict[str, bool] = {}  # what the first ready worker reported

    # ----- life cycle ---------------------------------------------------------------------
    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers; SandboxError if none can run. Decides the isolation level."""
        self._sel = selectors.DefaultSelector()
        self._choose_isolation()
        first, detail = self._first_worker()
        if first is None:
            if self.cfg.isolation != "auto" or self.isolation == "reduced":
                raise SandboxError(f"the {self.isolation} worker did not start: "
                                   f"{detail or 'no output'}. Check that bubblewrap runs here "
                                   "(bwrap --ro-bind / / true), or pass --isolation reduced.")
            self._reduce(f"bubblewrap failed to start a worker: {detail or 'no output'}")
            first, detail = self._first_worker()
            if first is None:
                raise SandboxError("no worker could start, even without bubblewrap: " + detail)
        self._slots = [first] + [self._spawn() for _ in range(self.cfg.n_workers - 1)]
        level = "isolation: %s" % self.isolation
        if self.isolation == "reduced":
            log.warning("%s (%s): programs run with rlimits and a scrubbed environment only",
                        level, self.isolation_note)
        else:
            log.info("%s (%d workers)", level, len(self._slots))

    def _first_worker(self) -> tuple[_Slot | None, str]:
        """Start one worker and wait until it is ready: (slot, "") or (None, why not)."""
        try:
            first = self._spawn()
        except OSError as err:  # e.g. a bwrap that is not executable
            return None, str(err)
        if self._wait_ready([first]):
            return first, ""
        detail = first.stderr.decode("utf-8", "replace").strip()[-800:]
        self._kill(first)
        return None, detail

    def close(self) -> None:
        for slot in self._slots:
            self._kill(slot)
        self._slots = []
        if self._sel is not None:
            self._sel.close()
            self._sel = None

    def _choose_isolation(self) -> None:
        if self.cfg.isolation == "reduced":
            self._reduce("--isolation reduced was asked for")
            return
        self._bwrap = find_bwrap(self.cfg)
        if self._bwrap is None:
            hint = (f"bubblewrap ({self.cfg.bwrap!r}) is not installed; install it "
                    "(Debian/Ubuntu: apt-get install bubblewrap)")
            if self.cfg.isolation == "bubblewrap":
                raise SandboxError(hint)
            self._reduce(hint)

    def _reduce(self, why: str) -> None:
        self.isolation, self.isolation_note = "reduced", why

    def _spawn(self) -> _Slot:
        if self.isolation == "bubblewrap":
            assert self._bwrap is not None
            self._serial += 1
            argv = bwrap_argv(self.cfg, self._bwrap, self._serial)
            scratch, env, cwd = None, scrubbed_env("/"), "/"
        else:
            scratch = tempfile.mkdtemp(prefix="imitation-exec-")
            uid = None
            if os.geteuid() == 0:  # root is exempt from RLIMIT_NPROC: run as a spare uid
                self._serial += 1
                uid = sandbox_uid(self._serial)
                os.chown(scratch, uid, uid)
            argv, env, cwd = reduced_argv(scratch, uid), scrubbed_env(scratch), scratch
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=cwd, close_fds=True,
                                start_new_session=True)
        slot = _Slot(proc, scratch)
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            os.set_blocking(stream.fileno(), False)
            assert self._sel is not None
            self._sel.register(stream, selectors.EVENT_READ, slot)
        return slot

    def _kill(self, slot: _Slot) -> None:
        """Kill the worker's whole session and close its pipes; never raises (a worker that
        died with bytes still buffered for it must not turn into a BrokenPipeError here)."""
        slot.dead = True
        if slot.proc.poll() is None:
            try:
                os.killpg(slot.proc.pid, signal.SIGKILL)
            except OSError:
                slot.proc.kill()
        slot.proc.wait()
        for stream in (slot.proc.stdin, slot.proc.stdout, slot.proc.stderr):
            if stream is None:
                continue
            if self._sel is not None and stream is not slot.proc.stdin:
                try:
                    self._sel.unregister(stream)
                except (KeyError, ValueError):
                    pass
            try:
                stream.close()
            except OSError:  # the buffered writer's last flush into a dead worker's stdin
                try:
                    os.close(stream.fileno())
                except (OSError, ValueError):
                    pass
        if slot.scratch:
            shutil.rmtree(slot.scratch, ignore_errors=True)

    def _wait_ready(self, slots: list[_Slot]) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not all(s.ready for s in slots):
            if any(s.proc.poll() is not None and not s.ready for s in slots):
                self._poll(0.05)  # collect its last words (stderr)
                return False
            self._poll(0.05)
        return all(s.ready for s in slots)

    # ----- running a batch ----------------------------------------------------------------
    def run(self, jobs: Sequence[Job], *, progress: bool = False,
            desc: str = "executing") -> list[Outcome]:
        """Execute every job; outcomes come back in the order of ``jobs``."""
        from tqdm.auto import tqdm

        if not self._slots:
            raise RuntimeError("WorkerPool.run() before start(); use `with WorkerPool(cfg)`")
        self._jobs, self._outcomes = jobs, [None] * len(jobs)
        self._pending = pending = deque(range(len(jobs)))
        errors = 0
        with tqdm(total=len(jobs), desc=desc, disable=not progress, unit="prog") as bar:
            self._bar = bar
            while pending or any(s.inflight for s in self._slots):
                try:
                    self._step(pending)
                except Exception as err:  # noqa: BLE001 - a bug here must not lose the results
                    errors += 1
                    self._internal_error(err, errors)
        lost = Outcome("sandbox_error", "the pool lost track of this program", 0.0, 0.0,
                       self.isolation)  # never seen; a guard, so that no result is ever None
        out = [outcome or lost for outcome in self._outcomes]
        self._jobs, self._outcomes = (), []
        return out

    def _step(self, pending: deque[int]) -> None:
        """Feed idle workers, wait for replies (or a watchdog deadline), handle them."""
        for slot in list(self._slots):
            while (pending and slot.ready and not slot.retiring and not slot.dead
                   and len(slot.inflight) < self._depth(pending[0])):
                self._send(slot, pending.popleft())
        busy = [s.deadline for s in self._slots if s.inflight]
        timeout = max(0.0, min(busy) - time.monotonic()) if busy else 0.05
        self._poll(min(timeout, 1.0))
        self._watchdog()
        if not any(s.ready or s.proc.poll() is None for s in self._slots):
            self._give_up(pending, "no sandboxed worker could be started")

    def _internal_error(self, err: Exception, count: int) -> None:
        """An unexpected error in the pool loop: the programs in flight get "sandbox_error",
        their workers are replaced, and the run goes on (after MAX_INTERNAL_ERRORS, the
        remaining programs get "sandbox_error" too)."""
        log.error("sandbox pool error (%d of at most %d): %r", count, MAX_INTERNAL_ERRORS, err,
                  exc_info=err)
        reason = f"the sandbox pool hit an internal error ({err!r}); its worker was restarted"
        for slot in list(self._slots):
            if slot.inflight and not slot.dead:
                try:
                    self._lost(slot, reason, "sandbox_error")
                except Exception:  # noqa: BLE001 - cannot even recover: stop here
                    log.exception("could not replace a worker after a pool error")
                    count = MAX_INTERNAL_ERRORS
        if count >= MAX_INTERNAL_ERRORS:
            for slot in self._slots:
                while slot.inflight:
                    self._finish(slot, Outcome("sandbox_error", reason, 0.0, 0.0,
                                               self.isolation))
            self._give_up(self._pending, reason)

    def _depth(self, index: int) -> int:
        """Queue a second job only if it fits in the pipe (a blocking write would stall us)."""
        job = self._jobs[index]
        return PIPELINE if len(job.program) + len(job.test) < 16_000 else 1

    def _send(self, slot: _Slot, index: int) -> None:
        job = self._jobs[index]
        msg = {"op": "run", "id": index, "program": job.program, "test": job.test,
               "entry_point": job.entry_point, "cpu": job.cpu_limit_s,
               "wall": job.wall_limit_s, "limits": self.cfg.worker_limits()}
        data = json.dumps(msg).encode("utf-8")
        if not slot.inflight:
            slot.deadline = time.monotonic() + _watchdog_s(job.wall_limit_s)
        slot.inflight.append(index)
        try:  # unbuffered: nothing is left to flush into a worker that dies
            assert slot.proc.stdin is not None
            fd = slot.proc.stdin.fileno()
            os.set_blocking(fd, True)
            view = memoryview(HEADER.pack(len(data)) + data)
            while view:
                view = view[os.write(fd, view):]
        except (OSError, ValueError):  # BrokenPipeError; ValueError: a closed pipe
            self._lost(slot, "the worker was gone before the program was sent")

    def _poll(self, timeout: float) -> None:
        assert self._sel is not None
        for key, _ in self._sel.select(timeout):
            slot: _Slot = key.data
            if slot.dead:  # killed while handling an earlier event of this select
                continue
            try:
                data = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError as err:
                self._lost(slot, f"reading the worker's pipe failed: {err}")
                continue
            if key.fileobj is slot.proc.stderr:
                slot.stderr = (slot.stderr + data)[-4096:]
                if not data:
                    self._sel.unregister(key.fileobj)
                continue
            if not data:
                self._sel.unregister(key.fileobj)
                self._lost(slot, "the sandboxed worker died while running this program (did "
                                 "the program kill its parent process?)")
                continue
            slot.buf += data
            self._frames(slot)

    def _frames(self, slot: _Slot) -> None:
        while len(slot.buf) >= HEADER.size and not slot.dead:
            (size,) = HEADER.unpack_from(slot.buf)
            if size > MAX_FRAME:
                self._lost(slot, f"the worker sent garbage (a frame of {size} bytes)",
                           "sandbox_error")
                return
            if len(slot.buf) < HEADER.size + size:
                return
            raw = bytes(slot.buf[HEADER.size:HEADER.size + size])
            del slot.buf[:HEADER.size + size]
            try:
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    raise ValueError(f"a JSON {type(msg).__name__}, not an object")
            except ValueError as err:  # UnicodeDecodeError and JSONDecodeError included
                self._lost(slot, f"the worker sent garbage ({err})", "sandbox_error")
                return
            self._message(slot, msg)

    def _message(self, slot: _Slot, msg: dict) -> None:
        if msg.get("op") == "ready":
            slot.ready = True
            self._note_hardening(msg.get("hardening"))
        elif msg.get("op") == "result" and slot.inflight and msg.get("id") == slot.inflight[0]:
            outcome = self._outcome(msg)
            if outcome is None:
                self._lost(slot, "the worker sent a result without a valid verdict",
                           "sandbox_error")
                return
            self._finish(slot, outcome)
            if msg.get("recycle"):  # the worker exits: its queued jobs go back
                slot.retiring = True
                self._replace(slot)

    def _outcome(self, msg: dict) -> Outcome | None:
        verdict, reason, message = msg.get("verdict"), msg.get("reason"), msg.get("message", "")
        if verdict not in VERDICTS or not isinstance(reason, str) or not isinstance(message, str):
            return None
        try:
            cpu, wall = float(msg["cpu"]), float(msg["wall"])
        except (KeyError, TypeError, ValueError):
            return None
        return Outcome(verdict, reason, cpu, wall, self.isolation, message)

    def _note_hardening(self, hardening: object) -> None:
        """Keep what the first worker reported; warn once about anything missing."""
        if self.hardening or not isinstance(hardening, dict):
            return
        self.hardening = {str(k): bool(v) for k, v in hardening.items()}
        missing = sorted(k for k, v in self.hardening.items() if not v)
        if missing:
            log.warning("worker hardening incomplete (%s missing)%s", ", ".join(missing),
                        ": a program can signal processes of this user, this one included"
                        if "seccomp" in missing and self.isolation == "reduced" else "")

    def _finish(self, slot: _Slot, outcome: Outcome) -> None:
        self._outcomes[slot.inflight.popleft()] = outcome
        if slot.inflight:
            wall = self._jobs[slot.inflight[0]].wall_limit_s
            slot.deadline = time.monotonic() + _watchdog_s(wall)
        self._bar.update(1)

    def _lost(self, slot: _Slot, reason: str, verdict: Verdict = "crashed") -> None:
        """The worker died, hung or garbled its reply: its program gets ``verdict``; a fresh
        worker takes its place."""
        if slot.inflight:
            job = self._jobs[slot.inflight[0]]
            self._finish(slot, Outcome(verdict, reason, 0.0, job.wall_limit_s, self.isolation))
        self._replace(slot)

    def _replace(self, slot: _Slot) -> None:
        if slot not in self._slots:  # still starting up (start() handles its failure)
            return
        index = self._slots.index(slot)
        self._kill(slot)
        while slot.inflight:  # sent but never started: run them elsewhere
            self._pending.appendleft(slot.inflight.pop())
        if not slot.ready:
            self._start_failures += 1
        if self._start_failures < MAX_START_FAILURES:
            try:
                self._slots[index] = self._spawn()
                return
            except OSError as err:  # e.g. out of processes or descriptors: this slot stays empty
                log.error("could not start a sandboxed worker: %s", err)
        else:
            log.error("workers keep failing to start: %s",
                      slot.stderr.decode("utf-8", "replace")[-500:])
        self._slots[index] = _Slot(slot.proc, None, ready=False, retiring=True, dead=True)

    def _watchdog(self) -> None:
        now = time.monotonic()
        for slot in list(self._slots):
            if slot.inflight and now > slot.deadline:
                self._lost(slot, "the sandboxed worker stopped answering (did the program stop "
                                 "or freeze its parent process?)")
            elif not slot.ready and not slot.retiring and now - slot.started > READY_TIMEOUT_S:
                self._replace(slot)

    def _give_up(self, pending: deque[int], reason: str) -> None:
        while pending:
            index = pending.popleft()
            self._outcomes[index] = Outcome("sandbox_error", reason, 0.0, 0.0, self.isolation)
            self._bar.update(1)
