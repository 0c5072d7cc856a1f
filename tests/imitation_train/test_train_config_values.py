"""SFTConfig refuses learning-rate and optimiser settings that are NaN or infinite (a NaN passed
the '<= 0' checks and trained a model of NaNs without a word)."""

from __future__ import annotations

import math

import pytest

from imitation_train.train_config import SFTConfig


@pytest.mark.parametrize("name, value", [("lr", math.nan), ("lr", math.inf),
                                         ("warmup_ratio", math.nan),
                                         ("weight_decay", math.nan), ("weight_decay", -0.1),
                                         ("max_grad_norm", math.nan),
                                         ("max_grad_norm", -1.0),
                                         ("lora_dropout", math.nan), ("lora_dropout", 1.0),
                                         ("peak_tflops", math.nan), ("peak_tflops", 0.0)])
def test_a_nan_or_out_of_range_float_is_refused_naming_it(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be"):
        SFTConfig(model="m", data="d", **{name: value})


def test_the_defaults_are_accepted() -> None:
    SFTConfig(model="m", data="d")
