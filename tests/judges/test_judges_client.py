"""The chat client against a scripted OpenAI-compatible server on 127.0.0.1: retries, errors,
cache, cost guard, secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
from pathlib import Path

import pytest

from judges.client import OpenAIChatClient
from judges.config import ClientConfig
from judges.ratelimit import RateLimiter, backoff_seconds, retry_after_seconds
from judges.records import ChatCallError, ChatError, ChatRequest, ChatResult, FatalAPIError
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer, echo


def ask(client: OpenAIChatClient, *texts: str, max_tokens: int = 16, **kwargs) -> list[ChatRequest]:
    return [client.request([{"role": "user", "content": t}], max_tokens=max_tokens, **kwargs)
            for t in texts]


def only(client: OpenAIChatClient, text: str) -> ChatResult | ChatError:
    return client.run_batch(ask(client, text), progress=False)[0]


def test_reply_request_body_and_auth(make_client) -> None:
    with ScriptedServer() as server:
        client = make_client(server.base_url)
        result = only(client, "hello")
        assert isinstance(result, ChatResult)
        assert result.text == "echo: hello" and result.finish_reason == "stop"
        assert result.request_id == "req-" + next(iter(server.hits)) + "-1"
        assert result.usage.prompt_tokens == 100 and not result.cached
        body = server.bodies[0]
        assert body["model"] == "judge-model" and body["max_tokens"] == 16
        assert body["temperature"] == 0.0 and body["messages"] == [{"role": "user", "content": "hello"}]
        assert server.auth_headers == [f"Bearer {SECRET}"]


def test_429_honours_retry_after(make_client) -> None:
    def script(body, seen):
        return Reply(status=429, headers={"Retry-After": "1"}) if seen == 1 else echo(body, seen)

    with ScriptedServer(script) as server:
        result = only(make_client(server.base_url), "busy")
        assert isinstance(result, ChatResult)
        assert sum(server.hits.values()) == 2
        assert server.times[1] - server.times[0] >= 0.95  # waited as told, not the 10 ms backoff


@pytest.mark.parametrize("value", ["soon", "inf", "nan", "Mon, 99 Foo 2026 99:99:99 GMT", "-"])
def test_a_malformed_retry_after_falls_back_to_the_clients_backoff(make_client, value) -> None:
    def script(body, seen):
        return Reply(status=429, headers={"Retry-After": value}) if seen == 1 else echo(body, seen)

    with ScriptedServer(script) as server:
        result = only(make_client(server.base_url), "busy")
        assert isinstance(result, ChatResult) and result.text == "echo: busy"
        assert sum(server.hits.values()) == 2
        assert server.times[1] - server.times[0] < 5  # the own backoff, not forever


def test_500_is_retried_then_succeeds(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(status=500) if seen <= 2 else echo(b, seen)) as server:
        result = only(make_client(server.base_url), "flaky")
        assert isinstance(result, ChatResult) and result.text == "echo: flaky"
        assert sum(server.hits.values()) == 3


def test_retries_are_bounded(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(status=503)) as server:
        error = only(make_client(server.base_url, max_retries=2), "down")
        assert isinstance(error, ChatError)
        assert error.kind == "retries_exhausted" and error.status == 503 and error.attempts == 3
        assert sum(server.hits.values()) == 3


def test_sdk_retries_are_off(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(status=500)) as server:
        error = only(make_client(server.base_url, max_retries=0), "down")
        assert isinstance(error, ChatError) and sum(server.hits.values()) == 1


def test_timeout_is_retried(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(delay=2.0) if seen == 1 else echo(b, seen)) as server:
        result = only(make_client(server.base_url, timeout=0.4), "slow")
        assert isinstance(result, ChatResult) and result.text == "echo: slow"
        assert sum(server.hits.values()) == 2


def test_connection_errors_are_retried_and_bounded(make_client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nothing listens there
    error = only(make_client(f"http://127.0.0.1:{port}/v1", max_retries=2), "anyone?")
    assert isinstance(error, ChatError)
    assert error.kind == "retries_exhausted" and error.attempts == 3
    assert error.status is None  # no HTTP answer at all (the SDK reports a connection or timeout error)


def test_client_error_surfaces_at_once_with_request_id_and_model(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(status=400)) as server:
        client = make_client(server.base_url)
        request = ask(client, "bad")[0]

        async def go():
            try:
                return await client.complete(request)
            finally:
                await client.aclose_http()

        with pytest.raises(ChatCallError) as caught:
            asyncio.run(go())
        assert sum(server.hits.values()) == 1
        message = str(caught.value)
        assert "HTTP 400" in message and "judge-model" in message
        assert f"req-{next(iter(server.hits))}-1" in message
        assert caught.value.error.kind == "rejected"


def test_client_error_names_the_servers_own_reason(make_client) -> None:
    """A 400 whose body is not OpenAI's error shape (transformers serve, FastAPI) still says
    what the server said, not only "Error code: 400"."""
    detail = b'{"detail":"Server is pinned to model-x; requested judge-model."}'
    with ScriptedServer(lambda b, seen: Reply(status=400, raw=detail)) as server:
        result = only(make_client(server.base_url), "bad")
    assert isinstance(result, ChatError) and result.kind == "rejected"
    assert "pinned to model-x" in result.message


def test_auth_error_stops_the_batch(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(status=401)) as server:
        client = make_client(server.base_url, concurrency=2)
        with pytest.raises(FatalAPIError, match="HTTP 401"):
            client.run_batch(ask(client, *[f"q{i}" for i in range(40)]), progress=False)
        assert sum(server.hits.values()) < 40


@pytest.mark.parametrize("raw", [b"{not json", b'{"id": "x", "choices": []}', b'{"choices": [{}]}'])
def test_malformed_reply_is_an_error_not_text(make_client, raw: bytes) -> None:
    with ScriptedServer(lambda b, seen: Reply(raw=raw)) as server:
        client = make_client(server.base_url)
        error = only(client, "garbled")
        assert isinstance(error, ChatError) and error.kind == "bad_reply"
        assert error.request_id is not None
        assert len(client.cache) == 0


def test_cache_makes_a_rerun_free(make_client, tmp_path: Path) -> None:
    with ScriptedServer() as server:
        first = make_client(server.base_url)
        texts = [f"question {i}" for i in range(12)]
        one = first.run_batch(ask(first, *texts), progress=False)
        assert sum(server.hits.values()) == 12 and first.ledger.calls == 12
        second = make_client(server.base_url)
        two = second.run_batch(ask(second, *texts), progress=False)
        assert sum(server.hits.values()) == 12  # no new call
        assert [r.text for r in two] == [r.text for r in one]
        assert all(r.cached for r in two) and second.ledger.cache_hits == 12
        assert second.ledger.calls == 0 and second.ledger.spent == 0
        # one more question: only it is sent
        second.run_batch(ask(second, *texts, "new one"), progress=False)
        assert sum(server.hits.values()) == 13


def test_cache_key_covers_everything_that_changes_a_reply() -> None:
    base = ChatRequest.make("m", [{"role": "user", "content": "q"}], max_tokens=8, prompt_version="p@v1")
    variants = [
        ChatRequest.make("m2", [{"role": "user", "content": "q"}], max_tokens=8, prompt_version="p@v1"),
        ChatRequest.make("m", [{"role": "user", "content": "q2"}], max_tokens=8, prompt_version="p@v1"),
        ChatRequest.make("m", [{"role": "user", "content": "q"}], max_tokens=9, prompt_version="p@v1"),
        ChatRequest.make("m", [{"role": "user", "content": "q"}], max_tokens=8, prompt_version="p@v2"),
        ChatRequest.make("m", [{"role": "user", "content": "q"}], max_tokens=8, prompt_version="p@v1",
                         temperature=0.7),
        ChatRequest.make("m", [{"role": "user", "content": "q"}], max_tokens=8, prompt_version="p@v1",
                         seed=3),
    ]
    keys = {base.cache_key("http://a/v1")} | {v.cache_key("http://a/v1") for v in variants}
    assert len(keys) == 1 + len(variants)
    assert base.cache_key("http://a/v1") != base.cache_key("http://b/v1")
    assert base.cache_key("http://a/v1/") == base.cache_key("http://a/v1")


def test_identical_requests_in_flight_are_sent_once(make_client) -> None:
    with ScriptedServer(lambda b, seen: Reply(text="same", delay=0.2)) as server:
        client = make_client(server.base_url, cache_path=None)
        results = client.run_batch(ask(client, *["dup"] * 5), progress=False)
        assert [r.text for r in results] == ["same"] * 5
        assert sum(server.hits.values()) == 1


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_requests_on_the_wire_never_exceed_concurrency(make_client, backend: str) -> None:
    """Calls build their requests ahead (admission is twice the concurrency) but the HTTP slots
    held inside the transport keep the server's view at exactly ``concurrency`` at most."""
    with ScriptedServer(lambda b, seen: Reply(text="ok", delay=0.05)) as server:
        client = make_client(server.base_url, cache_path=None, concurrency=4, http_backend=backend)
        results = client.run_batch(ask(client, *[f"q{i}" for i in range(40)]), progress=False)
        assert [r.text for r in results] == ["ok"] * 40
        assert server.most_in_flight == 4


