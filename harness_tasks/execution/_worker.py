"""The sandboxed worker: a warm interpreter that runs each program in a forked child.

Runs INSIDE the sandbox as ``python -I -S -B -c <_child.py + this file> MODE SCRATCH``, using
the standard library only (the package's own folder is not visible in there; hence no
``from __future__`` and no package imports at run time). Importing it does nothing.

Pool protocol (stdin/stdout of the worker): frames of a 4-byte big-endian length and UTF-8 JSON.
The worker sends {"op": "ready"} once, then answers each {"op": "run"} with {"op": "result"}.

Verdict protocol (README "Verdict protocol"): per job the worker forks a child, which runs
_child.Child.run (trusted set-up, then the program, the test and check). Only AFTER the fork
does the worker draw a 16-byte secret and write it into the child's key pipe. The child's
trusted code reads it only after ``check`` returned or raised, and writes one report frame
``MAGIC + secret + kind + length + text``. A pass is counted only on a frame with the right
secret; an exit without one (``os._exit(0)``, a signal, a killed worker) is never a pass.
"""

import gc
import json
import os
import select
import shutil
import signal
import sys
import time

try:  # when the pool runs _child.py + this file as one script, these are already defined
    Child  # type: ignore[used-before-def]  # noqa: B018
except NameError:
    from harness_tasks.execution._child import (HEADER, MAGIC, REPORT_MAX, SECRET_LEN, Child,
                                                code_names)

PRELOAD = ("typing", "math", "re", "collections", "itertools", "functools", "string", "hashlib",
           "random", "heapq", "bisect", "copy", "fractions", "decimal", "statistics", "operator",
           "datetime", "json", "textwrap", "unicodedata", "array", "cmath", "resource")


def _prctl(option: int, arg: int) -> bool:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001 - hardening is best effort; reported in "ready"
        return False


