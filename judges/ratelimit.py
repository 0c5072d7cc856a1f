"""Requests- and tokens-per-minute limiting, and the retry policy (which errors, how long to wait).

The limiter is a pair of token buckets refilled continuously at limit/60 per second, each holding
at most one second's worth, so calls go out smoothly instead of in minute-sized bursts. A call
larger than a bucket may take it below zero; later calls then wait for the debt to refill.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import random
import time
from typing import Callable, Mapping

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404})  # every further call would fail the same way


class _Bucket:
    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (capped at the capacity) is available; 0 when it is."""
        need = min(amount, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate


class RateLimiter:
    def __init__(self, rpm: float | None, tpm: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        now = clock()
        self.requests = _Bucket(rpm, now) if rpm else None
        self.tokens = _Bucket(tpm, now) if tpm else None

    async def acquire(self, tokens: int) -> None:
        buckets = [(b, n) for b, n in ((self.requests, 1), (self.tokens, tokens)) if b is not None]
        if not buckets:
            return
        while True:
            now = self.clock()
            for bucket, _ in buckets:
                bucket.refill(now)
            wait = max(bucket.wait_for(amount) for bucket, amount in buckets)
            if wait <= 0:
                for bucket, amount in buckets:
                    bucket.level -= amount
                return
            await asyncio.sleep(wait)


def _finite_seconds(text: str, scale: float = 1.0) -> float | None:
    try:
        value = float(text) * scale
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, ``retry-after`` seconds or HTTP date.
    A malformed or non-finite value is None: the client's own backoff applies (a bad header
    never aborts a run, nor makes it wait forever)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        seconds = _finite_seconds(value, 1 / 1000)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _finite_seconds(value)
    if seconds is not None:
        return seconds
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # an HTTP date is GMT
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, parsed.timestamp() - time.time())


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None,
                    rng: random.Random) -> float:
    """Exponential backoff with jitter (half fixed, half random), never below Retry-After."""
    delay = min(cap, base * (2 ** attempt))
    delay = delay / 2 + rng.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, retry_after + rng.uniform(0, 0.1 * max(retry_after, 0.1)))
    return delay
