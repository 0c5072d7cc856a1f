"""The database seam: build an engine from a URL, bring its schema up to date with Alembic.

SQLite gets WAL journaling, a busy timeout and foreign keys on every connection; a write
transaction on SQLite starts with BEGIN IMMEDIATE (see :func:`write_session`) so concurrent
pushes queue for the write lock instead of failing half-way. PostgreSQL uses the same code.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    from leaderboard.settings import normalise_db_url

    url = normalise_db_url(url)
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:  # a folder or a file that is not SQLite: one line naming it
            from judges.paths import output_path, sqlite_file

            target = Path(path).expanduser()
            if not target.parent.exists():
                output_path(target, "--db", "file")
                target.parent.mkdir(parents=True, exist_ok=True)
            sqlite_file(target, "--db")
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # noqa: ANN001
            mode = conn.get_execution_options().get("sqlite_begin", "")
            conn.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def alembic_config(engine: Engine | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (idempotent: an up-to-date database is left alone)."""
    from alembic import command

    cfg = alembic_config(engine)
    with schema_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextlib.contextmanager
def schema_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for migrations. On SQLite, foreign keys are off while it
    runs (a migration that rebuilds a referenced table, as batch mode does, would fail with them
    on: SQLite ignores the switch inside a transaction, so it is set before) and every reference
    is checked before the commit."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The schema revision this code reads and writes (the newest migration)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    return path if path and path != ":memory:" else None


def check_new_sqlite(url: str, flag: str = "--db") -> Path | None:
    """For a URL a user typed: a SQLite file must be a SQLite database or a new file in a
    folder that exists (a mistyped folder is an error naming ``flag``, never a new empty
    database somewhere else). Other databases pass. Returns the SQLite file when it does not
    exist yet (opening the URL creates it), else None."""
    from judges.paths import sqlite_file

    from leaderboard.settings import normalise_db_url

    path = _sqlite_path(normalise_db_url(url))
    if path is None:
        return None
    file = sqlite_file(path, flag)
    return None if file.exists() else file


def open_existing(url: str) -> Engine:
    """An engine on a leaderboard database that already exists at this code's schema revision,
    for the commands that only read it (or change what is there): nothing is created or
    migrated. A missing SQLite file, a database without the leaderboard's tables, one at another
    revision or one that cannot be read is a ValueError naming it and the fix."""
    from sqlalchemy.exc import DBAPIError

    from leaderboard.settings import normalise_db_url

    url = normalise_db_url(url)
    path = _sqlite_path(url)
    where = (str(Path(path).expanduser().resolve()) if path
             else make_url(url).render_as_string(hide_password=True))
    if path is not None and not Path(where).is_file():
        raise ValueError(f"no leaderboard database at {where}; push a run first or check --db")
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except DBAPIError as err:
        engine.dispose()
        raise ValueError(f"cannot read a leaderboard database at {where} ({err.orig}); "
                         "check --db") from None
    problem = None
    if revision is None:
        problem = (f"no leaderboard database at {where} (it holds no leaderboard tables); "
                   "push a run first or check --db")
    elif revision != head_revision():
        problem = (f"the leaderboard database at {where} is at schema revision {revision}, "
                   f"this code reads {head_revision()}: run `imitation-leaderboard migrate` "
                   "with the same --db first")
    if problem:
        engine.dispose()
        raise ValueError(problem)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one write transaction: committed on success, rolled back on error."""
    bind = engine
    if engine.dialect.name == "sqlite":
        bind = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(bind, expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