class Worker:
    def __init__(self, mode: str, scratch: str) -> None:
        self.isolated = mode == "bubblewrap"
        self.scratch = scratch
        self.jobs = 0
        self.tests: dict = {}
        for name in PRELOAD:  # warm imports: a child's "import typing" is a dict lookup
            try:
                __import__(name)
            except ImportError:
                pass
        self.hardening = {"nondumpable": _prctl(4, 0), "subreaper": _prctl(36, 1),
                          "pdeathsig": _prctl(1, signal.SIGKILL)}
        self.child = Child(self.isolated, scratch)
        self.hardening["seccomp"] = self.child.signals.available
        if not self.isolated:
            self.hardening["landlock"] = self.child.fence.available
        gc.collect()
        gc.freeze()  # children's collections skip the worker's objects

    # ----- worker side -------------------------------------------------------------------
    def run(self, job: dict) -> dict:
        self.jobs += 1
        started = time.monotonic()
        compiled = self.tests.get(job["test"])
        if compiled is None:
            try:
                code = compile(job["test"], "<test>", "exec")
            except BaseException as exc:  # noqa: BLE001 - a broken problem file, not a program
                return self._result(job, "sandbox_error", f"the problem's test does not compile: "
                                    f"{exc!r}", 0.0, started)
            compiled = self.tests[job["test"]] = (code, code_names(code))
        fresh_builtins = self.child.fresh_builtins()
        jobdir = os.path.join(self.scratch, f"job{self.jobs}")
        os.mkdir(jobdir, 0o700)
        report_r, report_w = os.pipe()
        key_r, key_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
            try:
                self.child.run(job, *compiled, fresh_builtins, report_w, key_r, jobdir)
            finally:
                os._exit(70)
        os.close(report_w)
        os.close(key_r)
        secret = os.urandom(SECRET_LEN)  # drawn after the fork: never in the child's memory
        os.write(key_w, secret)
        os.close(key_w)
        try:
            status, cpu, report, wall_killed = self._wait(pid, report_r, secret, job, started)
        finally:
            os.close(report_r)
            survivors = not self._kill_leftovers(pid)
        try:
            os.rmdir(jobdir)  # the common case: the program wrote nothing
        except OSError:
            pass
        recycle = not self._clean_scratch() or survivors
        verdict, reason, message = self._decide(status, cpu, report, wall_killed, job)
        return self._result(job, verdict, reason, cpu, started, message, recycle)

    def _result(self, job, verdict, reason, cpu, started, message="", recycle=False) -> dict:
        return {"op": "result", "id": job["id"], "verdict": verdict, "reason": reason,
                "message": message, "cpu": cpu, "wall": time.monotonic() - started,
                "recycle": recycle}

    def _wait(self, pid, report_r, secret, job, started):
        """Drain the report pipe until the child exits or the wall-clock backstop is reached."""
        deadline = started + float(job["wall"])
        reader = _ReportReader(secret)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # pragma: no cover - kernels before 5.3
            pidfd = None
        poller = select.poll()
        poller.register(report_r, select.POLLIN)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        wall_killed, waited = False, None
        try:
            while waited is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    os.kill(pid, signal.SIGKILL)
                    wall_killed = True
                    break
                step = remaining if pidfd is not None else min(remaining, 0.005)
                events = dict(poller.poll(max(1, int(step * 1000))))
                if report_r in events:
                    data = os.read(report_r, 65536)
                    if data:
                        reader.feed(data)
                    else:
                        poller.unregister(report_r)
                if pidfd is None or pidfd in events:
                    got, status, usage = os.wait4(pid, 0 if pidfd is not None else os.WNOHANG)
                    if got:
                        waited = (status, usage)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        status, usage = waited or os.wait4(pid, 0)[1:]
        os.set_blocking(report_r, False)
        try:  # the report was written before the child exited: it is in the pipe already
            while reader.report is None and (data := os.read(report_r, 65536)):
                reader.feed(data)
        except BlockingIOError:
            pass
        return status, usage.ru_utime + usage.ru_stime, reader.report, wall_killed

    def _decide(self, status, cpu, report, wall_killed, job):
        cpu_limit = float(job["cpu"])
        if report is not None:
            kind, reason, message = report
            verdict = {"P": "passed", "F": "failed"}.get(kind, "sandbox_error")
            return verdict, reason, message
        if wall_killed:
            return ("timeout", f"wall-clock backstop of {job['wall']:g} s reached with "
                    f"{cpu:.2f} s of CPU used (the program slept, blocked, or shared the CPU "
                    f"with processes it started)", "")
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig in (signal.SIGPROF, signal.SIGXCPU) or (
                    sig == signal.SIGKILL and cpu >= cpu_limit * 0.95):
                return "timeout", f"CPU time limit of {cpu_limit:g} s reached", ""
            if sig == signal.SIGXFSZ:
                return "crashed", "file size limit exceeded (SIGXFSZ)", ""
            if sig == signal.SIGSYS:
                return ("crashed", "killed by the sandbox's signal filter (SIGSYS): the program "
                        "tried to signal, trace or write into another process (kill, killpg, "
                        "ptrace, F_SETOWN...)", "")
            return "crashed", f"killed by signal {signal.Signals(sig).name}", ""
        code = os.WEXITSTATUS(status)
        return "crashed", f"exited with status {code} before the checks finished", ""

    def _kill_leftovers(self, pid: int) -> bool:
        """Kill and reap whatever the program left behind; False if something survived."""
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if self.isolated and os.getpid() <= 3:  # alone in our PID namespace with bwrap's init
                targets = [-1]  # kill(-1): every process here but init and ourselves
            else:
                targets = [-pid] + self._children()  # the child's session, then orphans
            for target in targets:
                try:
                    os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self._reap()
            if not self._children():
                return True
            time.sleep(0.002)
        return False

    def _children(self) -> list[int]:
        """Our children, reparented orphans included (we are a child subreaper)."""
        kids: list[int] = []
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/children") as handle:
                    kids += [int(p) for p in handle.read().split()]
            except OSError:
                pass
        return kids

    def _reap(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def _clean_scratch(self) -> bool:
        """Empty the scratch folders; False if something could not be removed."""
        def force(func, path, _exc):
            os.chmod(os.path.dirname(path) or ".", 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)

        ok = True
        roots = [self.scratch] + (["/dev/shm"] if self.isolated else [])
        for root in roots:
            try:
                entries = os.listdir(root)
            except OSError:
                continue
            for entry in entries:
                path = os.path.join(root, entry)
                try:
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, onerror=force)
                    else:
                        os.unlink(path)
                except OSError:
                    ok = False
        return ok


