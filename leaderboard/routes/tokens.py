"""Bearer tokens over HTTP (admin scope): list them (never their text), create one (its text
is returned once), revoke one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from leaderboard import auth
from leaderboard.routes.deps import (ADMIN, BoardDep, HTTPProblem, admin_writer, body_doc,
                                     json_body)
from leaderboard.schemas import TokenCreate

router = APIRouter(prefix="/api/tokens", tags=["tokens"], dependencies=[Depends(ADMIN)])


@router.get("")
def list_tokens(lb: BoardDep) -> list[dict[str, Any]]:
    return auth.list_tokens(lb.engine)


@router.post("", status_code=201, openapi_extra=body_doc(TokenCreate),
             dependencies=[Depends(admin_writer)])
def create_token(lb: BoardDep, spec: Annotated[TokenCreate, Depends(json_body(TokenCreate,
                                                                              admin_writer))]
                 ) -> dict[str, Any]:
    token_id, text = auth.create_token(lb.engine, spec.user, list(spec.scopes))
    return {"id": token_id, "token": text, "scopes": sorted(set(spec.scopes))}


@router.delete("/{token_id}", dependencies=[Depends(admin_writer)])
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], lb: BoardDep
                 ) -> dict[str, Any]:
    if not auth.revoke_token(lb.engine, token_id):
        raise HTTPProblem(404, f"no token {token_id}")
    return {"id": token_id, "revoked": True}
