"""One pairwise judge run against a real model server (SmolLM2-135M-Instruct behind an
OpenAI-compatible endpoint on 127.0.0.1). A 135M model is no judge: its verdicts are mostly
unscored or arbitrary, so this checks the plumbing, not the quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from judges.client import OpenAIChatClient
from judges.config import ClientConfig
from judges.metrics import win_rates
from judges.pairwise import PairItem, PairwiseJudge, summarize_pairs
from tests.judges.fake_key import KEY_ENV
from tests.support.openai_server import ChatModel, serve

ITEMS = [PairItem("sum", "What is 2 + 3?", "5", "6")]


@pytest.mark.slow
def test_pairwise_judge_on_a_real_model(smollm2_dir: Path, tmp_path: Path, api_key: str) -> None:
    model = ChatModel(smollm2_dir)
    server, url = serve(model)
    try:
        config = ClientConfig(base_url=url.rsplit("/chat/completions", 1)[0], model="smollm2",
                              api_key_env=KEY_ENV, concurrency=4, max_retries=1, timeout=120,
                              cache_path=str(tmp_path / "cache.sqlite"))
        client = OpenAIChatClient(config)
        judge = PairwiseJudge(client, "smollm2", max_tokens=12)
        verdicts = judge.judge(ITEMS)
        assert len(model.requests) == 2  # both orders, one batch
        assert all(r["max_tokens"] == 12 and r["messages"][0]["role"] == "system"
                   for r in model.requests)
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
        again = PairwiseJudge(OpenAIChatClient(config), "smollm2", max_tokens=12).judge(ITEMS)
        assert len(model.requests) == 2
        assert [v.outcome for v in again] == [v.outcome for v in verdicts]
        assert all(v.candidate_first.cached for v in again)
    finally:
        server.shutdown()
