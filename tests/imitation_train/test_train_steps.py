"""A few optimizer steps on tiny random-initialised GPT-2 and Llama models: every trainable
parameter changes, accumulation equals one big batch, LoRA trains adapters, and the output is a
normal HF folder with its imitation_card.json."""

from __future__ import annotations

import json

import pytest

from imitation_train.train_config import SFTConfig
from imitation_train.trainer import train
from tests.imitation_train.trainer_support import one_thread, tiny_model, training_file


@pytest.fixture(autouse=True)
def _single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def data_file(data_dir, tmp_path_factory):
    return training_file(data_dir, tmp_path_factory.mktemp("train-data") / "train.jsonl")


def _params(folder):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _cfg(model, data, out, **kw):
    base = dict(model=str(model), data=str(data), output_dir=str(out), max_seq_len=512,
                batch_size=2, grad_accum=2, lr=5e-3, warmup_steps=0, max_steps=3, log_every=1,
                seed=7)
    return SFTConfig(**{**base, **kw})


@pytest.mark.parametrize("shape", ["gpt2", "llama"])
def test_every_parameter_changes_and_card(data_dir, data_file, tmp_path, shape):
    import torch

    model_dir = tiny_model(tmp_path / "base", data_dir, shape)
    before = _params(model_dir)
    result = train(_cfg(model_dir, data_file, tmp_path / "run"))
    after = _params(result.output_dir)
    assert result.steps == 3 and len(result.losses) == 3
    assert set(before) == set(after)
    unchanged = [n for n in before if torch.equal(before[n], after[n])]
    assert unchanged == []
    card = json.loads((result.output_dir / "imitation_card.json").read_text())
    assert card["base_model"] == str(model_dir)
    assert card["base_model_revision"].startswith("sha256:")
    assert card["teacher"] == "gpt-4"
    names = {s["name"]: s for s in card["data_sources"]}
    assert names["alpaca_gpt4"]["records"] + names["sharegpt"]["records"] == card["examples"]
    assert card["supervised_tokens"] == sum(s["supervised_tokens"] for s in names.values())
    assert card["supervised_tokens_seen"] > 0 and card["hyperparameters"]["lr"] == 5e-3
    assert card["chat_template"] == ("vicuna" if shape == "gpt2" else "model")
    assert card["code_version"]["package"]
    log_rows = [json.loads(x) for x in (tmp_path / "run" / "train_log.jsonl").read_text()
                .splitlines()]
    assert [r["step"] for r in log_rows] == [1, 2, 3]
    assert all(r["tokens_per_s"] > 0 and r["supervised_tokens_per_s"] > 0 for r in log_rows)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(result.output_dir)  # template travels with the model
    assert tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                   add_generation_prompt=True)


def test_loss_is_normalised_by_the_supervised_tokens_of_the_whole_step(data_dir, tmp_path):
    """One micro-batch of 8 examples, or 4 micro-batches of unequal size accumulated: the same
    gradient, equal to the gradient of the mean token loss over the whole step."""
    import torch
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from imitation_train.chat_encoding import encode, prepare_format
    from imitation_train.model_setup import make_loss_model
    from imitation_train.pack import collate
    from imitation_train.chat_records import record_from_json
    from imitation_train.trainer import backward_step
    from tests.imitation_train.trainer_support import alpaca_records

    folder = tiny_model(tmp_path / "m", data_dir, "llama")
    fmt, _ = prepare_format(AutoTokenizer.from_pretrained(folder), "auto")
    examples = [e for e in (encode(fmt, record_from_json(r), 512)
                            for r in alpaca_records(data_dir, 40)) if e is not None][:8]
    assert len(examples) == 8
    total = sum(e.supervised for e in examples)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64)
    loss_model = make_loss_model(model)
    accelerator = Accelerator(cpu=True)

    def grads(groups):
        loss_model.zero_grad()
        batches = [collate(examples, [[i] for i in g], 0, "padded") for g in groups]
        backward_step(accelerator, loss_model, batches, float(total))
        return {n: p.grad.clone() for n, p in loss_model.named_parameters()}

    one = grads([list(range(8))])
    accumulated = grads([[0], [1, 2, 3], [4, 5], [6, 7]])
    model.zero_grad()
    reference = 0.0
    for e in examples:  # HF's own per-example mean loss, re-weighted to a token mean
        labels = torch.tensor([[-100] + list(e.targets[:-1])])
        out = model(input_ids=torch.tensor([e.input_ids]), labels=labels)
        reference = reference + out.loss * e.supervised / total
    reference.backward()
    for name, p in loss_model.named_parameters():
        torch.testing.assert_close(one[name], accumulated[name], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(one[name], p.grad, rtol=1e-5, atol=1e-9)  # HF: fp32 loss


def test_lora_trains_adapters_and_saves_a_merged_model(data_dir, data_file, tmp_path):
    import torch

    model_dir = tiny_model(tmp_path / "base", data_dir, "llama")
    before = _params(model_dir)
    result = train(_cfg(model_dir, data_file, tmp_path / "lora", lora=True, lora_r=4))
    after = _params(result.output_dir)
    assert set(before) == set(after)  # merged: a plain model, no adapter names
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    linear = {n for n in before if n.endswith("proj.weight")}
    assert linear and linear <= changed
    assert "model.embed_tokens.weight" not in changed


def test_new_paths_train_like_the_reference(data_dir, data_file, tmp_path):
    """Three optimizer steps: flex_attention (on CPU it trains through the reference path)
    with the chunked head + loss give the losses and weights of the per-example SDPA loop
    with full logits."""
    import torch

    model_dir = tiny_model(tmp_path / "base", data_dir, "llama")
    ref = train(_cfg(model_dir, data_file, tmp_path / "ref", attn_implementation="imitation_varlen",
                     loss_chunk=0, log_every=2))
    new = train(_cfg(model_dir, data_file, tmp_path / "new", attn_implementation="imitation_flex",
                     loss_chunk=64, log_every=2))
    assert new.losses == pytest.approx(ref.losses, rel=1e-5)
    assert len(new.losses) == 3  # losses are read at log steps only, none lost
    # (weights are not compared element-wise: Adam's m / sqrt(v) turns fp32 rounding of
    # near-zero gradients into differences up to the step size; steps 2 and 3's losses
    # already depend on the updated weights)
    before, after = _params(model_dir), _params(new.output_dir)
    assert [n for n in before if torch.equal(before[n], after[n])] == []


def test_compile_layers_refuses_the_per_example_loop(data_dir, data_file, tmp_path):
    model_dir = tiny_model(tmp_path / "base", data_dir, "llama")
    with pytest.raises(ValueError, match="--compile-layers with --attn-implementation "
                       "imitation_varlen"):
        train(_cfg(model_dir, data_file, tmp_path / "run", attn_implementation="imitation_varlen",
                   compile_layers=True))
