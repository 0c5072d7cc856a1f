"""The one normalised chat record every reader produces and the trainer consumes.

On disk a record is one JSON object per line:
    {"id": "...", "messages": [{"role": "user", "content": "..."}, ...],
     "source": "sharegpt", "teacher": "gpt-3.5-turbo" | null}
Roles are "system" (optional, first only), "user" and "assistant"; a record used for training
ends with an assistant turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from judges.jsonl import JSONLError, iter_jsonl

ROLES = ("system", "user", "assistant")


class RecordError(ValueError):
    """A record that cannot be used, with the file, line and field that is wrong."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}" + (f":{line}" if line is not None else "")
        if field is not None:
            where = f"{where} field {field!r}" if where else f"field {field!r}"
        super().__init__(f"{where}: {message}" if where else message)
        self.message, self.path, self.line, self.field = message, path, line, field


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatRecord:
    id: str
    messages: tuple[Message, ...]
    source: str
    teacher: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id,
                "messages": [{"role": m.role, "content": m.content} for m in self.messages],
                "source": self.source, "teacher": self.teacher}

    @property
    def has_assistant_reply(self) -> bool:
        return any(m.role == "assistant" for m in self.messages)


def validate_messages(messages: Any, *, path: str | Path | None = None,
                      line: int | None = None) -> tuple[Message, ...]:
    """Check roles, order and content types; return the messages as `Message`s."""
    if not isinstance(messages, list) or not messages:
        raise RecordError("must be a non-empty list of {role, content} objects",
                          path=path, line=line, field="messages")
    out: list[Message] = []
    for i, raw in enumerate(messages):
        name = f"messages[{i}]"
        if not isinstance(raw, dict):
            raise RecordError("must be an object with role and content", path=path, line=line,
                              field=name)
        role, content = raw.get("role"), raw.get("content")
        if role not in ROLES:
            raise RecordError(f"role must be one of {ROLES}, got {role!r}", path=path, line=line,
                              field=f"{name}.role")
        if role == "system" and i != 0:
            raise RecordError("a system message may only come first", path=path, line=line,
                              field=f"{name}.role")
        if not isinstance(content, str):
            raise RecordError(f"content must be a string, got {type(content).__name__}",
                              path=path, line=line, field=f"{name}.content")
        out.append(Message(role, content))
    return tuple(out)


def record_from_json(obj: Any, *, path: str | Path | None = None,
                     line: int | None = None) -> ChatRecord:
    if not isinstance(obj, dict):
        raise RecordError("each line must be a JSON object", path=path, line=line)
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        raise RecordError("must be a non-empty string", path=path, line=line, field="id")
    source = obj.get("source")
    if not isinstance(source, str) or not source:
        raise RecordError("must be a non-empty string", path=path, line=line, field="source")
    teacher = obj.get("teacher")
    if teacher is not None and not isinstance(teacher, str):
        raise RecordError("must be a string or null", path=path, line=line, field="teacher")
    return ChatRecord(rid, validate_messages(obj.get("messages"), path=path, line=line),
                      source, teacher)


def read_records(path: str | Path) -> Iterator[ChatRecord]:
    """Read a normalised JSONL file (.jsonl or .jsonl.gz); errors name the file, line and
    field. Lines are read by judges.jsonl, the suite's one JSONL reader."""
    try:
        for number, obj in iter_jsonl(path):
            yield record_from_json(obj, path=path, line=number)
    except JSONLError as err:
        raise RecordError(err.detail, path=err.path, line=err.line) from None


def write_records(path: str | Path, records: Iterable[ChatRecord]) -> int:
    """Write records as JSONL atomically (temp file + rename); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count


class RecordLog:
    """An append-only JSONL of records, for collection: each record is flushed and fsynced as it
    is written, so a crash loses at most the line being written. Opening an existing log cuts a
    torn last line (a crash mid-write) and reads the ids already there, so a rerun skips them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ids: set[str] = set()
        self.torn = 0
        if self.path.exists():
            data = self.path.read_bytes()
            complete = data[:data.rfind(b"\n") + 1]
            if len(complete) != len(data):
                self.torn = 1
                with self.path.open("r+b") as handle:
                    handle.truncate(len(complete))
            self.ids = {record.id for record in read_records(self.path)}
        self._handle = self.path.open("a", encoding="utf-8")

    def __contains__(self, record_id: str) -> bool:
        return record_id in self.ids

    def append(self, record: ChatRecord) -> None:
        import os

        self._handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.ids.add(record.id)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "RecordLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
