"""The chat-completion seam and its implementation on the official ``openai`` SDK.

``ChatClient`` is the seam: anything with ``async complete(request) -> ChatResult``. Judges and
teacher collection (``imitation_train.collect``) take one as an argument; tests pass a client
pointed at a scripted local server. ``OpenAIChatClient`` wraps ``AsyncOpenAI(base_url, api_key)`` with what a paid
batch job needs: bounded concurrency, an RPM/TPM limiter, bounded retries on retryable errors
only (the SDK's own retries are switched off so there is one policy), a persistent reply cache,
cost accounting with a max-cost guard, and a progress bar. The API key is read from the
environment when the SDK client is built and is held only by it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Protocol, Sequence, runtime_checkable

from judges.cache import ReplyCache
from judges.config import ClientConfig
from judges.pricing import Ledger, PriceTable
from judges.ratelimit import (FATAL_STATUS, RETRYABLE_STATUS, RateLimiter, backoff_seconds,
                              retry_after_seconds)
from judges.records import (ChatCallError, ChatError, ChatRequest, ChatResult, FatalAPIError,
                            Usage)

log = logging.getLogger(__name__)


@runtime_checkable
class ChatClient(Protocol):
    async def complete(self, request: ChatRequest) -> ChatResult: ...


# Connections per SDK client. httpx's pool scans every connection on each request, so one pool
# of 64 connections costs more CPU per call than the call itself at low latency; several small
# pools (requests spread round-robin) keep that flat. aiohttp's pool has no such scan.
CONNECTIONS_PER_POOL = {"httpx": 8, "aiohttp": 64}
# Calls that may be past admission (building or sending a request) per HTTP slot: one on the
# wire, one built and waiting for the slot to free.
BUILD_AHEAD = 2


def _http_clients(config: ClientConfig) -> list[Callable[[], Any]]:
    """Factories of the SDK's HTTP clients for ``config.http_backend``, one per pool.

    ``aiohttp`` is the SDK's own optional backend (``openai[aiohttp]``, ``DefaultAioHttpClient``),
    recommended by the SDK for high concurrency; ``auto`` takes it when aiohttp is installed.
    """
    import openai

    backend = config.http_backend
    if backend == "auto":
        usable = hasattr(openai, "DefaultAioHttpClient") and importlib.util.find_spec("aiohttp")
        backend = "aiohttp" if usable else "httpx"
    timeout = config.timeout
    base = openai.DefaultAioHttpClient if backend == "aiohttp" else openai.DefaultAsyncHttpxClient
    slotted = _slotted(base)

    def factory(slots: asyncio.Semaphore) -> Any:
        client = slotted(timeout=timeout)
        client.slots = slots
        return client

    n_pools = -(-config.concurrency // CONNECTIONS_PER_POOL[backend])
    return [factory] * n_pools


def _slotted(base: type) -> type:
    """``base`` (the SDK's httpx ``AsyncClient`` class) whose ``send`` holds one of the event
    loop's HTTP slots for exactly as long as the request is on the wire.

    ``send`` is httpx's public seam for one HTTP exchange; the SDK calls it with a request it
    has already built and, for a non-streamed call, returns once the body has been read. Holding
    the slot there, rather than around the whole SDK call, keeps the SDK's request building and
    reply wrapping (about 0.3 ms of CPU a call) out of the slot: when a reply lands, the next
    request, already built, goes out at once instead of after the SDK's bookkeeping for a
    whole burst of replies. In-flight HTTP requests stay bounded by ``concurrency``.
    """

    class Slotted(base):  # type: ignore[misc, valid-type]
        slots: asyncio.Semaphore

        async def send(self, request: Any, **kwargs: Any) -> Any:
            async with self.slots:
                response = await super().send(request, **kwargs)
            # Yield once: the request waiting for the slot just freed goes out before this
            # reply's bookkeeping runs (asyncio runs ready callbacks in order).
            await asyncio.sleep(0)
            return response

    Slotted.__name__ = Slotted.__qualname__ = f"Slotted{base.__name__}"
    return Slotted


@dataclass
class _LoopState:
    """What must belong to one event loop: the SDK clients (HTTP pools) and the semaphores.

    ``slots`` bounds the HTTP requests on the wire (``concurrency``; held inside the HTTP
    client's ``send``); ``admission`` lets BUILD_AHEAD times as many calls in, so that each
    freed slot is taken by a request that is already built.
    """

    loop: asyncio.AbstractEventLoop
    pools: list[Any]
    slots: asyncio.Semaphore
    admission: asyncio.Semaphore
    response_type: type
    settled: asyncio.Event
    turn: int = 0

    def next_pool(self) -> Any:
        self.turn = (self.turn + 1) % len(self.pools)
        return self.pools[self.turn]


@dataclass(frozen=True)
class _Retry:
    """A retryable failure of one attempt."""

    reason: str
    status: int | None
    request_id: str | None
    retry_after: float | None


def _estimate_tokens(request: ChatRequest) -> int:
    """Rough prompt tokens (4 characters a token) plus the completion allowance, for TPM."""
    return request.prompt_chars() // 4 + 4 * len(request.messages) + (request.max_tokens or 256)


class OpenAIChatClient:
    def __init__(self, config: ClientConfig, *, prices: PriceTable | None = None,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.prices = prices or PriceTable.load(config.prices_file)
        if config.max_cost is not None and self.prices.lookup(config.model) is None:
            raise ValueError(f"--max-cost needs a price for model {config.model!r}: add it to a "
                             f"prices file (--prices-file; see {self.prices.source})")
        self.ledger = Ledger(self.prices, config.max_cost)
        self.cache = ReplyCache(config.cache_path) if config.cache_path else None
        self.limiter = RateLimiter(config.rpm, config.tpm)
        self.rng = rng or random.Random()
        self._state: _LoopState | None = None
        self._inflight: dict[str, asyncio.Future[ChatResult]] = {}

    @property
    def _admitted(self) -> int:
        """Calls let in at once: BUILD_AHEAD per HTTP slot."""
        return BUILD_AHEAD * self.config.concurrency

    def __repr__(self) -> str:
        return (f"OpenAIChatClient(base_url={self.base_url!r}, model={self.config.model!r}, "
                f"cache={self.cache!r})")

    def request(self, messages: list[dict[str, str]], **kwargs: Any) -> ChatRequest:
        """A request for this client's model."""
        return ChatRequest.make(self.config.model, messages, **kwargs)

    # -- the seam -------------------------------------------------------------------------
    async def complete(self, request: ChatRequest) -> ChatResult:
        """The reply, from the cache when this exact request was paid for before.

        Raises :class:`ChatCallError` (``FatalAPIError`` for 401/403/404) naming the model and
        the request id; never returns an error as text.
        """
        return await self._complete(request, request.cache_key(self.base_url))

    async def _complete(self, request: ChatRequest, key: str, *, looked_up: bool = False,
                        reservation: float | None = None) -> ChatResult:
        """``reservation``: the call's cost bound, already reserved (by :meth:`_admit_all`);
        None: the call reserves its own."""
        if self.cache is not None and not looked_up:
            hit = self.cache.get(key)
            if hit is not None:
                self.ledger.cache_hits += 1
                return hit
        pending = self._inflight.get(key)
        if pending is not None:  # the same request is already on its way: share its reply
            if reservation is not None:
                self._release(reservation)
            return await asyncio.shield(pending)
        future: asyncio.Future[ChatResult] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._inflight[key] = future
        try:
            result = await self._call(request, reservation)
            if self.cache is not None:
                await self.cache.aput(key, request, result)  # committed before anyone sees it
            future.set_result(result)
            return result
        except Exception as err:
            future.set_exception(err)
            raise
        except BaseException:  # cancelled: whoever shares this call is cancelled too
            future.cancel()
            raise
        finally:
            del self._inflight[key]

    # -- batches --------------------------------------------------------------------------
    async def arun_batch(self, requests: Sequence[ChatRequest], *, progress: bool = True,
                         desc: str = "chat", groups: Sequence[Sequence[int]] | None = None
                         ) -> list[ChatResult | ChatError]:
        """All replies, in order; a failed call is a :class:`ChatError` in its slot.

        ``groups``: indices of requests sent together or not at all under ``max_cost`` (both
        orders of a pair): a group goes out only when the worst-case cost of all its uncached
        calls fits, so a budget stop never leaves a group half judged; refused, each of its
        calls is a ChatError of kind "budget" (a rerun with more budget and the same cache
        sends them). A fatal error (bad key, unknown model, no such endpoint) cancels the batch
        and raises.
        """
        from tqdm.auto import tqdm

        results: list[ChatResult | ChatError | None] = [None] * len(requests)
        keys = [request.cache_key(self.base_url) for request in requests]
        distinct = set(keys)
        bar = tqdm(total=len(distinct), desc=desc, unit="call", disable=not progress,
                   dynamic_ncols=True)
        hits = self.cache.get_many(list(distinct)) if self.cache is not None else {}
        first: dict[str, int] = {}  # one call per distinct request; duplicates share its reply
        for i, key in enumerate(keys):
            if key in hits:
                results[i] = hits[key]
            else:
                first.setdefault(key, i)
        self.ledger.cache_hits += sum(r is not None for r in results)
        bar.update(len(hits))

        def done(i: int, result: ChatResult | ChatError) -> None:
            results[i] = result
            bar.update(1)
            if bar.n % 16 == 0 or bar.n == len(distinct):
                bar.set_postfix(cost=f"${self.ledger.spent:.4f}", cached=self.ledger.cache_hits,
                                refresh=False)

        try:
            await self._send(requests, keys, _units(list(first.values()), groups), done)
        finally:
            bar.close()
        for i, key in enumerate(keys):
            if results[i] is None:
                results[i] = results[first[key]]
        log.info("batch of %d: %s", len(requests), self.ledger.summary())
        return [r for r in results if r is not None]

    async def _send(self, requests: Sequence[ChatRequest], keys: list[str],
                    units: list[list[int]],
                    done: Callable[[int, ChatResult | ChatError], None]) -> None:
        """Make the calls of ``units`` (each unit admitted under max_cost as a whole), handing
        each reply or error to ``done``; a fatal error cancels the rest and is raised."""

        async def one(i: int, reservation: float | None) -> None:
            try:
                done(i, await self._complete(requests[i], keys[i], looked_up=True,
                                             reservation=reservation))
            except FatalAPIError:
                raise
            except ChatCallError as err:
                done(i, err.error)

        async def unit(indices: list[int]) -> None:
            if len(indices) == 1:
                return await one(indices[0], None)
            try:
                reserved = await self._admit_all([requests[i] for i in indices])
            except ChatCallError as err:  # over budget: none of the group is sent
                for i in indices:
                    done(i, err.error)
                return
            await gather_or_cancel(one(i, r) for i, r in zip(indices, reserved))

        # A fixed set of workers takes the units in order (as many as _LoopState.admission lets
        # in) rather than one task per call: a batch of thousands then starts sending at once
        # instead of first stepping every task.
        todo = iter(units)

        async def worker() -> None:
            for indices in todo:
                await unit(indices)

        await gather_or_cancel(worker() for _ in range(min(len(units), self._admitted)))

    def run_batch(self, requests: Sequence[ChatRequest], *, progress: bool = True,
                  desc: str = "chat") -> list[ChatResult | ChatError]:
        """Synchronous :meth:`arun_batch` (:func:`run_sync`: its own event loop; closes the
        HTTP pool after)."""
        return run_sync(self, self.arun_batch(requests, progress=progress, desc=desc))

    async def aclose_http(self) -> None:
        if self._state is not None:
            for pool in self._state.pools:
                await pool.close()
            self._state = None

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # -- one call, with retries ----------------------------------------------------------
    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            from openai import AsyncOpenAI

            api_key = self.config.api_key()
            slots = asyncio.Semaphore(self.config.concurrency)
            pools = [AsyncOpenAI(base_url=self.base_url, api_key=api_key, max_retries=0,
                                 timeout=self.config.timeout, http_client=http_client(slots))
                     for http_client in _http_clients(self.config)]
            self._state = _LoopState(loop, pools, slots,
                                     asyncio.Semaphore(self._admitted),
                                     _http_response_type(), asyncio.Event())
        return self._state

    def _error(self, request: ChatRequest, kind: str, message: str, attempts: int, *,
               status: int | None = None, request_id: str | None = None) -> ChatCallError:
        error = ChatError(kind=kind, message=message, model=request.model,  # type: ignore[arg-type]
                          request_id=request_id, status=status, attempts=attempts)
        return (FatalAPIError if status in FATAL_STATUS else ChatCallError)(error)

    async def _call(self, request: ChatRequest, reservation: float | None = None) -> ChatResult:
        """Send with retries: 429, 5xx, timeouts and connection errors only, with backoff.
        ``reservation``: the cost bound already reserved for it (else reserved here)."""
        state = self._loop_state()
        if reservation is None:
            reservation = await self._admit(request, state)
        settled = False
        try:
            for attempt in range(1, self.config.max_retries + 2):
                await self.limiter.acquire(_estimate_tokens(request))
                outcome = await self._attempt(state, request, attempt)
                if not isinstance(outcome, _Retry):
                    data, request_id = outcome
                    result = self._result(request, data, reservation, attempt, request_id)
                    settled = True  # _result booked the cost
                    return result
                if attempt > self.config.max_retries or (
                        outcome.retry_after is not None
                        and outcome.retry_after > self.config.backoff_max):
                    raise self._error(request, "retries_exhausted", outcome.reason, attempt,
                                      status=outcome.status, request_id=outcome.request_id)
                delay = backoff_seconds(attempt - 1, self.config.backoff_base,
                                        self.config.backoff_max, outcome.retry_after, self.rng)
                log.warning("model %s: %s; retry %d/%d in %.2fs", request.model, outcome.reason,
                            attempt, self.config.max_retries, delay)
                await asyncio.sleep(delay)
            raise AssertionError("unreachable")
        finally:
            if not settled:
                self.ledger.settle(reservation, request, None)
            state.settled.set()  # wake calls waiting for room under max_cost
            state.settled = asyncio.Event()

    async def _attempt(self, state: _LoopState, request: ChatRequest,
                       attempt: int) -> tuple[Any, str | None] | _Retry:
        """One HTTP call: (JSON body, request id), a :class:`_Retry`, or a raised error."""
        import openai

        request_id = None
        try:
            async with state.admission:
                raw = await state.next_pool().post("/chat/completions", body=request.body(),
                                                   cast_to=state.response_type)
            # Yield again before reading and storing the reply: the call let in by the admission
            # just freed builds its request first, so a built request is ready for the next slot
            # (without this, 0.938 instead of 0.956 of the ideal at 0.2 s in the benchmark).
            await asyncio.sleep(0)
            request_id = raw.headers.get("x-request-id")
            return raw.json(), request_id
        except openai.APIStatusError as err:
            reason = f"HTTP {err.status_code}: {_status_detail(err)}"
            if err.status_code not in RETRYABLE_STATUS:
                raise self._error(request, "rejected", reason, attempt, status=err.status_code,
                                  request_id=err.request_id) from None
            return _Retry(reason, err.status_code, err.request_id,
                          retry_after_seconds(err.response.headers))
        except ValueError as err:  # a 200 whose body is not JSON
            raise self._error(request, "bad_reply", f"unreadable reply: {err}", attempt,
                              request_id=request_id) from None
        except openai.APIConnectionError as err:  # includes APITimeoutError
            return _Retry(f"{type(err).__name__}: {err.message}", None, None, None)

    async def _admit(self, request: ChatRequest, state: _LoopState) -> float:
        """Reserve the call's cost bound under max_cost, waiting while calls in flight settle."""
        return (await self._admit_all([request], state))[0]

    async def _admit_all(self, requests: Sequence[ChatRequest],
                         state: _LoopState | None = None) -> list[float]:
        """Reserve the cost bounds of calls sent together (both orders of a pair) under
        max_cost: all of them or, when even with nothing in flight their worst case could pass
        the limit, none (a "budget" ChatCallError); waits while calls in flight settle."""
        state = state or self._loop_state()
        while True:
            status, bounds = self.ledger.check_all(requests)
            if status == "ok":
                return [self.ledger.reserve(bound) for bound in bounds]
            if status == "never":
                what = "its cost bound" if len(requests) == 1 else (
                    f"the cost bound of its {len(requests)} calls sent together")
                raise self._error(requests[0], "budget", f"not sent: {what} ${sum(bounds):.4f} "
                                  f"could take the spend past max_cost=${self.config.max_cost} "
                                  f"(spent ${self.ledger.spent:.4f})", 0)
            await state.settled.wait()

    def _release(self, reservation: float) -> None:
        """Give back a reservation that no call used, waking calls waiting for room."""
        self.ledger.reserved -= reservation
        if self._state is not None:
            self._state.settled.set()
            self._state.settled = asyncio.Event()

    def _result(self, request: ChatRequest, data: Any, reservation: float,
                attempts: int, request_id: str | None) -> ChatResult:
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (KeyError, IndexError, TypeError, AttributeError) as err:
            raise self._error(request, "bad_reply", f"not a chat completion ({err!r})", attempts,
                              request_id=request_id) from None
        raw_usage = data.get("usage") or None
        usage = Usage()
        if isinstance(raw_usage, dict):
            usage = Usage(prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
                          completion_tokens=int(raw_usage.get("completion_tokens") or 0))
        cost = self.ledger.settle(reservation, request, usage,
                                  usage_known=isinstance(raw_usage, dict))
        if cost is not None and self.ledger.max_cost is not None and cost > reservation * 1.0001:
            log.warning("model %s: the server reported usage costing $%.6f, more than the call's "
                        "bound $%.6f; max_cost holds only if replies stay within max_tokens",
                        request.model, cost, reservation)
        return ChatResult(text=text, usage=usage, cost=cost, request_id=request_id, cached=False,
                          finish_reason=choice.get("finish_reason"), refusal=message.get("refusal"))


def _units(calls: list[int], groups: Sequence[Sequence[int]] | None) -> list[list[int]]:
    """The calls of a batch (indices, in order) as units admitted together: each group's
    calls that are still to be made (not cached, not a duplicate), then every other call
    alone."""
    if groups is None:
        return [[i] for i in calls]
    left = dict.fromkeys(calls)
    units = []
    for group in groups:
        unit = [i for i in group if i in left]
        for i in unit:
            del left[i]
        if unit:
            units.append(unit)
    return units + [[i] for i in left]


def _status_detail(err: Any) -> str:
    """The server's own words for an error status: the SDK's message, or, when the body was not
    OpenAI's error shape (the SDK then says only "Error code: 400"), the body itself, cut short."""
    message = str(getattr(err, "message", "") or "")
    if message.startswith("Error code:"):
        try:
            text = err.response.text.strip()
        except Exception:  # a streamed or unreadable body: keep the SDK's message
            text = ""
        if text:
            return f"{message}: {text[:500]}"
    return message


def _http_response_type() -> type:
    """The SDK's HTTP response class, asked for as ``cast_to`` to read headers and JSON.

    We post the body through the SDK's generic ``post`` (its documented way to send any request)
    rather than ``chat.completions.create``: that skips the per-call parameter transform and
    pydantic model building, which cost about 1 ms of CPU per call and capped throughput at
    high concurrency; status errors, auth headers and timeouts are still the SDK's.
    """
    try:
        import httpx2 as httpx_module  # the transport of openai >= 3
    except ImportError:  # pragma: no cover - openai 1.x/2.x
        import httpx as httpx_module  # type: ignore[no-redef]
    return httpx_module.Response


async def gather_or_cancel(coroutines: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run the coroutines concurrently; if one raises, cancel the others (and wait for them to
    finish cancelling) before re-raising, so no call is left running unobserved."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def complete_all(client: ChatClient, requests: Sequence[ChatRequest], *,
                       progress: bool = False, desc: str = "chat",
                       groups: Sequence[Sequence[int]] | None = None
                       ) -> list[ChatResult | ChatError]:
    """Every request's reply or error, concurrently, through any :class:`ChatClient`.

    Uses the client's own ``arun_batch`` (progress bar, bulk cache look-up; ``groups`` sent
    together or not at all under its max-cost guard) when it has one.
    """
    batch = getattr(client, "arun_batch", None)
    if batch is not None:
        return await (batch(requests, progress=progress, desc=desc) if groups is None else
                      batch(requests, progress=progress, desc=desc, groups=groups))

    async def one(request: ChatRequest) -> ChatResult | ChatError:
        try:
            return await client.complete(request)
        except FatalAPIError:
            raise
        except ChatCallError as err:
            return err.error

    return list(await gather_or_cancel(one(r) for r in requests))


def run_sync(client: ChatClient | None, coroutine: Any) -> Any:
    """Run ``coroutine`` to completion in a fresh event loop and close the client's HTTP pools
    after: the one way synchronous code here waits on async work. When a loop is already
    running in this thread (a notebook), the fresh loop runs in a worker thread, since
    ``asyncio.run`` refuses to nest."""

    async def go() -> Any:
        try:
            return await coroutine
        finally:
            close = getattr(client, "aclose_http", None)
            if close is not None:
                await close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(go())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()
