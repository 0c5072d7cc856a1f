"""Evaluate a model with the suite (``harness_tasks.runner.run``) in a fresh child process.

A child per evaluation frees the model's memory when it ends, so a sweep or an experiment can
evaluate many checkpoints in one session. The child is a Python function run by
``multiprocessing`` (spawn), not a command: its result comes back typed (:class:`Evaluated`),
and an error the user can fix comes back as the same ``ValueError`` with its message.

Everything the evaluation prints (lm-eval's warnings, the progress line, the summary) goes to
``log_file``, and to stderr too with ``echo=True``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Mapping

from judges.config import ConfigError

RESERVED = frozenset({"pretrained", "output_dir"})


@dataclass(frozen=True)
class Evaluated:
    folder: Path  # the results folder: results.json, config.json, samples, table.md
    seconds: float
    table: str  # the one-line-per-task summary


class EvaluationFailed(RuntimeError):
    """A child process (an evaluation, a training run) died: killed, out of memory."""


def run_config(settings: Mapping[str, Any], pretrained: str, out: Path) -> Any:
    """The suite's RunConfig from a sweep's or experiment's ``eval`` settings; an unknown or
    reserved setting is a ConfigError naming it and the known ones."""
    from harness_tasks.runner import RunConfig

    known = {f.name for f in dataclasses.fields(RunConfig)} - RESERVED
    bad = sorted(set(settings) - known)
    if bad:
        raise ConfigError(f"eval: unknown or reserved setting(s) {bad}; known: {sorted(known)}")
    values = {k: v for k, v in settings.items() if v is not None}  # null: the suite's default
    if isinstance(values.get("tasks"), (list, tuple)):
        values["tasks"] = ",".join(str(t) for t in values["tasks"])
    try:
        return RunConfig(**values, pretrained=str(pretrained), output_dir=str(out))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"eval: {err}") from None


def in_child(fn: Any, *args: Any, what: str, log_file: Path | None = None) -> Any:
    """``fn(*args)`` in a fresh spawned process (its memory is freed when it ends); its return
    value, or the exception it raised. A process that dies is an EvaluationFailed naming
    ``what`` (and the log to read)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            where = f"; its output is in {log_file}" if log_file else ""
            raise EvaluationFailed(f"{what} died (killed or out of memory?){where}") from None


def evaluate(settings: Mapping[str, Any], pretrained: str, out: Path, log_file: Path, *,
             echo: bool = True) -> Evaluated:
    """Run the suite on ``pretrained`` in a child process; results go under ``out``."""
    cfg = run_config(settings, pretrained, out)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    folder, table = in_child(_child, cfg, str(log_file), echo,
                             what=f"the evaluation of {pretrained}", log_file=log_file)
    return Evaluated(Path(folder), time.monotonic() - start, table)


def _child(cfg: Any, log_file: str, echo: bool) -> tuple[str, str]:
    import logging

    from harness_tasks.cli import quiet_lm_eval
    from harness_tasks.runner import run

    with _tee(Path(log_file), echo):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                            force=True)
        quiet_lm_eval()
        try:
            out = run(cfg)
        except Exception as err:  # kept in the log too; the parent gets the same exception
            print(f"imitation-eval: error: {err}", file=sys.stderr, flush=True)
            raise
        print(f"{out.table}\nresults: {out.folder}", file=sys.stderr, flush=True)
    return str(out.folder), out.table


class _tee:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C libraries and
    child processes too) into ``path``, and on to the original stderr with ``echo``."""

    def __init__(self, path: Path, echo: bool) -> None:
        self.path, self.echo = path, echo

    def __enter__(self) -> "_tee":
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self.thread = threading.Thread(target=self._copy, args=(read,), daemon=True)
        self.thread.start()
        return self

    def _copy(self, read: int) -> None:
        with open(read, "rb", buffering=0) as src, self.path.open("ab") as log:
            while chunk := src.read(65536):
                log.write(chunk)
                log.flush()
                if self.echo:
                    os.write(self.saved[1], chunk)

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)  # the pipe's last writer is gone: the copier ends
        self.thread.join(timeout=30)
        for fd in self.saved:
            os.close(fd)
