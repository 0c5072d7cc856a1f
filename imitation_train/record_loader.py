"""Load chat data in any supported format as normalised `ChatRecord`s.

    records = load_records("ShareGPT_V3_filtered_1000.json")          # format detected
    records = load_records("alpaca_data.json", fmt="alpaca", teacher="gpt-4")

Detection looks at the first object: ``messages`` with ``id`` and ``source`` is our normalised
JSONL, ``messages`` alone is OpenAI-messages, ``conversations`` is ShareGPT, ``chatgpt_answers``
is HC3, ``instruction`` + ``generator`` is an AlpacaEval output file, ``instruction`` is Alpaca,
``prompt`` or ``turns`` is a prompt-only file (Koala, MT-bench, Vicuna, Arena-Hard).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from imitation_train.chat_records import ChatRecord, RecordError
from imitation_train.input_formats import READERS, iter_objects

log = logging.getLogger(__name__)

FORMATS = ("auto", *READERS)


def detect_format(obj: Any, path: Path) -> str:
    """The format of a file from its first object; a clear error when none fits."""
    if isinstance(obj, dict):
        keys = set(obj)
        if "messages" in keys:
            return "normalised" if {"id", "source"} <= keys else "openai"
        if "conversations" in keys or "conversation" in keys:
            return "sharegpt"
        if "chatgpt_answers" in keys or "human_answers" in keys:
            return "hc3"
        if "instruction" in keys and "generator" in keys:
            return "alpaca_eval"
        if "instruction" in keys:
            return "alpaca"
        if "prompt" in keys or "turns" in keys:
            return "prompts"
    shown = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
    raise RecordError(f"cannot tell the format from the first record (keys: {shown}); pass one of "
                      f"{', '.join(READERS)} explicitly (--format)", path=path)


def load_records(path: str | Path, fmt: str = "auto", *, source: str | None = None,
                 teacher: str | None = None, html: str = "auto",
                 hc3_answers: str = "chatgpt") -> list[ChatRecord]:
    """Every record of ``path`` (JSON array or JSONL, optionally .gz), validated.

    ``source`` and ``teacher`` override what the file says (or the reader's default);
    ``html`` (auto|always|never) controls ShareGPT HTML-to-text; ``hc3_answers`` picks HC3's
    chatgpt or human answers. Raises :class:`RecordError` naming file, line and field.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if html not in ("auto", "always", "never"):
        raise ValueError(f"html must be auto, always or never, got {html!r}")
    if hc3_answers not in ("chatgpt", "human"):
        raise ValueError(f"hc3_answers must be chatgpt or human, got {hc3_answers!r}")
    records: list[ChatRecord] = []
    reader = None
    options: dict[str, Any] = {}
    for obj, where in iter_objects(path):
        if reader is None:
            fmt = detect_format(obj, path) if fmt == "auto" else fmt
            reader = READERS[fmt]
            options = {"teacher": teacher}
            if source:
                options["source"] = source
            if fmt == "sharegpt":
                options["html"] = html
            if fmt == "hc3":
                options["answers"] = hc3_answers
        made = reader(obj, where, **options)
        for record in made if isinstance(made, list) else [made]:
            if fmt == "normalised" and (source or teacher):
                record = ChatRecord(record.id, record.messages, source or record.source,
                                    teacher or record.teacher)
            records.append(record)
    log.info("%s: %d records (%s)", path, len(records), fmt)
    return records
