"""Records that cross the chat-completion seam: a request, its result, and a failed call.

All frozen. A request's identity (``cache_key``) is the sha256 of its canonical JSON together
with the endpoint's base URL; the API key is never part of a request, a key or a stored row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Message = Mapping[str, str]

ErrorKind = Literal["retries_exhausted", "rejected", "bad_reply", "budget", "cancelled"]


def _freeze_messages(messages: Any) -> tuple[tuple[tuple[str, str], ...], ...]:
    frozen = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"message {i} must be a mapping with 'role' and 'content', "
                             f"got {message!r:.80}")
        frozen.append(tuple(sorted((str(k), str(v)) for k, v in message.items())))
    return tuple(frozen)


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completion call. ``extra`` holds further body fields (e.g. ``stop``)."""

    model: str
    messages: tuple[tuple[tuple[str, str], ...], ...]
    temperature: float = 0.0
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    prompt_version: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, model: str, messages: list[Message], *, temperature: float = 0.0,
             max_tokens: int | None = None, top_p: float | None = None, seed: int | None = None,
             prompt_version: str = "", extra: Mapping[str, Any] | None = None) -> "ChatRequest":
        """Build from plain ``[{"role": ..., "content": ...}]`` messages."""
        extra_items = tuple(sorted((extra or {}).items()))
        json.dumps(dict(extra_items))  # extra must be JSON: fail here, not at send time
        return cls(model=model, messages=_freeze_messages(messages), temperature=temperature,
                   max_tokens=max_tokens, top_p=top_p, seed=seed, prompt_version=prompt_version,
                   extra=extra_items)

    def message_dicts(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.messages]

    def body(self) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions`` (``None`` fields left out)."""
        body: dict[str, Any] = {"model": self.model, "messages": self.message_dicts(),
                                "temperature": self.temperature}
        for name in ("max_tokens", "top_p", "seed"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        body.update(dict(self.extra))
        return body

    def canonical(self, base_url: str) -> str:
        """Canonical JSON of everything that can change the reply (never the API key)."""
        return json.dumps({"base_url": base_url.rstrip("/"), "body": self.body(),
                           "prompt_version": self.prompt_version},
                          sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def cache_key(self, base_url: str) -> str:
        return hashlib.sha256(self.canonical(base_url).encode("utf-8")).hexdigest()

    def prompt_chars(self) -> int:
        return sum(len(v) for m in self.messages for k, v in m if k == "content")


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResult:
    """A reply. ``cost`` is what the call cost when it was made (None: model not priced);
    ``cached`` says it came from the cache and cost nothing this time."""

    text: str
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    request_id: str | None = None
    cached: bool = False
    finish_reason: str | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class ChatError:
    """A call that produced no reply. Never turned into answer text."""

    kind: ErrorKind
    message: str
    model: str
    request_id: str | None = None
    status: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class JudgedItem:
    """What every item a judge sees has: an id and the question its answers reply to
    (``PairItem``, ``SingleItem`` and ``FactItem`` add the answers)."""

    id: str
    question: str


@dataclass(frozen=True, kw_only=True)
class JudgeTrace:
    """What a judged item keeps of the judge call behind it (a pairwise ``Judgment`` and a
    ``Grade`` extend it): the request id, whether the reply came from the cache, what it cost,
    and for a failed call the error, never turned into reply text."""

    request_id: str | None = None
    cached: bool = False
    cost: float | None = None
    error: str | None = None

    @staticmethod
    def of(reply: ChatResult | ChatError) -> dict[str, Any]:
        """The trace of a reply as keyword arguments for the judged item."""
        if isinstance(reply, ChatError):
            return {"request_id": reply.request_id, "error": f"{reply.kind}: {reply.message}"}
        return {"request_id": reply.request_id, "cached": reply.cached, "cost": reply.cost}


class ChatCallError(RuntimeError):
    """Raised by ``complete`` when a call fails; carries the :class:`ChatError`."""

    def __init__(self, error: ChatError) -> None:
        self.error = error
        where = f"model {error.model!r}, request id {error.request_id or 'none'}"
        status = f" (HTTP {error.status})" if error.status else ""
        super().__init__(f"{error.kind}{status}: {error.message} "
                         f"[{where}, {error.attempts} attempt(s)]")


class FatalAPIError(ChatCallError, ValueError):
    """An error every further call would repeat (bad key, unknown model): a batch stops on it.
    It is the user's to fix (a ValueError), so a command ends with one line naming the status
    and the model, exit code 2 (judges.config.run_main)."""
