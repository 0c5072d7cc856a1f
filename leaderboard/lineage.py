"""Who may change a model, and the versions of its lineage card.

Ownership: a model row belongs to the user whose push created it (as the pushed model, or as the
base or teacher that push named). A push under a model name, as a run or as published numbers,
is refused (:class:`OwnershipError`, HTTP 403) when the model belongs to another user, unless the
pusher is an admin; so a non-owner can neither add runs to it nor change its base, teacher,
parameter count or card. Naming another user's model as one's base or teacher is allowed: the
push only points its own row there and never changes the named row. A model without an owner
(stored before owners were recorded, owner unknown) takes pushes from admins only.

A push straight into a database file (``imitation-leaderboard push --db``, ``leaderboard.push``
with a ``db`` target, ``store_push`` without a pusher) has no token: it acts as the user
``local`` (:data:`LOCAL`, not an admin), who owns what such pushes create. Whoever can write the
file can change anything in it anyway; the check keeps a local push from silently taking over a
model that a token's user pushed to a board whose file it shares.

Cards: a card that differs from the checkpoint's current one adds a :class:`CardVersion` (who,
when) and becomes current; the same card again adds nothing. Each run records the card version
in effect when it was stored (``Run.card_version``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leaderboard.db import read_session
from leaderboard.models import CardVersion, Checkpoint, Model, Run, User

LOCAL_USER = "local"


@dataclass(frozen=True)
class Pusher:
    """Who pushes: a user's name, the token used (None for a push into the database file) and
    whether that token has the admin scope."""

    user: str
    token_id: int | None = None
    admin: bool = False


LOCAL = Pusher(LOCAL_USER)


class OwnershipError(ValueError):
    """A push that would change a model owned by another user (HTTP 403)."""


def user_row(session: Session, name: str) -> User:
    """The user called ``name`` (created for the local user on its first push)."""
    found = session.scalars(select(User).where(User.name == name)).first()
    if found is None:
        found = User(name=name)
        session.add(found)
        session.flush()
    return found


def check_owner(model: Model, pusher: Pusher, user: User) -> None:
    """Refuse a push by ``user`` to ``model`` unless it owns the model or is an admin."""
    if pusher.admin or (model.owner_id is not None and model.owner_id == user.id):
        return
    if model.owner is None:
        raise OwnershipError(
            f"model {model.name!r} has no known owner (stored before owners were recorded): "
            "only a token with the admin scope may push to it; push under another name")
    raise OwnershipError(
        f"model {model.name!r} belongs to {model.owner.name}, not {user.name}: push under "
        f"another name, or ask {model.owner.name} or an admin (a token with the admin scope)")


def _canonical(card: Mapping[str, Any]) -> str:
    return json.dumps(card, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def record_card(session: Session, model: Model, card: Mapping[str, Any], data_kind: str,
                tokens: int | None, user: User) -> int:
    """Make ``card`` the checkpoint's current card, adding a version when it is new; returns
    the version now current."""
    ckpt = model.checkpoint
    if ckpt is not None:  # concurrent pushes of cards queue here (PostgreSQL; SQLite's write
        session.refresh(ckpt, with_for_update=True)  # transactions are serial already)
        if _canonical(ckpt.card) == _canonical(card):
            return ckpt.version
    if ckpt is None:
        ckpt = Checkpoint(card=dict(card), data_kind=data_kind, imitation_tokens=tokens,
                          version=1)
        model.checkpoint = ckpt
    else:
        ckpt.version += 1
        ckpt.card, ckpt.data_kind, ckpt.imitation_tokens = dict(card), data_kind, tokens
    session.flush()
    session.add(CardVersion(checkpoint_id=ckpt.id, version=ckpt.version, card=dict(card),
                            data_kind=data_kind, imitation_tokens=tokens, user_id=user.id))
    return ckpt.version


def card_history(session: Session, model: Model) -> list[dict[str, Any]]:
    """The checkpoint's card versions, newest first: version, user, created_at, card, current."""
    if model.checkpoint is None:
        return []
    rows = session.scalars(select(CardVersion).where(
        CardVersion.checkpoint_id == model.checkpoint.id).order_by(CardVersion.version.desc()))
    return [{"version": v.version, "user": v.user.name if v.user else None,
             "created_at": v.created_at.isoformat(), "card": v.card,
             "data_kind": v.data_kind or None, "imitation_tokens": v.imitation_tokens,
             "current": v.version == model.checkpoint.version} for v in rows]


def storable_name(name: str) -> bool:
    """Whether a push could have stored a model called ``name`` (1-200 characters, no control
    characters): a lookup by any other name finds nothing without asking the database, which
    on PostgreSQL refuses NUL (the API's and the pages' model routes use it)."""
    return bool(name) and len(name) <= 200 and not any(ord(c) < 32 or ord(c) == 127
                                                        for c in name)


def model_json(engine: Engine, name: str) -> dict[str, Any] | None:
    """The API's view of a model (None when no model has that name; a name no push could
    store is not looked up: :func:`storable_name`)."""
    if not storable_name(name):
        return None
    with read_session(engine) as s:
        m = s.scalars(select(Model).where(Model.name == name)).first()
        if m is None:
            return None
        runs = s.execute(select(Run.id, Run.status, Run.status_detail, Run.card_version,
                                Run.created_at).where(Run.model_id == m.id).order_by(Run.id))
        return {"model": m.name, "kind": m.kind, "owner": m.owner.name if m.owner else None,
                "base": m.base.name if m.base else None,
                "teacher": m.teacher.name if m.teacher else None, "params": m.params,
                "card": m.checkpoint.card if m.checkpoint else None,
                "card_version": m.checkpoint.version if m.checkpoint else None,
                "card_history": card_history(s, m),
                "runs": [{"run_id": r, "status": st, "detail": d, "card_version": v,
                          "created_at": t.isoformat()} for r, st, d, v, t in runs]}
