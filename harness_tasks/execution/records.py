"""Typed records of the executor: what to run (Job) and what happened (Outcome).

A verdict is one of five words, never a silent grade:

- ``passed``: the sandbox's own trusted code saw ``check(candidate)`` return, and proved it to
  the worker with the per-run secret (README, "Verdict protocol");
- ``failed``: the program or its checks raised (AssertionError, SyntaxError, MemoryError,
  SystemExit, ...), or a candidate returned an object whose comparison it overrides;
- ``timeout``: the CPU-time limit (or the wall-clock backstop for programs that sleep) ran out;
- ``crashed``: the program's process ended without a verdict (``os._exit``, a signal, a killed
  or stopped worker);
- ``sandbox_error``: the executor itself could not grade the program (worker failed to start,
  a broken problem). Counted and reported on its own; never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["passed", "failed", "timeout", "crashed", "sandbox_error"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "timeout", "crashed", "sandbox_error")

# "bubblewrap": the full sandbox; "reduced": rlimits and a scrubbed environment only.
Isolation = Literal["bubblewrap", "reduced"]


@dataclass(frozen=True)
class Job:
    """One program to run: ``program`` is exec'd, then ``test``, then ``check(entry_point)``.

    ``program`` is the problem's prompt plus the model's completion (human-eval's layout);
    ``test`` defines ``check``. Limits are per job, in seconds and bytes.
    """

    program: str
    test: str
    entry_point: str
    cpu_limit_s: float
    wall_limit_s: float
    task_id: str = ""


@dataclass(frozen=True)
class Outcome:
    """The verdict of one job, with a human-readable reason and the resources it used."""

    verdict: Verdict
    reason: str
    cpu_s: float
    wall_s: float
    isolation: Isolation
    message: str = ""  # str(exception) for "failed" (human-eval's "failed: <message>")

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def result(self) -> str:
        """human-eval's ``result`` field: "passed", "timed out" or "failed: ..."."""
        if self.verdict == "passed":
            return "passed"
        if self.verdict == "timeout":
            return "timed out"
        if self.verdict == "failed":
            return f"failed: {self.message}"
        return f"failed: {self.verdict}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "reason": self.reason, "cpu_s": round(self.cpu_s, 4),
                "wall_s": round(self.wall_s, 4), "isolation": self.isolation}
