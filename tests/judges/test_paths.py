"""judges.paths, the checks all four CLIs run on the paths a user names."""

from __future__ import annotations

import gzip
import os
import re
import sqlite3
from pathlib import Path

import pytest

from judges.paths import output_path, read_json, read_text, sqlite_file


def test_read_text_names_the_byte_offset_and_line_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes('{"a": "ok"}\n{"b": "é"}\n'.encode("utf-8") + b'{"c": "\xff"}\n')
    with pytest.raises(ValueError, match=r"notes.jsonl: not UTF-8 text \(byte 0xff at offset "
                                         r"31, line 3"):
        read_text(path)
    packed = tmp_path / "rows.jsonl.gz"
    packed.write_bytes(gzip.compress("héllo\n".encode("utf-8")))
    assert read_text(packed) == "héllo\n"
    packed.write_bytes(gzip.compress(b"x")[:-6])
    with pytest.raises(ValueError, match="rows.jsonl.gz: broken gzip data"):
        read_text(packed)


def test_read_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}')
    with pytest.raises(ValueError, match=r"card .*card.json:4:1: not valid JSON"):
        read_json(path, "card")


def test_sqlite_file_takes_a_database_an_empty_file_or_a_new_name(tmp_path: Path) -> None:
    db = tmp_path / "real.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    (tmp_path / "empty.sqlite").touch()
    for name in ("real.sqlite", "empty.sqlite", "new.sqlite"):
        assert sqlite_file(tmp_path / name, "--db") == tmp_path / name
    (tmp_path / "text.sqlite").write_text("SQLite format 2, honest")
    for name, problem in (("text.sqlite", "is not a SQLite database"),
                          ("no/such/x.sqlite", "does not exist (nothing created)"),
                          (".", "is a folder")):
        with pytest.raises(ValueError, match=f"--db .*{re.escape(problem)}"):
            sqlite_file(tmp_path / name, "--db")
    assert not (tmp_path / "no").exists()


def test_output_path_refuses_what_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert output_path(tmp_path / "new" / "deeper" / "out.jsonl", "--output", "file")
    assert output_path(tmp_path / "new" / "folder", "--output-dir", "folder")
    assert not (tmp_path / "new").exists()  # nothing is created
    for path, kind, problem in ((tmp_path, "file", "is a folder"),
                                (tmp_path / "file", "folder", "is a file, not a folder"),
                                (tmp_path / "file" / "x" / "y.jsonl", "file", "is a file, so")):
        with pytest.raises(ValueError, match=problem):
            output_path(path, "--output", kind)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_path_refuses_a_folder_that_is_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="locked is not writable"):
            output_path(locked / "out" / "x.jsonl", "--output", "file")
        with pytest.raises(ValueError, match="not writable"):
            sqlite_file(locked / "x.sqlite", "--db")
    finally:
        locked.chmod(0o700)
