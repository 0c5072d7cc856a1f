"""Shared fixtures: the offline data directory, the embedded preset, and a tiny random model.

Tests run offline: IMITATION_SUITE_DATA defaults to ../shared/data (CI sets it explicitly), and
the Hub is switched off so that nothing silently downloads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Model responses cached by imitation-eval run go to a folder of this session's own, never the
# user's cache (and two test sessions at once never share a file).
os.environ.setdefault("IMITATION_SUITE_RESPONSES", tempfile.mkdtemp(prefix="imitation-responses-"))
if not os.environ.get("IMITATION_SUITE_DATA"):
    _shared = (REPO / ".." / "shared" / "data").resolve()
    if _shared.is_dir():
        os.environ["IMITATION_SUITE_DATA"] = str(_shared)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("IMITATION_SUITE_DATA", "")
    if not value or not Path(value).is_dir():
        pytest.fail("IMITATION_SUITE_DATA must point at the shared data folder (../shared/data)")
    return Path(value)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The real SmolLM2-135M-Instruct preset folder (built once into the cache)."""
    from harness_tasks.presets import build_preset

    return build_preset("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, smollm2_dir) -> Path:
    """A 2-layer random-initialised Llama with SmolLM2's real tokenizer and chat template.

    Fast enough for unit tests of the lm-eval plumbing (scores are meaningless but
    deterministic: the weights come from a fixed seed).
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def pytest_terminal_summary(terminalreporter) -> None:
    """End the run with what was skipped, grouped by reason, and the command that installs what
    a skipped test needs (bubblewrap, Chromium, PostgreSQL: tests/support/skips.py)."""
    from tests.support.skips import write_skip_summary

    write_skip_summary(terminalreporter)
