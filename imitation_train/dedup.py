"""Exact and near-duplicate removal.

Exact: records whose normalised text (case-folded, whitespace collapsed, roles kept) is equal.
Near: MinHash + LSH (``datasketch``) over word 5-gram shingles (character 5-grams for short
texts such as questions) to find candidates, then the true Jaccard similarity of the shingle sets
(kept as sorted 64-bit hashes) decides, so LSH's false positives never remove a record. The first
record of a group is kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from imitation_train.chat_records import ChatRecord

NUM_PERM = 128
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-folded NFKC text with runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def shingles(text: str, n: int = 5, unit: Literal["word", "char"] = "word") -> set[str]:
    """The set of n-gram shingles; a text shorter than n is one shingle."""
    if unit == "char":
        flat = " ".join(words(text))
        return {flat[i:i + n] for i in range(max(1, len(flat) - n + 1))} if flat else set()
    toks = words(text)
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def record_text(record: ChatRecord, on: Literal["all", "user"] = "all") -> str:
    return "\n".join(f"{m.role}: {m.content}" for m in record.messages
                     if on == "all" or m.role == "user")


@dataclass
class NearDupIndex:
    """Texts seen so far; ``add`` says whether a new text is a near-duplicate of one of them."""

    threshold: float = 0.8
    n: int = 5
    unit: Literal["word", "char"] = "word"
    _lsh: Any = field(default=None, repr=False)
    _empty: Any = field(default=None, repr=False)
    _sets: dict[str, Any] = field(default_factory=dict, repr=False)  # key -> sorted hashes

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {self.threshold}")
        from datasketch import MinHash, MinHashLSH

        # LSH only proposes candidates (its threshold is capped so high thresholds still have
        # enough bands); the true Jaccard of the shingle sets decides.
        self._lsh = MinHashLSH(threshold=min(self.threshold, 0.9), num_perm=NUM_PERM)
        self._empty = MinHash(num_perm=NUM_PERM, seed=1)  # its permutations are drawn once

    def _minhash(self, items: set[str]) -> Any:
        mh = self._empty.copy()
        mh.update_batch([s.encode("utf-8") for s in items])
        return mh

    def match(self, text: str) -> str | None:
        """The key of an earlier text at least ``threshold`` similar to ``text``, if any."""
        items = shingles(text, self.n, self.unit)
        if not items:
            return None
        return self._match(_hashes(items), self._minhash(items))

    def _match(self, hashes: Any, mh: Any) -> str | None:
        import numpy as np

        for key in self._lsh.query(mh):
            other = self._sets[key]
            common = np.intersect1d(hashes, other, assume_unique=True).size
            if common / (hashes.size + other.size - common) >= self.threshold:
                return key
        return None

    def add(self, key: str, text: str) -> str | None:
        """Insert ``text`` unless it is a near-duplicate; return the key it duplicates."""
        items = shingles(text, self.n, self.unit)
        if not items:
            return None
        mh, hashes = self._minhash(items), _hashes(items)
        hit = self._match(hashes, mh)
        if hit is None:
            self._lsh.insert(key, mh)
            self._sets[key] = hashes
        return hit


def _hashes(items: set[str]) -> Any:
    """The shingles as a sorted array of 64-bit hashes: 8 bytes a shingle kept in memory
    (instead of the strings) for the exact Jaccard check."""
    import numpy as np

    return np.unique(np.fromiter((hash(s) for s in items), dtype=np.int64, count=len(items)))


def _digest(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def dedupe(records: Iterable[ChatRecord], *, near: bool = True, threshold: float = 0.8,
           on: Literal["all", "user"] = "all",
           progress: bool = False) -> tuple[list[ChatRecord], dict[str, Any]]:
    """Records without exact or near duplicates (first kept) and a report of what went."""
    from tqdm.auto import tqdm

    records = list(records)
    seen: dict[str, str] = {}
    index = NearDupIndex(threshold) if near else None
    kept: list[ChatRecord] = []
    exact: list[tuple[str, str]] = []
    close: list[tuple[str, str]] = []
    for number, record in enumerate(tqdm(records, desc="dedupe", unit="rec", disable=not progress)):
        text = record_text(record, on)
        digest = _digest(text)
        if digest in seen:
            exact.append((record.id, seen[digest]))
            continue
        seen[digest] = record.id
        if index is not None:
            hit = index.add(f"{number}:{record.id}", text)
            if hit is not None:
                close.append((record.id, hit.split(":", 1)[1]))
                continue
        kept.append(record)
    report = {"input": len(records), "kept": len(kept), "exact_duplicates": len(exact),
              "near_duplicates": len(close), "near_threshold": threshold if near else None,
              "on": on, "examples": [{"id": a, "duplicate_of": b, "kind": kind}
                                     for kind, pairs in (("exact", exact), ("near", close))
                                     for a, b in pairs[:5]]}
    return kept, report
