"""Conversation -> (token ids, training targets): the one step that decides what is trained.

The loss mask comes from the chat template itself, by incremental prefix rendering: for the
assistant turn k, ``render(messages[:k], add_generation_prompt=True)`` is the text the model is
given and ``render(messages[:k+1])`` the text after its reply, so the reply (and the end-of-turn
token right after it) is the character span between the two. This works for any template,
including ones that carry no ``{% generation %}`` markers. Then hard checks, per example:

- every kept example has supervised tokens;
- every assistant turn ends with the end-of-turn token, and that token is supervised;
- decoding the supervised tokens of a turn gives back the assistant's text;
- padding never uses the end-of-turn id (see :func:`pad_id_for`).

Any failure is a :class:`MaskError` naming the record (and file and line when known).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from imitation_train.chat_records import ChatRecord, RecordError

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SHIPPED = {"vicuna": "vicuna.jinja", "chatml": "chatml.jinja"}
IGNORE = -100


class MaskError(RecordError):
    """An example whose loss mask would be wrong; the message names the record and the fix."""


@dataclass(frozen=True)
class Example:
    """One tokenised conversation. ``targets[i]`` is the token to predict after ``input_ids[i]``
    (already shifted, ``-100`` where nothing is trained), so examples can be concatenated for
    packing without any example predicting the next one's first token."""

    id: str
    input_ids: tuple[int, ...]
    targets: tuple[int, ...]
    source: str

    @property
    def supervised(self) -> int:
        return sum(1 for t in self.targets if t != IGNORE)

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class ChatFormat:
    """A tokenizer plus the template and end-of-turn token it is trained with."""

    tokenizer: Any
    template: str  # Jinja source
    template_name: str  # "model", "vicuna", "chatml" or a file path
    eot: str
    eot_id: int

    def render(self, messages: Sequence[dict[str, str]], generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            list(messages), chat_template=self.template, tokenize=False,
            add_generation_prompt=generation_prompt)


def _single_token_id(tokenizer: Any, text: str) -> int | None:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[0] if len(ids) == 1 else None


def _guess_eot(tokenizer: Any, template: str) -> str | None:
    """The special token a template puts right after an assistant reply (model templates)."""
    fmt = ChatFormat(tokenizer, template, "probe", "", -1)
    probe = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "REPLY_XYZ"}]
    text = fmt.render(probe, False)
    tail = text[text.rfind("REPLY_XYZ") + len("REPLY_XYZ"):]
    specials = sorted(set(tokenizer.all_special_tokens) |
                      {t.content for t in tokenizer.added_tokens_decoder.values()},
                      key=len, reverse=True)
    best = None
    for token in specials:
        pos = tail.find(token)
        if token and pos >= 0 and (best is None or pos < best[0]):
            best = (pos, token)
    return best[1] if best else tokenizer.eos_token


