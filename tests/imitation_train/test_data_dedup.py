"""Exact and near-duplicate removal on real Alpaca-GPT4 records (the two shared files overlap)."""

from __future__ import annotations

from pathlib import Path

from imitation_train.chat_records import ChatRecord, Message
from imitation_train.dedup import NearDupIndex, dedupe, record_text, shingles
from imitation_train.record_loader import load_records


def _rec(rid: str, user: str, reply: str) -> ChatRecord:
    return ChatRecord(rid, (Message("user", user), Message("assistant", reply)), "test")


def test_real_files_overlap_is_found(data_dir: Path) -> None:
    a = load_records(data_dir / "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json")
    b = load_records(data_dir / "imitation/alpaca_gpt4/alpaca_en_demo.json")
    kept, report = dedupe(a + b, near=False)
    # the data README: 21 rows of the demo file are in the first file with identical outputs
    assert report["exact_duplicates"] >= 21
    assert len(kept) == len(a) + len(b) - report["exact_duplicates"]
    assert kept[:len(a)] == a  # the first copy is kept, in order


def test_near_duplicates_need_true_similarity(data_dir: Path) -> None:
    alpaca = load_records(data_dir / "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json")
    longest = max(alpaca, key=lambda r: len(r.messages[1].content))
    user, reply = longest.messages[0].content, longest.messages[1].content
    records = [
        _rec("a", user, reply),
        _rec("b", user.upper() + "  ", reply.replace(" ", "   ")),   # exact after normalising
        _rec("c", user, reply.rsplit(" ", 1)[0] + " changed."),      # near: last word differs
        _rec("d", "Write a haiku about the sea.", "Waves fold into foam."),
    ]
    kept, report = dedupe(records, threshold=0.8)
    assert [r.id for r in kept] == ["a", "d"]
    assert (report["exact_duplicates"], report["near_duplicates"]) == (1, 1)
    assert {"id": "c", "duplicate_of": "a", "kind": "near"} in report["examples"]
    sa, sc = shingles(record_text(records[0])), shingles(record_text(records[2]))
    similarity = len(sa & sc) / len(sa | sc)
    assert 0.8 < similarity < 1.0
    kept, _ = dedupe(records, threshold=similarity + 1e-4)  # just above: c is kept
    assert [r.id for r in kept] == ["a", "c", "d"]
    kept, report = dedupe(records, near=False)
    assert [r.id for r in kept] == ["a", "c", "d"] and report["near_duplicates"] == 0


def test_short_questions_with_character_shingles() -> None:
    index = NearDupIndex(0.85, n=5, unit="char")
    assert index.add("q1", "who sang the song hotel california") is None
    assert index.add("q2", "Who sang the song 'Hotel California'?") == "q1"
    assert index.add("q3", "when was the eiffel tower built") is None
    assert shingles("ab", 5, "char") == {"ab"} and shingles("", 5) == set()
