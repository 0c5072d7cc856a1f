"""Rating studies over HTTP: the raters' page and API (rate scope), the results (read scope).

    GET  /rate/{code}                 the raters' page (a shell: it holds no study data)
    POST /api/rate/{code}/next        rate    the rater's open pair, else a new one
    POST /api/rate/{code}/submit      rate    {"assignment", "choice": left|right|equal}
    GET  /api/studies                 admin   the studies (with their raters' links)
    GET  /api/studies/{id}            read    a study's results as JSON (admin while open)
    GET  /study/{id}                  read    a study's results page (admin while open)

What a rater's browser receives names no model, no answer file and no side: a prompt, two
answers as "left" and "right" (the order drawn per assignment and kept on the server), an
opaque assignment id and the rater's progress. The token travels in the Authorization header
only (the page keeps it in sessionStorage), never in a URL.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from leaderboard import auth
from leaderboard.pages import PAGES
from leaderboard.render import render
from leaderboard.routes.deps import (ADMIN, READ, BoardDep, HTTPProblem, body_doc, json_body,
                                     require, writer)
from leaderboard.study import assign, build, results

router = APIRouter(tags=["rating studies"])
rater = writer(require("rate"))  # the rate scope, rate-limited per token like every write
Rater = Annotated[auth.Principal, Depends(rater)]
Code = Annotated[str, Path(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
StudyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Rating(BaseModel):
    """A rater's choice on one assignment: the left answer better, the right one, or equal."""

    model_config = ConfigDict(extra="forbid")
    assignment: str = Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    choice: Literal["left", "right", "equal"]


def _served(call: Any, *args: Any) -> dict[str, Any]:
    try:
        return call(*args)
    except assign.StudyError as err:
        raise HTTPProblem(err.status, err.message) from None


@router.get("/rate/{code}", response_class=HTMLResponse, include_in_schema=False)
def rate_page(code: Code, lb: BoardDep) -> HTMLResponse:
    return HTMLResponse(render(lb.env, "rate.html", lb.links),
                        headers={"Cache-Control": "no-store"})


@router.post("/api/rate/{code}/next")
def next_pair(code: Code, lb: BoardDep, who: Rater) -> dict[str, Any]:
    return _served(assign.next_pair, lb.engine, code, who.user)


@router.post("/api/rate/{code}/submit", openapi_extra=body_doc(Rating))
def submit(code: Code, lb: BoardDep, who: Rater,
           rating: Annotated[Rating, Depends(json_body(Rating, rater))]) -> dict[str, Any]:
    return _served(assign.submit, lb.engine, code, who.user, rating.assignment, rating.choice)


@router.get("/api/studies", dependencies=[Depends(ADMIN)])
def list_studies(lb: BoardDep) -> list[dict[str, Any]]:
    return build.list_studies(lb.engine)


def _results(lb: Any, study_id: int, request: Request) -> dict[str, Any]:
    """The study's results; while it is open, for an admin token only (even on a public
    board): its live figures would tell a rater, after each rating, whether the side chosen
    was the model's, and the files name the models. The answer files by name, not path."""
    try:
        status = build.find_study(lb.engine, str(study_id)).status
        if status == "open":
            ADMIN(request, lb, None)
        res = results.study_results(lb.engine, str(study_id))
    except ValueError:
        raise HTTPProblem(404, f"no study {study_id}") from None
    res = {**res, "answers_file": PurePath(res["answers_file"]).name,
           "reference_file": PurePath(res["reference_file"]).name}
    return res if _is_admin(request, lb) else _pseudonymous(res)


def _is_admin(request: Request, lb: Any) -> bool:
    try:
        ADMIN(request, lb, None)
    except HTTPProblem:
        return False
    return True


def _pseudonymous(res: dict[str, Any]) -> dict[str, Any]:
    """Who rated, and who failed an attention check, is for an admin: other readers see the
    raters numbered (rater 1, 2, ... in the order the results list them)."""
    alias = {c["rater"]: f"rater {i}" for i, c in enumerate(res["attention_checks"], 1)}
    checks = [{**c, "rater": alias[c["rater"]]} for c in res["attention_checks"]]
    failed = [alias.get(name, "a rater") for name in res.get("failed_raters", [])]
    return {**res, "attention_checks": checks, "failed_raters": failed}


@router.get("/api/studies/{study_id}", dependencies=[Depends(READ)])
def study_json(study_id: StudyId, lb: BoardDep, request: Request) -> dict[str, Any]:
    return _results(lb, study_id, request)


@router.get("/study/{study_id}", dependencies=[Depends(READ)], response_class=HTMLResponse)
def study_page(study_id: StudyId, lb: BoardDep, request: Request) -> HTMLResponse:
    return HTMLResponse(render(lb.env, "study.html", lb.links, nav=PAGES,
                               r=_results(lb, study_id, request)))
