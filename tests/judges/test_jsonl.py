"""judges.jsonl: the suite's one JSONL reader, on small hand-made files, and the three callers
that wrap it (harness_tasks.data, imitation_train.chat_records, leaderboard.payload) keeping their
own error types and the same file:line message."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from judges.jsonl import JSONLError, iter_jsonl


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_plain_and_gz_give_the_same_rows_with_line_numbers(tmp_path: Path) -> None:
    text = '{"a": 1}\n\n   \n{"b": "é ✓ 雪"}\n'
    plain = _write(tmp_path / "x.jsonl", text)
    packed = tmp_path / "x.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write(text)
    expected = [(1, {"a": 1}), (4, {"b": "é ✓ 雪"})]  # blank lines skipped but counted
    assert list(iter_jsonl(plain)) == expected
    assert list(iter_jsonl(str(packed))) == expected


def test_last_line_without_newline_and_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": 2}')
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (2, {"b": 2})]


def test_bad_json_names_file_line_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", '{"a": 1}\n\n{"a": 2,}\n{"a": 3}\n')
    rows = iter_jsonl(path)
    assert next(rows) == (1, {"a": 1})  # rows before the bad one are still delivered
    with pytest.raises(JSONLError) as err:
        next(rows)
    assert str(err.value).startswith(f"{path}:3: not valid JSON (")
    assert "Fix or delete that line" in str(err.value)
    assert err.value.path == path and err.value.line == 3
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(("line", "kind"), [("[1, 2]", "array"), ('"text"', "string"),
                                             ("3", "number"), ("null", "null")])
def test_a_line_that_is_not_an_object_is_refused(tmp_path: Path, line: str, kind: str) -> None:
    path = _write(tmp_path / "x.jsonl", '{"a": 1}\n' + line + "\n")
    with pytest.raises(JSONLError, match=rf"x\.jsonl:2: expected a JSON object, got a JSON "
                                         rf"{kind}\. Each line must be one"):
        list(iter_jsonl(path))


def test_truncated_last_line_is_reported_as_a_crash_not_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", '{"a": 1}\n{"a": 2}\n{"a": "hal')
    with pytest.raises(JSONLError) as err:
        list(iter_jsonl(path))
    assert err.value.line == 3
    assert "not valid JSON" in str(err.value) and "ends mid-line" in str(err.value)
    assert "Delete that partial last line" in str(err.value)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(JSONLError, match=r"x\.jsonl:2: not UTF-8 text \(byte 0xff at column 8\)"):
        list(iter_jsonl(path))


def test_missing_file_and_broken_gzip(tmp_path: Path) -> None:
    with pytest.raises(JSONLError, match=r"nope\.jsonl: file not found .*Check the path"):
        list(iter_jsonl(tmp_path / "nope.jsonl"))
    packed = tmp_path / "x.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"a": 1}\n' * 50)[:-12])  # cut off: a crash mid-copy
    with pytest.raises(JSONLError, match=r"x\.jsonl\.gz:\d+: broken gzip data"):
        list(iter_jsonl(packed))


def test_the_three_callers_keep_their_error_types(tmp_path: Path) -> None:
    from harness_tasks.data import DataError
    from harness_tasks.data import iter_jsonl as data_rows
    from imitation_train.chat_records import RecordError, read_records
    from leaderboard.parse import PayloadError
    from leaderboard.payload import read_samples

    good = {"id": "a", "source": "s", "messages": [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "yo"}]}
    path = _write(tmp_path / "samples_t.jsonl", json.dumps(good) + "\n[1]\n")
    with pytest.raises(DataError, match=rf"{path}:2: expected a JSON object"):
        list(data_rows(path))
    with pytest.raises(RecordError) as err:
        list(read_records(path))
    assert str(err.value).startswith(f"{path}:2: expected a JSON object")
    assert err.value.line == 2 and err.value.path == path
    with pytest.raises(PayloadError, match=rf"{path}:2: expected a JSON object"):
        read_samples([path])
    _write(path, json.dumps(good) + "\n")
    assert read_samples([tmp_path]) == {"t": [good]}
    assert [r.id for r in read_records(path)] == ["a"]
