"""Readers: one function per source format, each turning one raw object into a `ChatRecord`.

Formats (the raw object is one JSONL line or one element of a top-level JSON array):

- ``sharegpt``: ``{"id", "conversations": [{"from": "human"|"gpt"|..., "value"}]}``; roles map
  to user/assistant and scraped HTML replies become Markdown text (markdownify).
- ``alpaca``: ``{"instruction", "input", "output"}``; instruction + input is the user turn.
- ``openai``: ``{"messages": [{"role", "content"}]}`` (OpenAI fine-tuning JSONL).
- ``hc3``: ``{"question", "human_answers": [...], "chatgpt_answers": [...]}``; one record per
  ChatGPT answer (or per human answer with ``hc3_answers="human"``).
- ``alpaca_eval``: ``{"instruction", "output", "generator", "dataset"}`` (model output files);
  the generator is the record's teacher.
- ``prompts``: prompt-only files, ``{"prompt"}`` (Koala) or ``{"turns"}`` (MT-bench, Vicuna).
- ``normalised``: our own JSONL (see :mod:`imitation_train.chat_records`).

Every error is a :class:`RecordError` naming file, line and field; for JSON arrays the field
starts with the element index (``[12].conversations[3].from``) and the line is the line the
element starts on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from judges.jsonl import JSONLError, iter_jsonl

from imitation_train.chat_records import (ChatRecord, Message, RecordError, record_from_json,
                                     validate_messages)

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant",
                  "assistant": "assistant", "bard": "assistant", "bing": "assistant",
                  "model": "assistant", "system": "system"}
# A scraped ChatGPT reply is HTML from the page: it starts with a tag such as <div> or <p>.
_HTML_START = re.compile(r"^\s*<(div|p|ol|ul|pre|h[1-6]|table|blockquote|span)\b[^>]*>", re.I)
_COPY_CODE = re.compile(r"^[\w+#.-]*Copy code[ \t]*\n+", re.M)  # ChatGPT's code-block header


class Where:
    """Where an object came from: the file, its line and (for JSON arrays) its index."""

    def __init__(self, path: Path, line: int | None, index: int | None) -> None:
        self.path, self.line, self.index = path, line, index

    def field(self, name: str | None) -> str | None:
        if self.index is None:
            return name
        prefix = f"[{self.index}]"
        if not name:
            return prefix
        return prefix + (name if name.startswith("[") else "." + name)

    def error(self, message: str, field: str | None = None) -> RecordError:
        return RecordError(message, path=self.path, line=self.line, field=self.field(field))


# -- raw objects ---------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    if not path.is_file():
        raise RecordError(f"file not found: {path}", path=path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(f"not UTF-8 text ({err.reason} at byte {err.start})", path=path) from None


def iter_objects(path: str | Path) -> Iterator[tuple[Any, Where]]:
    """Each raw object of a JSON-array or JSONL file (optionally .gz) with where it starts.
    JSONL lines are read by judges.jsonl, the suite's one JSONL reader."""
    path = Path(path)
    if _is_json_array(path):
        text = _read_text(path)
        yield from _iter_array(path, text, text.index("[") + 1)
        return
    try:
        for number, obj in iter_jsonl(path):
            yield obj, Where(path, number, None)
    except JSONLError as err:
        raise RecordError(err.detail, path=err.path, line=err.line) from None


def _is_json_array(path: Path) -> bool:
    """Whether the file's first non-blank character is ``[`` (read a block at a time)."""
    if not path.is_file():
        return False  # the JSONL reader names the missing file
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:  # type: ignore[operator]
        while block := handle.read(1 << 16):
            block = block.removeprefix(b"\xef\xbb\xbf").lstrip()
            if block:
                return block[:1] == b"["
    return False


