"""Pushing to a leaderboard from Python: into a local store or to a running server over HTTP.

The ``imitation-leaderboard push`` / ``publish`` commands and ``imitation-train`` (sweeps and
experiments) both go through these functions; a :class:`Target` names where results go.

    target = Target(db="sqlite:///board.sqlite")          # or Target(url="http://HOST:8000")
    push_results(target, Path("results/model/2026-12-04T10-00-00"), kind="base")
    publish_teacher(target, "gpt-4", Path("results/model/2026-12-04T10-00-00"))
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN_ENV = "IMITATION_LEADERBOARD_TOKEN"


@dataclass(frozen=True)
class Target:
    """Exactly one of ``db`` (a store URL: sqlite:///FILE or postgresql+psycopg://...) and
    ``url`` (a running leaderboard; its bearer token is read from ``token_env`` only)."""

    db: str | None = None
    url: str | None = None
    token_env: str = TOKEN_ENV

    def __post_init__(self) -> None:
        if bool(self.db) == bool(self.url):
            raise ValueError("a leaderboard target needs exactly one of a database "
                             "(sqlite:///leaderboard.sqlite) or a server URL (http://HOST:8000)")
        if self.url and not os.environ.get(self.token_env):
            raise ValueError(f"environment variable {self.token_env} is not set: export a token "
                             "with the push scope (imitation-leaderboard token create ...)")

    def engine(self) -> Any:
        """The store's engine, migrated (pushing creates the database if it is new)."""
        from leaderboard.db import make_engine, migrate
        from leaderboard.settings import Settings

        engine = make_engine(Settings(db=str(self.db)).db)
        migrate(engine)
        return engine


def post(url: str, path: str, body: dict[str, Any], token_env: str = TOKEN_ENV
         ) -> dict[str, Any]:
    """POST JSON to a running leaderboard; the token comes from the environment only."""
    import urllib.error
    import urllib.request

    token = os.environ.get(token_env)
    if not token:
        raise ValueError(f"environment variable {token_env} is not set: export a token with "
                         "the push scope (imitation-leaderboard token create ...)")
    req = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode("utf-8"),
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")[:2000]
        if err.code == 409 and err.headers.get("X-Run-Id"):
            return {"duplicate": True, "run_id": int(err.headers["X-Run-Id"]), "detail": detail}
        raise ValueError(f"the server refused the push ({err.code}): {detail}") from None


def push_body(target: Target, body: dict[str, Any], engine: Any = None) -> dict[str, Any]:
    """Store one push body (see :func:`leaderboard.payload.build_payload`); a run stored before
    is reported as a duplicate, not an error."""
    if target.url:
        return post(target.url, "/api/runs", body, target.token_env)
    from leaderboard.ingest import DuplicateRun, store_push
    from leaderboard.schemas import PushPayload

    try:
        outcome = store_push(engine or target.engine(), PushPayload.model_validate(body))
    except DuplicateRun as err:
        return {"duplicate": True, "run_id": err.run_id, "detail": str(err)}
    return {"run_id": outcome.run_id, "model": outcome.model, "status": outcome.status,
            "detail": outcome.detail, "scores": outcome.scores}


def push_results(target: Target, results: Path, *, samples: list[Path] | None = None,
                 card: Path | None = None, name: str | None = None, kind: str | None = None,
                 base: str | None = None, teacher: str | None = None,
                 params: int | None = None, engine: Any = None) -> dict[str, Any]:
    """Push one results folder (or results.json) with its samples, config and card."""
    from leaderboard.payload import build_payload

    body = build_payload(results, samples, card, name=name, kind=kind, base=base,
                         teacher=teacher, params=params)
    return push_body(target, body, engine)


def publish_body(target: Target, body: dict[str, Any], engine: Any = None) -> dict[str, Any]:
    """Store published numbers (a teacher's row); the same numbers again are a duplicate."""
    if target.url:
        return post(target.url, "/api/published", body, target.token_env)
    from leaderboard.ingest import DuplicateRun, store_published
    from leaderboard.schemas import PublishedPayload

    try:
        outcome = store_published(engine or target.engine(), PublishedPayload.model_validate(body))
    except DuplicateRun as err:  # the same numbers again (e.g. a second `make demo`)
        return {"duplicate": True, "run_id": err.run_id, "detail": str(err)}
    return {"run_id": outcome.run_id, "model": outcome.model, "status": outcome.status}


def teacher_body(teacher: str, columns_of: Path) -> dict[str, Any]:
    """The shipped published numbers of ``teacher`` on the columns of a results folder (or
    results.json): the run whose task identities the teacher's figures go on."""
    from leaderboard.payload import read_json
    from leaderboard.teachers import teacher_payload

    path = columns_of / "results.json" if columns_of.is_dir() else columns_of
    config = path.parent / "config.json"
    return teacher_payload(teacher, read_json(path, "results"),
                           read_json(config, "config") if config.is_file() else None)


def publish_teacher(target: Target, teacher: str, columns_of: Path,
                    engine: Any = None) -> dict[str, Any]:
    return publish_body(target, teacher_body(teacher, columns_of), engine)
