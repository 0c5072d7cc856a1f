"""Fixtures for the judges tests: an API key in the environment and a client factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from judges.client import OpenAIChatClient
from judges.config import ClientConfig

from tests.judges.fake_key import KEY_ENV, SECRET


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, SECRET)
    return SECRET


@pytest.fixture
def make_client(api_key: str, tmp_path: Path) -> Callable[..., OpenAIChatClient]:
    """A client for a server, with fast retries and (by default) a cache in tmp_path."""
    made: list[OpenAIChatClient] = []

    def make(base_url: str, **overrides: Any) -> OpenAIChatClient:
        settings: dict[str, Any] = dict(base_url=base_url, model="judge-model", api_key_env=KEY_ENV,
                                        concurrency=8, max_retries=3, timeout=5.0,
                                        backoff_base=0.01, backoff_max=5.0,
                                        cache_path=str(tmp_path / "cache.sqlite"))
        settings.update(overrides)
        client = OpenAIChatClient(ClientConfig(**settings))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
