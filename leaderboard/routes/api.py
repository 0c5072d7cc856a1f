"""The JSON API: push runs, published numbers and judge-agreement reports (push scope), read a
run and the main table as JSON or CSV (read scope, public by default)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Callable

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response

from leaderboard import auth, lineage, views
from leaderboard.db import read_session
from leaderboard.ingest import (ConflictError, DuplicateRun, store_agreement, store_published,
                                store_push)
from leaderboard.lineage import OwnershipError, model_json
from leaderboard.models import Run
from leaderboard.pages import PageNotFound, Query, export_query, paginate
from leaderboard.parse import PayloadError
from leaderboard.routes.deps import (READ, BoardDep, HTTPProblem, body_doc, json_body,
                                     pusher)
from leaderboard.routes.state import Board
from leaderboard.schemas import AgreementPayload, PublishedPayload, PushPayload

router = APIRouter(prefix="/api", tags=["api"])
Pusher = Annotated[auth.Principal, Depends(pusher)]
Filters = Annotated[Query, Depends(export_query)]


def _store(lb: Board, store: Callable[..., Any], payload: Any, who: auth.Principal
           ) -> dict[str, Any]:
    pusher = lineage.Pusher(who.user, who.token_id, "admin" in who.scopes)
    try:
        outcome = store(lb.engine, payload, pusher)
    except OwnershipError as err:
        raise HTTPProblem(403, str(err)) from None
    except DuplicateRun as err:
        raise HTTPProblem(409, str(err), {"X-Run-Id": str(err.run_id)}) from None
    except ConflictError as err:
        raise HTTPProblem(409, str(err)) from None
    except PayloadError as err:
        raise HTTPProblem(422, [str(err)]) from None
    return {"run_id": outcome.run_id, "model": outcome.model, "status": outcome.status,
            "detail": outcome.detail, "scores": outcome.scores}


@router.post("/runs", status_code=201, openapi_extra=body_doc(PushPayload))
def push_run(lb: BoardDep, who: Pusher,
             payload: Annotated[PushPayload, Depends(json_body(PushPayload, pusher))]
             ) -> dict[str, Any]:
    return _store(lb, store_push, payload, who)


@router.post("/published", status_code=201, openapi_extra=body_doc(PublishedPayload))
def push_published(lb: BoardDep, who: Pusher,
                   payload: Annotated[PublishedPayload, Depends(json_body(PublishedPayload,
                                                                          pusher))]
                   ) -> dict[str, Any]:
    return _store(lb, store_published, payload, who)


@router.post("/judge-agreement", status_code=201, openapi_extra=body_doc(AgreementPayload))
def push_agreement(lb: BoardDep, who: Pusher, payload: Annotated[AgreementPayload, Depends(
        json_body(AgreementPayload, pusher))]) -> dict[str, Any]:
    try:
        row = store_agreement(lb.engine, payload, "pushed over HTTP")
    except PayloadError as err:
        raise HTTPProblem(422, [str(err)]) from None
    return {"judge_run_id": row}


@router.get("/runs/{run_id}", dependencies=[Depends(READ)])
def get_run(run_id: Annotated[int, Path(ge=1, le=2**31 - 1)], lb: BoardDep
            ) -> dict[str, Any]:
    with read_session(lb.engine) as s:
        run = s.get(Run, run_id)
        if run is None:
            raise HTTPProblem(404, f"no run {run_id}")
        return {"run_id": run.id, "model": run.model.name, "status": run.status,
                "detail": run.status_detail, "source": run.source,
                "harness_version": run.harness_version, "card_version": run.card_version,
                "results": json.loads(run.results_json)}


@router.get("/models/{name:path}", dependencies=[Depends(READ)])
def get_model(name: str, lb: BoardDep) -> dict[str, Any]:
    """A model: owner, lineage (base, teacher, the current card and its versions), its runs."""
    found = model_json(lb.engine, name)
    if found is None:
        raise HTTPProblem(404, f"no model named {name!r}")
    return found


def _board_page(lb: Board, query: Query) -> tuple[views.Table, list[views.Row], dict[str, int]]:
    """The table, the rows of the page asked for (every matching row without ``per_page``) and
    the paging fields (404 past the last page)."""
    table = lb.cache.get()
    try:
        pager = paginate(views.filter_rows(table, **query.filters()), query.page, query.per_page)
    except PageNotFound as err:
        raise HTTPProblem(404, str(err)) from None
    paging = {"total": pager.total}
    if query.per_page:
        paging |= {"page": pager.page, "pages": pager.pages, "per_page": pager.per_page}
    return table, list(pager.items), paging


@router.get("/leaderboard.json", dependencies=[Depends(READ)])
def board_json(lb: BoardDep, query: Filters) -> JSONResponse:
    """The main table (filters: base, data, teacher, q); every matching row, or one page of
    ``per_page`` rows (``page``, 1-based) with ``total`` and ``pages``."""
    table, rows, paging = _board_page(lb, query)
    return JSONResponse(views.table_json(table, rows) | paging)


@router.get("/leaderboard.csv", dependencies=[Depends(READ)])
def board_csv(lb: BoardDep, query: Filters) -> Response:
    """The same as CSV (one line per model and column); X-Total-Count: the matching models."""
    table, rows, paging = _board_page(lb, query)
    return Response(views.table_csv(table, rows), media_type="text/csv",
                    headers={"Content-Disposition": "attachment; filename=leaderboard.csv",
                             "X-Total-Count": str(paging["total"])})
