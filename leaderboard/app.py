"""The FastAPI app: ``create_app(settings, engine)``. JSON API under /api (bearer tokens with
scopes, rate limits, strict validation), server-rendered pages elsewhere; the routes live in
``leaderboard.routes`` (api, tokens, pages), which lists them."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from leaderboard.db import make_engine
from leaderboard.render import STATIC
from leaderboard.routes import api, pages, study, tokens
from leaderboard.routes.deps import HTTPProblem
from leaderboard.routes.state import Board
from leaderboard.settings import Settings

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY"}


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = engine or make_engine(settings.db)
    app = FastAPI(title="imitation-suite leaderboard", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings, app.state.engine = settings, engine
    app.state.board = Board.build(settings, engine)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_exception_handler(HTTPProblem, problem)
    app.middleware("http")(guard)
    for module in (api, tokens, pages, study):
        app.include_router(module.router)
    app.add_api_route("/healthz", health, methods=["GET"])
    return app


async def problem(_: Request, exc: HTTPProblem) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)


async def guard(request: Request, call_next):  # noqa: ANN001, ANN201
    """Requests per client address under /api/ (429 with Retry-After beyond the limit), and the
    security headers on every response."""
    if request.url.path.startswith("/api/") and request.client is not None:
        wait = request.app.state.board.ip_limit.check(f"ip:{request.client.host}")
        if wait:
            return JSONResponse({"detail": "rate limit: too many requests from this address"},
                                429, headers={"Retry-After": str(int(wait) + 1)})
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def health() -> dict[str, str]:
    return {"status": "ok"}
