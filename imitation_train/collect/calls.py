"""Sending a collection's requests through any ChatClient, and what counts as usable text."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


def output_field(default: str) -> Any:
    return field(default=default, metadata={
        "help": "append-only JSONL of collected records (rerun the command to resume)"})


@dataclass(frozen=True, kw_only=True)
class CollectSettings:
    """The settings every collection has besides its own (``BroadConfig``, ``NQSyntheticConfig``
    extend it, each with its own ``output`` default)."""

    teacher: str | None = field(default=None, metadata={
        "help": "teacher name stored in each record (default: the --model sent)"})
    seed: int = field(default=0, metadata={
        "help": "seed of every random choice and of the requests"})
    data_dir: str | None = field(default=None, metadata={
        "help": "shared data folder (default: IMITATION_SUITE_DATA, else ../shared/data)"})
    progress: bool = field(default=True, metadata={"help": "progress bars"})


@dataclass
class Tally:
    """What happened to the calls of a run (an error is its own outcome, never text)."""

    counts: collections.Counter = field(default_factory=collections.Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


def run_calls(client: Any, jobs: Sequence[tuple[Any, Any]], on_reply: Callable[[Any, Any], None],
         *, desc: str, progress: bool) -> None:
    """Send every (key, request); ``on_reply(key, ChatResult | ChatError)`` as each finishes."""
    from judges.client import run_sync

    run_sync(client, _gather(client, jobs, on_reply, desc, progress))


async def _gather(client: Any, jobs: Sequence[tuple[Any, Any]],
                  on_reply: Callable[[Any, Any], None], desc: str, progress: bool) -> None:
    from judges.client import gather_or_cancel
    from judges.records import ChatCallError, FatalAPIError
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=desc, unit="call", disable=not progress, dynamic_ncols=True)

    async def one(key: Any, request: Any) -> None:
        try:
            result = await client.complete(request)
        except FatalAPIError:
            raise
        except ChatCallError as err:
            result = err.error
        on_reply(key, result)
        bar.update(1)

    try:
        await gather_or_cancel(one(k, r) for k, r in jobs)
    finally:
        bar.close()


def usable_text(result: Any, tally: Tally, drop_truncated: bool) -> str | None:
    """The reply text, or None (counted by reason) when it must not become training data."""
    from judges.records import ChatError

    if isinstance(result, ChatError):
        tally.add(f"failed_{result.kind}")
        return None
    if result.refusal:
        tally.add("refused")
        return None
    if not result.text.strip():
        tally.add("empty_reply")
        return None
    if result.finish_reason == "length":
        tally.add("truncated")
        if drop_truncated:
            return None
    return result.text


def make_request(model: str, messages: list[dict[str, str]], prompt_id: str, *,
                 temperature: float, max_tokens: int, seed: int) -> Any:
    from judges.records import ChatRequest

    return ChatRequest.make(model, messages, temperature=temperature, max_tokens=max_tokens,
                            seed=seed, prompt_version=prompt_id)
