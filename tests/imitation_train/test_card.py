"""imitation_card.json: contamination counts from prepare's stats file, the string fields the
leaderboard reads, and a clear error for an unknown schema version."""

from __future__ import annotations

import json

import pytest

from imitation_train.card import read_card, write_card
from imitation_train.train_config import SFTConfig
from imitation_train.trainer import train
from tests.imitation_train.trainer_support import one_thread, tiny_model, training_file


def test_card_records_contamination_and_fits_the_leaderboard(data_dir, tmp_path):
    model = tiny_model(tmp_path / "m", data_dir, "gpt2")
    data = training_file(data_dir, tmp_path / "mix.jsonl", n_alpaca=8)
    counts = {"checked": 16, "removed": 2, "by_benchmark": {"nq_open": 1, "mmlu": 1}}
    (tmp_path / "mix.stats.json").write_text(json.dumps({"contamination": counts}))
    with one_thread():
        result = train(SFTConfig(model=str(model), data=str(data), max_seq_len=512,
                                 output_dir=str(tmp_path / "out"), max_steps=1,
                                 data_kind="broad", teacher="gpt-3.5-turbo"))
    card = read_card(result.output_dir)
    assert card == result.card
    assert card["contamination"] == {str(data): counts}
    assert card["teacher"] == "gpt-3.5-turbo" and card["data_kind"] == "broad"
    from leaderboard.ingest import parse_card

    info = parse_card(card)
    assert (info.base, info.teacher, info.data_kind) == (str(model), "gpt-3.5-turbo", "broad")
    assert info.tokens == card["imitation_tokens"]


def test_unknown_schema_version_is_refused(tmp_path):
    write_card(tmp_path, {"schema_version": 99})
    with pytest.raises(ValueError, match="schema_version 99"):
        read_card(tmp_path)
    assert read_card(tmp_path / "nowhere") is None