@pytest.mark.parametrize("concurrency", [1, 8])
def test_cost_guard_stops_before_the_limit(make_client, tmp_path: Path, concurrency: int) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices": {"judge-model": {"input": 1000, "output": 1000}}}))
    with ScriptedServer(lambda b, seen: Reply(text="ok", usage=(5, 5))) as server:
        client = make_client(server.base_url, concurrency=concurrency, prices_file=str(prices),
                             max_cost=0.05)
        results = client.run_batch(ask(client, *[f"q{i}" for i in range(10)], max_tokens=10),
                                   progress=False)
        # each call costs 10 tokens * $1000/M = $0.01; its bound is (2 bytes + 16) + 10 tokens = $0.028
        paid = [r for r in results if isinstance(r, ChatResult)]
        refused = [r for r in results if isinstance(r, ChatError)]
        assert len(paid) == 3 and sum(server.hits.values()) == 3
        assert {r.kind for r in refused} == {"budget"} and len(refused) == 7
        assert client.ledger.spent == pytest.approx(0.03) and client.ledger.spent <= 0.05
        assert all(r.cost == pytest.approx(0.01) for r in paid)


def test_cost_guard_needs_a_price(api_key: str) -> None:
    with pytest.raises(ValueError, match="needs a price for model 'mystery'"):
        OpenAIChatClient(ClientConfig(base_url="http://127.0.0.1:9/v1", model="mystery",
                                      api_key_env=KEY_ENV, max_cost=1.0))


