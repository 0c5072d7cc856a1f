"""Fixtures: an engine on SQLite and on a real PostgreSQL (a throwaway cluster started here;
the PostgreSQL cases skip, with the reason, only when no server can start), tokens, and a real
uvicorn server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaderboard.testing_services import PostgresCluster, PostgresNotInstalled, ServerThread
from tests.support.skips import needs


@pytest.fixture(scope="session")
def postgres():
    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresNotInstalled:
        cluster.stop()
        pytest.skip(needs("postgresql", "PostgreSQL is not installed"))
    except (RuntimeError, OSError) as err:
        cluster.stop()
        pytest.skip(f"no PostgreSQL server could start: {err}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lb.sqlite'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def engine(db_url: str):
    from leaderboard.db import make_engine, migrate

    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    from leaderboard.db import make_engine, migrate

    eng = make_engine(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def tokens(sqlite_engine) -> dict[str, str]:
    from leaderboard.auth import create_token

    return {scope: create_token(sqlite_engine, f"user-{scope}", [scope])[1]
            for scope in ("read", "push", "admin")}


@pytest.fixture
def server(sqlite_engine):
    from leaderboard.app import create_app
    from leaderboard.settings import Settings

    settings = Settings(db=str(sqlite_engine.url), max_payload_mb=1.0, push_per_minute=1000,
                        requests_per_minute=10_000, bootstrap_draws=200)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        yield srv