def prepare_format(tokenizer: Any, template: str = "auto", eot_token: str | None = None
                   ) -> tuple[ChatFormat, list[str]]:
    """Pick the template and end-of-turn token; returns the format and any tokens added to the
    tokenizer (the caller resizes the model's embeddings when that list is not empty).

    ``template``: ``auto`` (the model's own template, else vicuna), ``model``, ``vicuna``,
    ``chatml`` or the path of a Jinja file.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} is a slow tokenizer: the loss mask needs "
                         "character offsets, which only fast tokenizers give; load the model's "
                         "tokenizer.json (AutoTokenizer with use_fast=True)")
    added: list[str] = []
    own = getattr(tokenizer, "chat_template", None)
    if template == "auto":
        template = "model" if own else "vicuna"
    if template == "model":
        if not own:
            raise ValueError("the tokenizer has no chat template: use --chat-template vicuna or "
                             "chatml (shipped for base models) or a .jinja file")
        source, name = own, "model"
    elif template in SHIPPED:
        source, name = (TEMPLATE_DIR / SHIPPED[template]).read_text(encoding="utf-8"), template
    elif Path(template).is_file():
        source, name = Path(template).read_text(encoding="utf-8"), str(template)
    else:
        raise ValueError(f"--chat-template {template!r}: expected auto, model, vicuna, chatml or "
                         "the path of an existing .jinja file")
    if name == "chatml" and eot_token is None:
        eot_token = "<|im_end|>"
        for token in ("<|im_start|>", "<|im_end|>"):
            if _single_token_id(tokenizer, token) is None:
                added.append(token)
        if added:
            tokenizer.add_special_tokens({"additional_special_tokens": added})
    if eot_token is None:
        eot_token = tokenizer.eos_token if name == "vicuna" else _guess_eot(tokenizer, source)
    if not eot_token:
        raise ValueError("no end-of-turn token: the tokenizer has no eos token; pass "
                         "--eot-token TOKEN")
    eot_id = _single_token_id(tokenizer, eot_token)
    if eot_id is None:
        raise ValueError(f"end-of-turn token {eot_token!r} is not a single token of this "
                         "tokenizer; add it as a special token or pick another with --eot-token")
    return ChatFormat(tokenizer, source, name, eot_token, eot_id), added


def pad_id_for(fmt: ChatFormat) -> int:
    """A padding id that is never the end-of-turn id (pad == eos silently untrains the eos
    token in collators that mask by pad id; ours masks by position, and checks anyway)."""
    tok = fmt.tokenizer
    for candidate in (tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, 0):
        if candidate is not None and candidate != fmt.eot_id:
            return int(candidate)
    return 1 if fmt.eot_id == 0 else 0


def _where(record: ChatRecord, path: str | Path | None, line: int | None) -> dict[str, Any]:
    return {"path": path, "line": line, "field": f"record {record.id!r}"}


def _spans(fmt: ChatFormat, record: ChatRecord, where: dict[str, Any]
           ) -> tuple[str, list[tuple[int, int, int]]]:
    """The full text and, per assistant turn, (message index, start char, end char incl. eot)."""
    messages = [{"role": m.role, "content": m.content} for m in record.messages]
    full = fmt.render(messages, False)
    spans = []
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = fmt.render(messages[:k], True)
        after = fmt.render(messages[:k + 1], False)
        if not after.startswith(prompt) or not full.startswith(after):
            raise MaskError(
                f"the chat template renders turn {k} differently once later turns follow (prefix "
                "rendering is not stable), so the reply cannot be located; use another template "
                "(--chat-template vicuna or chatml)", **where)
        start = len(prompt)
        cut = after.rfind(fmt.eot, start)
        if cut < 0:
            raise MaskError(f"assistant turn {k} is not followed by the end-of-turn token "
                            f"{fmt.eot!r} in this template; pass --eot-token or use --chat-"
                            "template vicuna or chatml", **where)
        spans.append((k, start, cut + len(fmt.eot)))
    if not spans:
        raise MaskError("has no assistant turn, so nothing would be trained; drop it", **where)
    return full, spans


def encode(fmt: ChatFormat, record: ChatRecord, max_len: int, *, path: str | Path | None = None,
           line: int | None = None) -> Example | None:
    """Tokenise and mask one record; None when not even its first reply fits in ``max_len``.

    Longer conversations are cut after the last assistant turn that fits (whole turns only)."""
    where = _where(record, path, line)
    full, spans = _spans(fmt, record, where)
    enc = fmt.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
    supervised = [False] * len(ids)
    turn_tokens: list[tuple[int, list[int]]] = []
    for k, start, end in spans:
        positions = [i for i, (s, e) in enumerate(offsets) if e > start and s < end and e > s]
        for i in positions:
            supervised[i] = True
        turn_tokens.append((k, positions))
    keep = 0
    for k, positions in turn_tokens:
        if positions and positions[-1] < max_len:
            keep = positions[-1] + 1
    if keep == 0:
        return None
    ids, supervised = ids[:keep], supervised[:keep]
    for k, positions in turn_tokens:
        if positions and positions[-1] < keep:
            _check_turn(fmt, record, k, [ids[i] for i in positions], where)
    labels = [t if s else IGNORE for t, s in zip(ids, supervised)]
    targets = tuple(labels[1:]) + (IGNORE,)
    example = Example(record.id, tuple(ids), targets, record.source)
    if example.supervised == 0:
        raise MaskError("has no supervised tokens after tokenisation", **where)
    return example


def _check_turn(fmt: ChatFormat, record: ChatRecord, k: int, ids: list[int],
                where: dict[str, Any]) -> None:
    if not ids:
        raise MaskError(f"assistant turn {k} has no supervised tokens", **where)
    if ids[-1] != fmt.eot_id:
        raise MaskError(f"assistant turn {k}: the end-of-turn token {fmt.eot!r} is not the last "
                        "supervised token (it merged with neighbouring text); pick a template "
                        "whose end-of-turn is a special token", **where)
    text = fmt.tokenizer.decode(ids[:-1], skip_special_tokens=False)
    want = record.messages[k].content
    if text.strip() != want.strip():
        raise MaskError(f"assistant turn {k}: decoding the supervised tokens gives "
                        f"{text.strip()[:80]!r}... instead of the reply {want.strip()[:80]!r}... "
                        "(a tokenisation mismatch); use another template", **where)


@dataclass
class EncodeStats:
    kept: int = 0
    dropped_too_long: int = 0
    tokens: int = 0
    supervised: int = 0


def encode_all(fmt: ChatFormat, records: Sequence[ChatRecord], max_len: int,
               path: str | Path | None = None, lines: Sequence[int | None] | None = None
               ) -> tuple[list[Example], EncodeStats]:
    """Encode every record (errors stop at the first bad one, naming file, line, record)."""
    from tqdm.auto import tqdm

    stats = EncodeStats()
    out: list[Example] = []
    for index, record in enumerate(tqdm(records, desc="tokenising", unit="rec",
                                        disable=len(records) < 2000)):
        line = lines[index] if lines is not None else None
        example = encode(fmt, record, max_len, path=path, line=line)
        if example is None:
            stats.dropped_too_long += 1
            continue
        out.append(example)
        stats.kept += 1
        stats.tokens += len(example)
        stats.supervised += example.supervised
    if stats.dropped_too_long:
        log.warning("%d record(s) dropped: even their first reply is longer than max_seq_len=%d",
                    stats.dropped_too_long, max_len)
    if not out:
        raise ValueError(f"no trainable examples (all {len(records)} records were dropped as "
                         f"longer than max_seq_len={max_len}); raise --max-seq-len")
    return out, stats