def test_missing_key_is_a_clear_error(make_client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with ScriptedServer() as server:
        with pytest.raises(ValueError, match=f"environment variable {KEY_ENV} is not set"):
            only(make_client(server.base_url), "hi")
        assert not server.hits


def test_secret_never_logged_nor_stored(make_client, caplog: pytest.LogCaptureFixture,
                                        tmp_path: Path) -> None:
    def script(body, seen):
        text = body["messages"][-1]["content"]
        if text == "rate" and seen == 1:
            return Reply(status=429, headers={"retry-after-ms": "50"})
        if text == "down":
            return Reply(status=500)
        if text == "bad":
            return Reply(status=400)
        return echo(body, seen)

    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    with ScriptedServer(script) as server:
        client = make_client(server.base_url, max_retries=1)
        results = client.run_batch(ask(client, "fine", "rate", "down", "bad"), progress=False)
        client.close()
        assert server.auth_headers and all(SECRET in h for h in server.auth_headers)
    assert caplog.records and SECRET not in caplog.text
    assert SECRET not in repr(client) and SECRET not in repr(client.config)
    assert all(SECRET not in str(r) for r in results)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("cache.sqlite*"))
    assert b"echo: fine" in stored and SECRET.encode() not in stored


def test_rate_limiter_spaces_requests_and_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds
        await real_sleep(0)

    monkeypatch.setattr("judges.ratelimit.asyncio.sleep", fake_sleep)

    async def go() -> None:
        per_request = RateLimiter(rpm=60, tpm=None, clock=lambda: now[0])
        for _ in range(5):
            await per_request.acquire(1)
        assert now[0] == pytest.approx(4.0)  # one at once, then one a second
        now[0] = 0.0
        per_token = RateLimiter(rpm=None, tpm=600, clock=lambda: now[0])
        await per_token.acquire(25)  # bigger than the 10-token bucket: goes into debt
        assert now[0] == 0.0
        await per_token.acquire(5)  # waits for the 15-token debt + 5 at 10 tokens/s
        assert now[0] == pytest.approx(2.0)

    asyncio.run(go())


def test_retry_after_and_backoff() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == pytest.approx(0.25)
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({}) is None
    for bad in ("soon", "inf", "-inf", "nan", "1e999", "Mon, 99 Foo 2026 99:99:99 GMT"):
        assert retry_after_seconds({"retry-after": bad}) is None, bad
        assert retry_after_seconds({"retry-after-ms": bad}) is None, bad
    rng = random.Random(0)
    delays = [backoff_seconds(a, 1.0, 8.0, None, rng) for a in range(6)]
    assert all(0.5 * min(8, 2 ** a) <= d <= min(8, 2 ** a) for a, d in enumerate(delays))
    assert backoff_seconds(0, 1.0, 8.0, 5.0, rng) >= 5.0


def test_client_works_from_another_thread(make_client) -> None:
    with ScriptedServer() as server:
        client = make_client(server.base_url)
        out: list = []
        thread = threading.Thread(target=lambda: out.extend(client.run_batch(ask(client, "t"), progress=False)))
        thread.start()
        thread.join(10)
        assert out and out[0].text == "echo: t"


def test_run_batch_works_inside_a_running_event_loop(make_client) -> None:
    """As in a notebook: the one sync-over-async helper (run_sync) moves to a worker thread."""
    with ScriptedServer() as server:
        client = make_client(server.base_url)

        async def notebook_cell() -> list:
            return client.run_batch(ask(client, "t"), progress=False)

        out = asyncio.run(notebook_cell())
        assert out[0].text == "echo: t"
