"""imitation-eval drives lm-eval's API backends: a real OpenAI-compatible server on 127.0.0.1
(backed by the real SmolLM2-135M-Instruct) answers lm-eval's local-chat-completions model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tasks.runner import RunConfig, model_args_for, run
from judges.testing_chat_server import ChatModel, serve


def test_api_backend_model_args_untouched() -> None:
    """API backends get their model args verbatim: no preset is resolved or built."""
    cfg = RunConfig(model="local-chat-completions",
                    model_args="model=gpt-4o-mini,base_url=http://127.0.0.1:9/v1/chat/completions")
    assert model_args_for(cfg) == {"model": "gpt-4o-mini",
                                   "base_url": "http://127.0.0.1:9/v1/chat/completions"}


@pytest.mark.slow
def test_local_chat_completions_through_imitation_eval(tmp_path: Path, smollm2_dir: Path) -> None:
    model = ChatModel(smollm2_dir)
    server, url = serve(model)
    try:
        out = run(RunConfig(
            model="local-chat-completions",
            model_args=f"model=smollm2,base_url={url},num_concurrent=1,max_retries=1",
            tasks="imitation_nq_open_chat_lite", apply_chat_template=True, limit=3,
            output_dir=str(tmp_path)))
    finally:
        server.shutdown()
    assert len(model.requests) == 3
    assert all(r["messages"][-1]["role"] == "user" for r in model.requests)
    metrics = out.results["results"]["imitation_nq_open_chat_lite"]
    assert 0.0 <= metrics["exact_match,none"] <= 1.0
    rows = [json.loads(x) for x in
            (out.folder / "samples_imitation_nq_open_chat_lite.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["resps"][0][0] for r in rows)
