"""Pairwise judge runs against real model servers on 127.0.0.1 serving SmolLM2-135M-Instruct:
`transformers serve` (transformers' own OpenAI-compatible server, in a subprocess) and the
test suite's small model-backed server. A 135M model is no judge: its verdicts are mostly
unscored or arbitrary, so this checks the plumbing, not the quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from judges.client import OpenAIChatClient
from judges.config import ClientConfig
from judges.metrics import win_rates
from judges.pairwise import PairItem, PairwiseJudge, summarize_pairs
from judges.testing_chat_server import ChatModel, serve
from tests.judges.fake_key import KEY_ENV
from tests.support.transformers_serve import TransformersServe

ITEMS = [PairItem("sum", "What is 2 + 3?", "5", "6")]


def _judge_twice(base_url: str, model_name: str, cache: Path, requests_seen) -> None:
    """Judge ITEMS in both orders, then again from the cache; `requests_seen()` counts the
    chat calls the server answered."""
    config = ClientConfig(base_url=base_url, model=model_name, api_key_env=KEY_ENV,
                          concurrency=4, max_retries=1, timeout=120, cache_path=str(cache))
    verdicts = PairwiseJudge(OpenAIChatClient(config), model_name, max_tokens=12).judge(ITEMS)
    assert requests_seen() == 2  # both orders, one batch
    for verdict in verdicts:
        assert verdict.outcome in ("win", "loss", "tie", "inconsistent", "unscored")
        for judgment in (verdict.candidate_first, verdict.candidate_second):
            assert judgment.error is None and judgment.text  # the model did reply
            assert (judgment.side is None) == (judgment.unscored is not None)
            assert judgment.unscored in (None, "no_decision", "truncated", "ambiguous", "refusal")
    summary = summarize_pairs(verdicts)
    assert sum(summary["outcomes"].values()) == 1
    rates = win_rates([v.outcome for v in verdicts], n_boot=100)
    assert rates.scored + rates.unscored == 1
    # a second run is served from the cache: the model is not asked again
    again = PairwiseJudge(OpenAIChatClient(config), model_name, max_tokens=12).judge(ITEMS)
    assert requests_seen() == 2
    assert [v.outcome for v in again] == [v.outcome for v in verdicts]
    assert all(v.candidate_first.cached for v in again)


@pytest.mark.slow
def test_pairwise_judge_on_transformers_serve(smollm2_dir: Path, tmp_path: Path,
                                              api_key: str) -> None:
    server = TransformersServe(smollm2_dir)
    try:
        _judge_twice(server.base_url, server.model_name, tmp_path / "cache.sqlite",
                     server.chat_requests)
        assert api_key not in server.log()  # the key travels in a header, never logged
    finally:
        server.close()


@pytest.mark.slow
def test_pairwise_judge_on_a_real_model(smollm2_dir: Path, tmp_path: Path, api_key: str) -> None:
    model = ChatModel(smollm2_dir)
    server, url = serve(model)
    try:
        _judge_twice(url.rsplit("/chat/completions", 1)[0], "smollm2", tmp_path / "cache.sqlite",
                     lambda: len(model.requests))
        assert all(r["max_tokens"] == 12 and r["messages"][0]["role"] == "system"
                   for r in model.requests)
    finally:
        server.shutdown()
