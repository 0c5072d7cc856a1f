"""One progress display over the whole experiment: stage, run k of n, elapsed, ETA.

The ETA adds up what the remaining stages are expected to take: a training stage by its token
count times the seconds per token measured on the stages finished so far (a prior before the
first), an evaluation by the mean of the evaluations measured so far, a prepare stage by a
small constant. On a terminal it is one tqdm bar; otherwise one plain line per stage.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

PRIOR = {"train_s_per_token": 0.02, "evaluate_s": 600.0, "prepare_s": 30.0}


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ExperimentProgress:
    def __init__(self, stages: list[tuple[str, str, int]], stream: TextIO | None = None,
                 finished: dict[str, float] | None = None) -> None:
        """``stages``: (id, kind, training tokens) in order; ``finished``: the seconds of the
        stages a previous session finished (skipped now; they calibrate the ETA)."""
        self.stages, self.skipped = stages, set(finished or {})
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.measured: dict[str, list[float]] = {"train": [], "train_tokens": [],
                                                 "evaluate": [], "prepare": []}
        for sid, kind, tokens in stages:
            if (finished or {}).get(sid, 0) > 0:
                self._measure(kind, tokens, (finished or {})[sid])
        self.bar: Any = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=len(stages), file=self.stream, unit="stage", leave=True,
                            bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} {postfix}")

    def _measure(self, kind: str, tokens: int, seconds: float) -> None:
        self.measured[kind].append(seconds)
        if kind == "train":
            self.measured["train_tokens"].append(max(tokens, 1))

    def _expected(self, kind: str, tokens: int) -> float:
        m = self.measured
        if kind == "train":
            rate = (sum(m["train"]) / sum(m["train_tokens"]) if sum(m["train_tokens"])
                    else PRIOR["train_s_per_token"])
            return rate * tokens
        if m[kind]:
            return sum(m[kind]) / len(m[kind])
        return PRIOR[f"{kind}_s"]

    def eta(self, index: int) -> float:
        return sum(self._expected(kind, tokens) for sid, kind, tokens in self.stages[index:]
                   if sid not in self.skipped)

    def begin(self, index: int) -> None:
        sid = self.stages[index][0]
        text = (f"stage {index + 1}/{len(self.stages)}: {sid} | elapsed "
                f"{_clock(time.monotonic() - self.start)} | ETA {_clock(self.eta(index))}")
        if self.bar is not None:
            self.bar.set_description_str(f"{sid} ({index + 1}/{len(self.stages)})")
            self.bar.set_postfix_str(f"elapsed {_clock(time.monotonic() - self.start)}, "
                                     f"ETA {_clock(self.eta(index))}")
        else:
            print(f"experiment: {text}", file=self.stream, flush=True)

    def end(self, index: int, seconds: float, skipped: bool = False) -> None:
        sid, kind, tokens = self.stages[index]
        if not skipped and sid not in self.skipped:
            self._measure(kind, tokens, seconds)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> float:
        if self.bar is not None:
            self.bar.close()
        return time.monotonic() - self.start
