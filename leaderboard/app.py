"""The FastAPI app: ``create_app(settings, engine)``. JSON API under /api (bearer tokens with
scopes, rate limits, strict validation), server-rendered pages elsewhere.

    POST   /api/runs              push    one run (PushPayload)
    POST   /api/published         push    published numbers with their source
    POST   /api/judge-agreement   push    an imitation-judge agreement.json
    GET    /api/runs/{id}         read    a run: results JSON verbatim + status
    GET    /api/leaderboard.json  read    the main table (filters: base, data, teacher)
    GET    /api/leaderboard.csv   read    the same as CSV
    GET    /api/tokens            admin   list tokens (never their text)
    POST   /api/tokens            admin   create a token (its text is returned once)
    DELETE /api/tokens/{id}       admin   revoke
    GET    /, /model/{name}, /scaling, /style, /judges   pages
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from leaderboard import auth, plots, views
from leaderboard.db import make_engine, read_session
from leaderboard.ingest import (ConflictError, DuplicateRun, store_agreement, store_published,
                                store_push)
from leaderboard.models import Run
from leaderboard.parse import PayloadError
from leaderboard.render import STATIC, Links, environment, render
from leaderboard.schemas import AgreementPayload, PublishedPayload, PushPayload, TokenCreate
from leaderboard.settings import Settings

log = logging.getLogger(__name__)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY"}


class HTTPProblem(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        self.status, self.detail, self.headers = status, detail, headers or {}


def validation_messages(err: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()]


class TableCache:
    """The computed main table and the pages rendered from it, kept until a run or judge result
    is stored (the data version changes); one computation at a time."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._table: views.Table | None = None
        self._pages: dict[Any, str] = {}

    def get(self) -> views.Table:
        key = views.data_version(self.engine)
        with self._lock:
            if key != self._key or self._table is None:
                self._table = views.build_table(self.engine, self.settings.bootstrap_draws,
                                                self.settings.seed)
                self._key, self._pages = key, {}
            return self._table

    def page(self, name: Any, build) -> str:  # noqa: ANN001
        """A rendered page for this data version (``build(table)`` on a miss)."""
        table = self.get()
        with self._lock:
            if name not in self._pages:
                if len(self._pages) > 64:
                    self._pages.clear()
                self._pages[name] = build(table)
            return self._pages[name]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = engine or make_engine(settings.db)
    app = FastAPI(title="imitation-suite leaderboard", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings, app.state.engine = settings, engine
    env, cache = environment(), TableCache(engine, settings)
    ip_limit = auth.RateLimiter(settings.requests_per_minute)
    push_limit = auth.RateLimiter(settings.push_per_minute)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(HTTPProblem)
    async def _problem(_: Request, exc: HTTPProblem) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.middleware("http")
    async def _guard(request: Request, call_next):  # noqa: ANN001, ANN202
        if request.url.path.startswith("/api/") and request.client is not None:
            wait = ip_limit.check(f"ip:{request.client.host}")
            if wait:
                return JSONResponse({"detail": "rate limit: too many requests from this address"},
                                    429, headers={"Retry-After": str(int(wait) + 1)})
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def principal(request: Request, scope: str) -> auth.Principal | None:
        if scope == "read" and settings.public_read:
            return None
        try:
            return auth.authenticate(engine, request.headers.get("authorization"), scope)
        except auth.AuthError as err:
            headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else {}
            raise HTTPProblem(err.status, err.message, headers) from None

    async def body_json(request: Request) -> Any:
        limit = settings.max_payload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise HTTPProblem(413, f"payload of {int(declared)} bytes exceeds the "
                                   f"{limit}-byte limit (--max-payload-mb)")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPProblem(413, f"payload exceeds the {limit}-byte limit "
                                       "(--max-payload-mb)")
            chunks.append(chunk)
        if "json" not in request.headers.get("content-type", ""):
            raise HTTPProblem(415, "send the payload as JSON (Content-Type: application/json)")
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPProblem(400, f"malformed JSON: {err}") from None

    def parse(model: type[BaseModel], data: Any) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            raise HTTPProblem(422, validation_messages(err)) from None

    async def write(request: Request, model: type[BaseModel],
                    store: Any) -> JSONResponse:
        who = await run_in_threadpool(principal, request, "push")
        assert who is not None
        wait = push_limit.check(f"token:{who.token_id}")
        if wait:
            raise HTTPProblem(429, "rate limit: too many pushes with this token",
                              {"Retry-After": str(int(wait) + 1)})
        payload = parse(model, await body_json(request))
        try:
            outcome = await run_in_threadpool(store, engine, payload, who.token_id)
        except DuplicateRun as err:
            raise HTTPProblem(409, str(err), {"X-Run-Id": str(err.run_id)}) from None
        except ConflictError as err:
            raise HTTPProblem(409, str(err)) from None
        except PayloadError as err:
            raise HTTPProblem(422, [str(err)]) from None
        return JSONResponse({"run_id": outcome.run_id, "model": outcome.model,
                             "status": outcome.status, "detail": outcome.detail,
                             "scores": outcome.scores}, 201)

    @app.post("/api/runs")
    async def push_run(request: Request) -> JSONResponse:
        return await write(request, PushPayload, store_push)

    @app.post("/api/published")
    async def push_published(request: Request) -> JSONResponse:
        return await write(request, PublishedPayload, store_published)

    @app.post("/api/judge-agreement")
    async def push_agreement(request: Request) -> JSONResponse:
        await run_in_threadpool(principal, request, "push")
        payload = parse(AgreementPayload, await body_json(request))
        try:
            row = await run_in_threadpool(store_agreement, engine, payload, "pushed over HTTP")
        except PayloadError as err:
            raise HTTPProblem(422, [str(err)]) from None
        return JSONResponse({"judge_run_id": row}, 201)

    @app.get("/api/runs/{run_id}")
    def get_run(run_id: int, request: Request) -> JSONResponse:
        principal(request, "read")
        with read_session(engine) as s:
            run = s.get(Run, run_id)
            if run is None:
                raise HTTPProblem(404, f"no run {run_id}")
            return JSONResponse({"run_id": run.id, "model": run.model.name,
                                 "status": run.status, "detail": run.status_detail,
                                 "source": run.source, "harness_version": run.harness_version,
                                 "results": json.loads(run.results_json)})

    def filtered(request: Request) -> tuple[views.Table, list[views.Row], dict[str, str]]:
        q = request.query_params
        chosen = {k: q.get(k, "")[:200] for k in ("base", "data", "teacher")}
        table = cache.get()
        return table, views.filter_rows(table, **chosen), chosen

    @app.get("/api/leaderboard.json")
    def export_json(request: Request) -> JSONResponse:
        principal(request, "read")
        table, rows, _ = filtered(request)
        return JSONResponse(views.table_json(table, rows))

    @app.get("/api/leaderboard.csv")
    def export_csv(request: Request) -> Response:
        principal(request, "read")
        table, rows, _ = filtered(request)
        return Response(to_csv(views.table_csv_rows(table, rows)), media_type="text/csv",
                        headers={"Content-Disposition": "attachment; filename=leaderboard.csv"})

    @app.get("/api/tokens")
    def tokens(request: Request) -> JSONResponse:
        principal(request, "admin")
        return JSONResponse(auth.list_tokens(engine))

    @app.post("/api/tokens")
    async def new_token(request: Request) -> JSONResponse:
        await run_in_threadpool(principal, request, "admin")
        spec = parse(TokenCreate, await body_json(request))
        token_id, text = await run_in_threadpool(auth.create_token, engine, spec.user,
                                                 list(spec.scopes))
        return JSONResponse({"id": token_id, "token": text, "scopes": sorted(set(spec.scopes))},
                            201)

    @app.delete("/api/tokens/{token_id}")
    def revoke(token_id: int, request: Request) -> JSONResponse:
        principal(request, "admin")
        if not auth.revoke_token(engine, token_id):
            raise HTTPProblem(404, f"no token {token_id}")
        return JSONResponse({"id": token_id, "revoked": True})

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    pages = Links()

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        principal(request, "read")
        q = request.query_params
        chosen = {k: q.get(k, "")[:200] for k in ("base", "data", "teacher")}
        html = cache.page(("index", *chosen.values()), lambda table: render_index(
            env, pages, table, views.filter_rows(table, **chosen), chosen))
        return HTMLResponse(html)

    @app.get("/model/{name:path}", response_class=HTMLResponse)
    def model(name: str, request: Request) -> HTMLResponse:
        principal(request, "read")
        data = views.model_page(engine, name)
        if data is None:
            raise HTTPProblem(404, f"no model named {name!r}")
        return HTMLResponse(render(env, "model.html", pages, m=data))

    @app.get("/scaling", response_class=HTMLResponse)
    def scaling(request: Request) -> HTMLResponse:
        principal(request, "read")
        return HTMLResponse(cache.page("scaling", lambda table: render(
            env, "scaling.html", pages, figures=plots.scaling(table))))

    @app.get("/style", response_class=HTMLResponse)
    def style(request: Request, x: int | None = None, y: int | None = None) -> HTMLResponse:
        principal(request, "read")
        return HTMLResponse(render(env, "style.html", pages,
                                   s=plots.style_vs_factuality(cache.get(), x, y)))

    @app.get("/judges", response_class=HTMLResponse)
    def judges(request: Request) -> HTMLResponse:
        principal(request, "read")
        return HTMLResponse(render(env, "judges.html", pages, p=plots.judge_panel(engine)))

    return app


def render_index(env: Any, links: Links, table: views.Table, rows: list[views.Row],
                 chosen: dict[str, str]) -> str:
    bases = sorted({r.base for r in table.rows if r.base} | {r.name for r in table.rows
                                                            if r.kind == "base"})
    teachers = sorted({r.teacher for r in table.rows if r.teacher} | {
        r.name for r in table.rows if r.kind == "teacher"})
    datas = sorted({r.data_kind for r in table.rows if r.data_kind})
    return render(env, "index.html", links, table=table, rows=rows, chosen=chosen,
                  bases=bases, teachers=teachers, datas=datas)


def to_csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        # a cell starting with = + - @ would run as a formula in a spreadsheet: quote it
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
    return buf.getvalue()
