"""How a worker process is started: inside bubblewrap, or (fallback) with rlimits only.

The bubblewrap sandbox (README "Isolation"):

- a new root that holds, read-only, only /usr, /bin, /sbin, /lib*, /etc (with /etc/shadow,
  /etc/gshadow, /etc/ssh and /etc/ssl/private masked) and the Python installation; fresh /dev
  and /proc; a private, size-limited tmpfs on /tmp and /dev/shm. No /home, /root, /work, /var,
  /run, /opt, /srv or /mnt: neither the user's home nor the working tree is visible;
- new PID, network, IPC, UTS and cgroup namespaces: no network at all (127.0.0.1 is the
  sandbox's own, empty loopback), no other processes; a new session (no terminal injection);
  killed with its parent. Started by a normal user: also a user namespace, every capability
  dropped, no nested user namespaces. Started by root: no user namespace (it would map the
  sandbox to uid 0, which the kernel exempts from RLIMIT_NPROC); the worker switches at once
  to an unused high uid of its own, which leaves it no capability, and sets no_new_privs;
- an environment cleared down to PATH, HOME=/tmp, TMPDIR=/tmp and LANG.

The worker runs the base interpreter (not the virtualenv) with ``-I -S -B``: no site-packages,
no user site, no PYTHON* variables, no bytecode writes. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from harness_tasks.execution.config import MiB, ExecConfig

log = logging.getLogger(__name__)

# Environment variables a worker keeps (their values are not secret); everything else goes.
ENV_ALLOWED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
ROOT_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers",
                "/etc/machine-id")
MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
PYTHON_FLAGS = ("-I", "-S", "-B")


class SandboxError(RuntimeError):
    """The sandbox cannot run here (message says why and what to install or change)."""


def worker_source() -> str:
    """The worker program (``python -c``; the package is not visible inside): the child's
    trusted code, then the worker loop, as one script."""
    here = Path(__file__).parent
    return "\n".join((here / name).read_text(encoding="utf-8")
                     for name in ("_child.py", "_worker.py"))


def base_python() -> Path:
    """The real interpreter behind this (possibly virtualenv) Python."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return Path(os.path.realpath(exe))


def scrubbed_env(home: str) -> dict[str, str]:
    """An environment with nothing secret in it: PATH, HOME, TMPDIR and locale only."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home}
    env.update({k: os.environ[k] for k in ENV_ALLOWED if k in os.environ})
    env.setdefault("LANG", "C.UTF-8")
    return env


def find_bwrap(cfg: ExecConfig) -> str | None:
    return shutil.which(cfg.bwrap)


def _bind_root(argv: list[str]) -> None:
    for path in ROOT_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in MASKED_FILES:
        if os.path.exists(path):
            argv += ["--ro-bind", "/dev/null", path]
    for path in MASKED_DIRS:
        if os.path.isdir(path):
            argv += ["--tmpfs", path]


def _under_bound(path: str) -> bool:
    real = os.path.realpath(path)
    return any(real == d or real.startswith(d + "/") for d in ROOT_DIRS if not os.path.islink(d))


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def sandbox_uid(serial: int) -> int:
    """An unused high uid for one worker started by root (each worker gets its own, so that
    RLIMIT_NPROC counts only that sandbox's processes)."""
    return 2_000_000_000 + (os.getpid() * 64 + serial) % 100_000_000


def _namespace_flags(uid: int | None) -> list[str]:
    if uid is None:  # unprivileged: a user namespace maps us to ourselves
        return ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    # As root, a user namespace would map the sandbox to uid 0, which the kernel exempts from
    # RLIMIT_NPROC. So: no user namespace; the worker keeps only CAP_SETUID/CAP_SETGID to
    # switch to ``uid`` (then has no capability at all, and no_new_privs).
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
            "--cap-add", "CAP_SETGID"]


def bwrap_argv(cfg: ExecConfig, bwrap: str, serial: int = 0,
               python: Path | None = None) -> list[str]:
    """The full command line of one sandboxed worker."""
    python = python or base_python()
    uid = sandbox_uid(serial) if os.geteuid() == 0 else None
    argv = [bwrap, *_namespace_flags(uid), "--die-with-parent", "--new-session", "--clearenv"]
    _bind_root(argv)
    made: set[str] = set()
    for prefix in sorted({sys.base_prefix, sys.base_exec_prefix, str(python.parent.parent)}):
        if os.path.isdir(prefix) and not _under_bound(prefix):
            for parent in _ancestors(prefix):
                if parent not in made and not _under_bound(parent):
                    argv += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            argv += ["--ro-bind", prefix, prefix]
    argv += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "01777", "--size", str(cfg.tmp_mb * MiB), "--tmpfs", "/tmp",
             "--perms", "01777", "--size", str(16 * MiB), "--tmpfs", "/dev/shm",
             "--remount-ro", "/", "--chdir", "/tmp"]
    for key, value in scrubbed_env("/tmp").items():
        argv += ["--setenv", key, value]
    return argv + [str(python), *PYTHON_FLAGS, "-c", worker_source(), "bubblewrap", "/tmp",
                   str(uid or "")]


def reduced_argv(scratch: str, uid: int | None = None, python: Path | None = None) -> list[str]:
    """The fallback: the same worker, outside any sandbox (rlimits and a scrubbed env only).
    Started by root, the worker switches to ``uid`` once its imports are loaded."""
    python = python or base_python()
    return [str(python), *PYTHON_FLAGS, "-c", worker_source(), "reduced", scratch,
            "" if uid is None else str(uid)]