def _iter_array(path: Path, text: str, pos: int) -> Iterator[tuple[Any, Where]]:
    """Elements of a top-level JSON array, decoded one at a time so each knows its line."""
    decoder = json.JSONDecoder()
    line, counted, index = 1, 0, 0
    ws = re.compile(r"\s*")

    def line_at(offset: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    pos = ws.match(text, pos).end()
    if text[pos:pos + 1] == "]":
        return
    while True:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise RecordError(f"invalid JSON in element {index} ({exc.msg})", path=path,
                              line=exc.lineno, field=f"[{index}]") from None
        yield obj, Where(path, line_at(pos), index)
        index += 1
        pos = ws.match(text, end).end()
        if text[pos:pos + 1] == ",":
            pos = ws.match(text, pos + 1).end()
            continue
        if text[pos:pos + 1] == "]":
            return
        raise RecordError("expected ',' or ']' after an array element", path=path,
                          line=line_at(pos), field=f"[{index - 1}]")


# -- helpers -------------------------------------------------------------------------------------
def content_id(prefix: str, *parts: str) -> str:
    """A stable id from content: the same text always gets the same id, in any file order."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"{prefix}-{digest}"


def _require_str(obj: dict[str, Any], name: str, where: Where, *, allow_empty: bool = False,
                 default: str | None = None) -> str:
    if name not in obj and default is not None:
        return default
    value = obj.get(name)
    if not isinstance(value, str):
        got = "missing" if name not in obj else f"a {type(value).__name__}"
        raise where.error(f"must be a string, got {got}", name)
    if not allow_empty and not value.strip():
        raise where.error("must not be empty", name)
    return value


def _require_object(obj: Any, where: Where, fmt: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise where.error(f"a {fmt} record must be a JSON object, got {type(obj).__name__}")
    return obj


def html_to_text(value: str) -> str:
    """Markdown text of a scraped HTML reply (code blocks keep their language)."""
    from markdownify import markdownify

    def language(el: Any) -> str:
        classes = list(el.get("class") or [])
        code = el.find("code")
        if code is not None:
            classes += list(code.get("class") or [])
        for name in classes:
            if name.startswith("language-"):
                return name[len("language-"):]
        return ""

    text = markdownify(value, heading_style="ATX", bullets="-", code_language_callback=language,
                       strip=["button", "svg"])
    text = _COPY_CODE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# -- one reader per format -----------------------------------------------------------------------
def from_sharegpt(obj: Any, where: Where, *, html: str = "auto", source: str = "sharegpt",
                  teacher: str | None = None) -> ChatRecord:
    obj = _require_object(obj, where, "ShareGPT")
    turns = obj.get("conversations", obj.get("conversation"))
    if not isinstance(turns, list) or not turns:
        raise where.error("must be a non-empty list of {from, value} turns", "conversations")
    messages = []
    for i, turn in enumerate(turns):
        name = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise where.error("must be an object with 'from' and 'value'", name)
        speaker = turn.get("from")
        role = SHAREGPT_ROLES.get(str(speaker).lower()) if isinstance(speaker, str) else None
        if role is None:
            raise where.error(f"unknown speaker {speaker!r}; expected one of "
                              f"{sorted(SHAREGPT_ROLES)}", f"{name}.from")
        value = turn.get("value")
        if not isinstance(value, str):
            raise where.error(f"must be a string, got {type(value).__name__}", f"{name}.value")
        if role == "assistant" and (html == "always" or (html == "auto"
                                                         and _HTML_START.match(value))):
            value = html_to_text(value)
        messages.append({"role": role, "content": value})
    rid = obj.get("id")
    rid = str(rid) if isinstance(rid, (str, int)) and str(rid) else \
        content_id("sharegpt", *(m["content"] for m in messages))
    system = _optional_system(obj, where)
    return _record(rid, system + messages, where, source, teacher, "conversations", len(system))


def from_alpaca(obj: Any, where: Where, *, source: str = "alpaca",
                teacher: str | None = None) -> ChatRecord:
    obj = _require_object(obj, where, "Alpaca")
    instruction = _require_str(obj, "instruction", where)
    extra = _require_str(obj, "input", where, allow_empty=True, default="")
    output = _require_str(obj, "output", where, allow_empty=True, default="")
    user = f"{instruction.strip()}\n\n{extra.strip()}" if extra.strip() else instruction.strip()
    messages = _optional_system(obj, where) + _alpaca_history(obj, where)
    messages.append({"role": "user", "content": user})
    if output.strip():
        messages.append({"role": "assistant", "content": output})
    rid = obj.get("id")
    if not (isinstance(rid, (str, int)) and str(rid)):
        rid = content_id(source, *(m["content"] for m in messages))
    return _record(str(rid), messages, where, source, teacher, None)


def from_openai(obj: Any, where: Where, *, source: str = "openai",
                teacher: str | None = None) -> ChatRecord:
    obj = _require_object(obj, where, "OpenAI-messages")
    messages = obj.get("messages")
    if isinstance(messages, list):  # drop OpenAI-only keys (name, weight, tool_calls)
        messages = [{"role": m.get("role"), "content": _text_parts(m.get("content"))}
                    if isinstance(m, dict) else m for m in messages]
    rid = obj.get("id")
    if not (isinstance(rid, str) and rid):
        contents = [str(m.get("content")) for m in messages or [] if isinstance(m, dict)]
        rid = content_id(source, *contents)
    return _record(rid, messages, where, source, teacher, None)


def from_normalised(obj: Any, where: Where, **_: Any) -> ChatRecord:
    try:
        return record_from_json(obj)
    except RecordError as err:
        raise where.error(err.message, err.field) from None


def from_alpaca_eval(obj: Any, where: Where, *, source: str = "alpaca_eval",
                     teacher: str | None = None) -> ChatRecord:
    obj = _require_object(obj, where, "AlpacaEval output")
    instruction = _require_str(obj, "instruction", where)
    output = _require_str(obj, "output", where, allow_empty=True)
    generator = obj.get("generator")
    teacher = teacher or (generator if isinstance(generator, str) and generator else None)
    messages = [{"role": "user", "content": instruction}]
    if output.strip():
        messages.append({"role": "assistant", "content": output})
    return _record(content_id("alpaca_eval", instruction, teacher or ""), messages, where,
                   source, teacher, None)


def from_prompts(obj: Any, where: Where, *, source: str = "prompts",
                 teacher: str | None = None) -> ChatRecord:
    """Prompt-only files: ``{"prompt"}`` (Koala) or ``{"turns": [...]}`` (MT-bench, Vicuna,
    Arena-Hard); the record holds the user turns only (a pool for collection)."""
    obj = _require_object(obj, where, "prompt")
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not turns:
            raise where.error("must be a non-empty list of strings or {content} objects", "turns")
        texts = [t.get("content") if isinstance(t, dict) else t for t in turns]
        for k, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise where.error("must be a non-empty string", f"turns[{k}]")
    else:
        texts = [_require_str(obj, "prompt", where)]
    rid = next((str(obj[k]) for k in ("id", "question_id") if isinstance(obj.get(k), (str, int))),
               None) or content_id(source, *texts)
    return _record(rid, [{"role": "user", "content": t} for t in texts], where, source, teacher,
                   None)


def hc3_records(obj: Any, where: Where, *, answers: str = "chatgpt", source: str = "hc3",
                teacher: str | None = None) -> list[ChatRecord]:
    """HC3 rows hold several answers: one record per answer of the chosen kind."""
    obj = _require_object(obj, where, "HC3")
    question = _require_str(obj, "question", where)
    name = f"{answers}_answers"
    values = obj.get(name)
    if not isinstance(values, list):
        raise where.error("must be a list of strings", name)
    if teacher is None and answers == "chatgpt":
        teacher = "chatgpt"
    out = []
    for k, answer in enumerate(values):
        if not isinstance(answer, str):
            raise where.error(f"must be a string, got {type(answer).__name__}", f"{name}[{k}]")
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        rid = content_id(f"hc3-{answers}", question, answer)
        out.append(_record(rid, messages, where, source, teacher, None))
    return out


def _optional_system(obj: dict[str, Any], where: Where) -> list[dict[str, str]]:
    """A top-level ``system`` string (LLaMA-Factory's ShareGPT and Alpaca files) as a message."""
    system = obj.get("system")
    if system is None or system == "":
        return []
    if not isinstance(system, str):
        raise where.error(f"must be a string, got {type(system).__name__}", "system")
    return [{"role": "system", "content": system}]


def _alpaca_history(obj: dict[str, Any], where: Where) -> list[dict[str, str]]:
    """Alpaca's optional ``history``: earlier [instruction, reply] pairs of the conversation."""
    history = obj.get("history") or []
    if not isinstance(history, list):
        raise where.error("must be a list of [instruction, reply] pairs", "history")
    out = []
    for k, pair in enumerate(history):
        if not (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(x, str) for x in pair)):
            raise where.error("must be a pair of strings [instruction, reply]", f"history[{k}]")
        out += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    return out


def _text_parts(content: Any) -> Any:
    """OpenAI content given as parts: the text parts joined (other parts are an error)."""
    if isinstance(content, list) and content and all(
            isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
            for p in content):
        return "".join(p["text"] for p in content)
    return content


def _record(rid: str, messages: Any, where: Where, source: str, teacher: str | None,
            field_name: str | None, offset: int = 0) -> ChatRecord:
    try:
        checked = validate_messages(messages)
    except RecordError as err:
        field = err.field
        if field_name is not None and field:  # messages[i].role -> conversations[i].from
            match = re.match(r"messages\[(\d+)\](.*)", field)
            if match:
                index = int(match[1]) - offset
                field = (f"{field_name}[{index}]" + match[2].replace(".role", ".from")
                         .replace(".content", ".value")) if index >= 0 else "system"
        raise where.error(err.message, field) from None
    return ChatRecord(rid, tuple(Message(m.role, m.content) for m in checked), source, teacher)


Reader = Callable[..., "ChatRecord | list[ChatRecord]"]
READERS: dict[str, Reader] = {"sharegpt": from_sharegpt, "alpaca": from_alpaca,
                              "openai": from_openai, "hc3": hc3_records,
                              "alpaca_eval": from_alpaca_eval, "prompts": from_prompts,
                              "normalised": from_normalised}
