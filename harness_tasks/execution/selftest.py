"""Check that the sandbox works before any model generates code (fail fast).

Three probes run through a one-worker pool: a program that must pass, one that must fail, and
(under bubblewrap) one whose checks assert the isolation from the inside: the home folder, the
working tree and the package folder are invisible, the environment holds nothing but the
allow-list, there is no network interface but loopback, and the root is read-only.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.records import Isolation, Job
from harness_tasks.execution.sandbox import ENV_ALLOWED, SandboxError

log = logging.getLogger(__name__)

_PROGRAM = "def inc(x):\n    return x + 1\n"
_WRONG = "def inc(x):\n    return x\n"
_TEST = "def check(candidate):\n    assert candidate(1) == 2\n"
_ISOLATION_TEST = '''
def check(candidate):
    import os, socket
    assert candidate(1) == 2
    for path in {hidden!r}:
        assert not os.path.exists(path), "visible inside the sandbox: " + path
    extra = set(os.environ) - {allowed!r}
    assert not extra, "environment not scrubbed: " + ", ".join(sorted(extra))
    names = [name for _, name in socket.if_nameindex()]
    assert names == ["lo"], "network interfaces: " + repr(names)
    try:
        open("/selftest-write", "w")
    except OSError:
        pass
    else:
        raise AssertionError("the root is writable")
'''


@dataclass(frozen=True)
class SelfTest:
    isolation: Isolation
    note: str


def hidden_paths(limit: int = 20) -> list[str]:
    """Host paths a program must not see: home, working directory, this package's tree.

    Where the Python installation lives inside one of them (pyenv under the home folder), the
    sandbox shows the path down to it, so the probe checks that folder's other entries.
    """
    import sys

    prefixes = [os.path.realpath(p) for p in {sys.base_prefix, sys.base_exec_prefix}]
    package_root = str(Path(__file__).resolve().parents[2])
    found: list[str] = []
    for root in dict.fromkeys([str(Path.home()), os.getcwd(), package_root]):
        if root in ("/", ""):
            continue
        if not any(p == root or p.startswith(root + "/") for p in prefixes):
            found.append(root)
            continue
        try:
            entries = sorted(os.listdir(root))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(root, entry)
            if not any(p == path or p.startswith(path + "/") for p in prefixes):
                found.append(path)
    return found[:limit]


def self_test(cfg: ExecConfig | None = None) -> SelfTest:
    """Run the probes; SandboxError (with the reason) if the sandbox does not behave."""
    cfg = dataclasses.replace(cfg or ExecConfig(), workers=1)
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "PWD", *ENV_ALLOWED}  # bwrap sets PWD
    isolation_test = _ISOLATION_TEST.format(hidden=hidden_paths(), allowed=allowed)
    with WorkerPool(cfg) as pool:
        probes = [Job(_PROGRAM, _TEST, "inc", 5.0, 20.0, "selftest/pass"),
                  Job(_WRONG, _TEST, "inc", 5.0, 20.0, "selftest/fail")]
        if pool.isolation == "bubblewrap":
            probes.append(Job(_PROGRAM, isolation_test, "inc", 5.0, 20.0, "selftest/isolation"))
        outcomes = pool.run(probes)
        isolation, note = pool.isolation, pool.isolation_note
    expected = ["passed", "failed", "passed"][:len(probes)]
    for job, outcome, want in zip(probes, outcomes, expected):
        if outcome.verdict != want:
            raise SandboxError(f"sandbox self-test {job.task_id}: expected {want}, got "
                               f"{outcome.verdict} ({outcome.reason}); refusing to run "
                               f"model-written code")
    log.info("sandbox self-test passed (isolation: %s)", isolation)
    return SelfTest(isolation, note)
