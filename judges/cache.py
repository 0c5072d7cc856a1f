"""A persistent reply cache: one SQLite file in WAL mode, one row per paid-for reply.

A reply is committed before the caller gets it, so a crash or a kill loses nothing that was
already handed back, and a resumed run finds every such reply. The key is the sha256 of the
canonical request (model, base URL, messages, decoding parameters, prompt version); rows hold the
request body and the reply, never the API key. With WAL and ``synchronous=NORMAL`` a killed
process loses no committed row; only a power cut may drop the last few.

From async code, :meth:`ReplyCache.aput` hands rows to one writer thread that commits whatever has
queued up in one transaction (group commit) and then wakes the waiting callers: the event loop
never blocks on disk, and each caller still resumes only once its row is on disk.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path

from judges.records import ChatRequest, ChatResult, Usage

SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    request TEXT NOT NULL,
    reply TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID
"""
INSERT = ("INSERT OR REPLACE INTO replies (key, model, prompt_version, request, reply, created) "
          "VALUES (?, ?, ?, ?, ?, ?)")
GROUP_COMMIT_MAX = 256
FLAG = "--cache-path"  # what the user sets (ClientConfig.cache_path), named in errors


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def _row(key: str, request: ChatRequest, result: ChatResult) -> tuple:
    reply = asdict(result)
    reply["cached"] = False
    return (key, request.model, request.prompt_version,
            json.dumps(request.body(), ensure_ascii=False), json.dumps(reply, ensure_ascii=False),
            time.time())


def _result(reply: str) -> ChatResult:
    data = json.loads(reply)
    data["usage"] = Usage(**data["usage"])
    data["cached"] = True
    return ChatResult(**data)


class ReplyCache:
    def __init__(self, path: str | Path) -> None:
        """Open (or create) the cache file; its missing parent folders are created (the CLIs
        refuse a missing folder before this, :func:`judges.paths.sqlite_file`). A folder, a file
        that is not SQLite or one SQLite cannot open is a ValueError naming it."""
        from judges.paths import output_path, sqlite_file

        self.path = Path(path)
        output_path(self.path, FLAG, "file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sqlite_file(self.path, FLAG)
        try:
            self._db = _connect(self.path)  # reads and synchronous puts (caller's thread)
            self._db.execute(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise ValueError(f"{FLAG} {self.path} cannot be used as a reply cache ({err}): give "
                             "a new file name") from None
        self._queue: queue.Queue = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplyCache({str(self.path)!r})"

    def get(self, key: str) -> ChatResult | None:
        row = self._db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else _result(row[0])

    def get_many(self, keys: list[str]) -> dict[str, ChatResult]:
        """The cached replies among ``keys`` (one query per 500 keys)."""
        found: dict[str, ChatResult] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, reply in self._db.execute(
                    f"SELECT key, reply FROM replies WHERE key IN ({marks})", chunk):
                found[key] = _result(reply)
        return found

    def put(self, key: str, request: ChatRequest, result: ChatResult) -> None:
        """Commit one row now (blocking)."""
        with self._lock:
            self._db.execute(INSERT, _row(key, request, result))

    async def aput(self, key: str, request: ChatRequest, result: ChatResult) -> None:
        """Commit one row through the writer thread; returns once it is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._start_writer()
        self._queue.put((_row(key, request, result), loop, done))
        await done

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="judges-cache-writer",
                                                daemon=True)
                self._writer.start()

    def _write_loop(self) -> None:
        db = _connect(self.path)
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while len(batch) < GROUP_COMMIT_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                stop = True
                batch = [item for item in batch if item is not None]
            if not batch:
                continue
            error: BaseException | None = None
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(INSERT, [row for row, _, _ in batch])
                db.execute("COMMIT")
            except sqlite3.Error as err:
                error = err
                if db.in_transaction:
                    db.execute("ROLLBACK")
            # One wake-up per event loop for the whole group, not one per row: each
            # call_soon_threadsafe writes to the loop's self-pipe.
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, loop, done in batch:
                waiting.setdefault(loop, []).append(done)
            for loop, futures in waiting.items():
                try:
                    loop.call_soon_threadsafe(_settle_all, futures, error)
                except RuntimeError:  # the caller's loop is gone: nobody waits
                    pass
        db.close()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        """Finish queued writes, stop the writer, close the file."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        self._db.close()


def _settle_all(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        _settle(done, error)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
