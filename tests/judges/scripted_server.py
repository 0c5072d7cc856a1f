"""A scripted OpenAI-compatible chat server on 127.0.0.1, for fault injection.

A script maps (request body, how many times this request was seen) to a ``Reply``: a status with
headers (429 + Retry-After, 500, 400, 401), a delay (timeouts), a raw malformed body, a refusal,
a truncated reply, or a hold on an event (to kill a client mid-batch). The server counts hits
and delivered replies per request, keyed by the request's model and messages.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def body_key(body: dict[str, Any]) -> str:
    """The server's identity of a request: model + messages."""
    text = json.dumps([body.get("model"), body.get("messages")], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Reply:
    status: int = 200
    text: str | None = "ok"
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    refusal: str | None = None
    usage: tuple[int, int] | None = (100, 20)
    hold: threading.Event | None = None  # wait for it; then drop the connection unanswered


def echo(body: dict[str, Any], seen: int) -> Reply:
    return Reply(text="echo: " + body["messages"][-1]["content"][:40])


class ScriptedServer:
    def __init__(self, script: Callable[[dict[str, Any], int], Reply] = echo) -> None:
        self.script = script
        self.hits: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.times: list[float] = []
        self.in_flight = 0  # requests received and not yet answered
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                key = body_key(body)
                with server.lock:
                    server.hits[key] += 1
                    seen = server.hits[key]
                    server.bodies.append(body)
                    server.auth_headers.append(self.headers.get("Authorization", ""))
                    server.times.append(time.monotonic())
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self._answer(body, key, seen)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any], key: str, seen: int) -> None:
                reply = server.script(body, seen)
                if reply.hold is not None:
                    reply.hold.wait()
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(
                    _payload(body, reply) if reply.status == 200 else
                    {"error": {"message": f"scripted {reply.status}", "type": "scripted"}}
                ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("x-request-id", f"req-{key}-{seen}")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
                if reply.status == 200:
                    with server.lock:
                        server.delivered[key] += 1

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _payload(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.refusal is not None:
        message["refusal"] = reply.refusal
    out: dict[str, Any] = {"id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
                           "model": body.get("model", "scripted"),
                           "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                                        "message": message}]}
    if reply.usage is not None:
        out["usage"] = {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                        "total_tokens": sum(reply.usage)}
    return out