class _ReportReader:
    """Finds the one trusted report frame (MAGIC + secret + kind + length + text) in the pipe."""

    def __init__(self, secret: bytes) -> None:
        self.marker = MAGIC + secret
        self.buf = b""
        self.report: tuple[str, str, str] | None = None

    def feed(self, data: bytes) -> None:
        if self.report is not None:
            return
        self.buf = self.buf[-(REPORT_MAX + 64):] + data if len(self.buf) > 8192 else self.buf + data
        at = self.buf.find(self.marker)
        if at < 0:
            return
        head = at + len(self.marker)
        if len(self.buf) < head + 1 + HEADER.size:
            return
        kind = self.buf[head:head + 1].decode("ascii", "replace")
        (size,) = HEADER.unpack_from(self.buf, head + 1)
        body = self.buf[head + 1 + HEADER.size: head + 1 + HEADER.size + size]
        if len(body) < size:
            return
        reason, _, message = body.decode("utf-8", "replace").partition("\0")
        self.report = (kind, reason, message)


def _read_frame(fd: int) -> dict | None:
    head = _read_exact(fd, HEADER.size)
    if head is None:
        return None
    return json.loads(_read_exact(fd, HEADER.unpack(head)[0]) or b"null")


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, need = [], size
    while need:
        chunk = os.read(fd, need)
        if not chunk:
            return None
        chunks.append(chunk)
        need -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, obj: dict) -> None:
    data = json.dumps(obj).encode("utf-8")
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def drop_privileges(uid: int) -> None:
    """Started as root (by a root user's bwrap): become ``uid``, with no capability left."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise SystemExit("worker: could not drop root")


# Signals whose default action the limits rely on, or that a parent may have left ignored.
DEFAULT_SIGNALS = ("SIGPROF", "SIGXCPU", "SIGXFSZ", "SIGALRM", "SIGVTALRM", "SIGHUP",
                   "SIGTERM", "SIGUSR1", "SIGUSR2")


def reset_signals() -> None:
    """Undo what the process that started us may have set: ignored or blocked signals survive
    exec, and an ignored or blocked SIGPROF would disable the exact CPU timer."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for name in DEFAULT_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)


def main(argv: list) -> int:
    reset_signals()
    mode, scratch = argv[0], argv[1]
    uid = int(argv[2]) if len(argv) > 2 and argv[2] else None  # given when started by root
    if uid is not None and mode == "bubblewrap":
        drop_privileges(uid)
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    no_new_privs = _prctl(38, 1)  # exec can never gain privileges; lets children use seccomp
    worker = Worker(mode, scratch)
    if uid is not None and mode != "bubblewrap":
        drop_privileges(uid)  # after the preloads: root's stdlib may be unreadable to uid
    _send(proto_out, {"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0],
                      "mode": mode, "uid": os.getuid(),
                      "hardening": dict(worker.hardening, no_new_privs=no_new_privs)})
    while (job := _read_frame(proto_in)) is not None:
        try:
            result = worker.run(job)
        except Exception as exc:  # noqa: BLE001 - reported, and the pool restarts us
            result = {"op": "result", "id": job.get("id"), "verdict": "sandbox_error",
                      "reason": f"worker error: {exc!r}", "message": "", "cpu": 0.0,
                      "wall": 0.0, "recycle": True}
        _send(proto_out, result)
        if result.get("recycle"):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
