"""The routes' dependencies: the app's shared state, the token check (authentication and the
scope it must carry), the write rate limit, and typed JSON bodies read after the token check.

Every failure a client can cause is an :class:`HTTPProblem`: a status and a ``detail`` that
says what was wrong (a list of "field: problem" for a body that fails its schema)."""

from __future__ import annotations

from typing import Annotated, Any, Awaitable, Callable, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError

from leaderboard import auth, strict_json
from leaderboard.parse import PayloadError
from leaderboard.routes.state import Board

M = TypeVar("M", bound=BaseModel)
_bearer = HTTPBearer(auto_error=False, description="a token from `imitation-leaderboard token "
                                                   "create` (only its SHA-256 is stored)")


class HTTPProblem(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        self.status, self.detail, self.headers = status, detail, headers or {}


def validation_messages(err: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()]


def board(request: Request) -> Board:
    return request.app.state.board


BoardDep = Annotated[Board, Depends(board)]


def require(scope: str) -> Callable[..., auth.Principal | None]:
    """A dependency: the principal whose bearer token carries ``scope`` (401 without a valid
    token, 403 when it is revoked or lacks the scope); None when reading a public board."""

    def check(request: Request, lb: BoardDep, _: Annotated[Any, Security(_bearer)]
              ) -> auth.Principal | None:
        if scope == "read" and lb.settings.public_read:
            return None
        try:
            return auth.authenticate(lb.engine, request.headers.get("authorization"), scope)
        except auth.AuthError as err:
            headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else {}
            raise HTTPProblem(err.status, err.message, headers) from None

    check.__name__ = f"require_{scope}"
    return check


READ, PUSH, ADMIN = require("read"), require("push"), require("admin")


def writer(check: Callable[..., auth.Principal | None]) -> Callable[..., auth.Principal]:
    """A dependency for a write route: the principal ``check`` (a :func:`require`) lets in,
    with writes left this minute on its token (--push-per-minute; 429 with Retry-After).
    Every POST/PUT/PATCH/DELETE route depends on one (tests/leaderboard/test_validation.py
    checks each route of the app)."""

    def limit(lb: BoardDep, who: Any = Depends(check)) -> auth.Principal:
        assert who is not None  # write scopes are never public
        wait = lb.push_limit.check(f"token:{who.token_id}")
        if wait:
            raise HTTPProblem(429, "rate limit: too many writes with this token",
                              {"Retry-After": str(int(wait) + 1)})
        return who

    limit.__name__ = f"{getattr(check, '__name__', 'check')}_limited"
    return limit


pusher = writer(PUSH)  # pushes: runs, published numbers, agreement reports
admin_writer = writer(ADMIN)  # token changes


def json_body(model: type[M], after: Callable[..., Any]) -> Callable[..., Awaitable[M]]:
    """A dependency: the request body as ``model``, read only once ``after`` (a token check)
    has passed: at most --max-payload-mb (413), JSON (415, 400), valid (422 naming the field).
    Describe it in the API docs with ``openapi_extra=body_doc(model)``. (Closures name their
    dependencies as defaults: string annotations cannot see a closure's variables.)"""

    async def read(request: Request, lb: BoardDep, _: Any = Depends(after)) -> M:
        data = await _read_json(request, lb.settings.max_payload_bytes)
        try:
            return model.model_validate(data)
        except ValidationError as err:
            raise HTTPProblem(422, validation_messages(err)) from None

    read.__name__ = f"{model.__name__}_body"
    return read


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, f"payload of {int(declared)} bytes exceeds the "
                               f"{limit}-byte limit (--max-payload-mb)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"payload exceeds the {limit}-byte limit (--max-payload-mb)")
        chunks.append(chunk)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise HTTPProblem(415, "send the payload as JSON (Content-Type: application/json)")
    try:
        return strict_json.loads(b"".join(chunks))
    except strict_json.MalformedJSON as err:
        raise HTTPProblem(400, str(err)) from None
    except PayloadError as err:
        raise HTTPProblem(422, [str(err)]) from None


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that describes ``model`` as the route's JSON request body (which
    :func:`json_body` reads itself, after the token check, so FastAPI does not see it)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:  # the nested models' $refs, resolved in place
        if isinstance(node, list):
            return [inline(v) for v in node]
        if not isinstance(node, dict):
            return node
        own = {k: inline(v) for k, v in node.items() if k != "$ref"}
        return {**inline(defs[node["$ref"].rsplit("/", 1)[1]]), **own} if "$ref" in node else own

    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": inline(schema)}}}}
