"""Packing: best-fit rows, and packed loss == unpacked loss on the same examples (so packed
examples do not see each other), on tiny random-initialised GPT-2 and Llama models."""

from __future__ import annotations

import random

import pytest

from imitation_train.chat_encoding import prepare_format
from imitation_train.chat_records import record_from_json
from imitation_train.pack import collate, pack_bfd, plan_epoch
from tests.imitation_train.trainer_support import alpaca_records, tiny_model


def test_best_fit_decreasing_places_every_example_once():
    rng = random.Random(0)
    lengths = [rng.randint(1, 100) for _ in range(500)]
    rows = pack_bfd(lengths, 128)
    flat = sorted(i for row in rows for i in row)
    assert flat == list(range(500))
    assert all(sum(lengths[i] for i in row) <= 128 for row in rows)
    assert len(rows) <= -(-sum(lengths) // 128) * 1.1  # close to the lower bound
    with pytest.raises(ValueError, match="max_seq_len"):
        pack_bfd([10, 200], 128)


def test_plan_is_deterministic_and_covers_the_data():
    lengths = [random.Random(i).randint(5, 60) for i in range(101)]
    for packing in (True, False):
        a = plan_epoch(lengths, packing=packing, max_seq_len=128, batch_size=4, seed=3, epoch=0)
        b = plan_epoch(lengths, packing=packing, max_seq_len=128, batch_size=4, seed=3, epoch=0)
        c = plan_epoch(lengths, packing=packing, max_seq_len=128, batch_size=4, seed=3, epoch=1)
        assert a == b and a != c
        assert sorted(i for mb in a for row in mb for i in row) == list(range(101))


@pytest.mark.parametrize("shape", ["gpt2", "llama"])
def test_packed_and_unpacked_loss_are_equal(data_dir, tmp_path, shape):
    """Same examples, same loss: padded one per row, packed rows (transformers' block mask
    from restarting position ids), and one flat row (our varlen SDPA); plus the HF model's own
    loss per example as an independent reference."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from imitation_train.attention import register
    from imitation_train.chat_encoding import encode
    from imitation_train.model_setup import make_loss_model

    folder = tiny_model(tmp_path / shape, data_dir, shape)
    tok = AutoTokenizer.from_pretrained(folder)
    fmt, _ = prepare_format(tok, "auto")
    # float64, so that equal means equal (a random tiny model is nearly uniform, so a leak
    # between packed examples moves the loss by only ~1e-4 relative)
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa",
                                                 dtype=torch.float64)
    loss_model = make_loss_model(model).eval()
    examples = [encode(fmt, record_from_json(r), 512) for r in alpaca_records(data_dir, 12)]
    examples = [e for e in examples if e is not None][:8]
    lengths = [len(e) for e in examples]
    rows = pack_bfd(lengths, max(lengths) * 3)
    assert any(len(row) > 1 for row in rows)  # something really is packed
    singles = [[i] for i in range(len(examples))]
    with torch.no_grad():
        padded = loss_model(**collate(examples, singles, 0, "padded")).item()
        packed_rows = loss_model(**collate(examples, rows, 0, "rows")).item()
        alone = sum(loss_model(**collate(examples, [[i]], 0, "padded")).item()
                    for i in range(len(examples)))
        ref = 0.0  # the HF model's own loss, one example at a time
        for e in examples:
            labels = torch.tensor([[-100] + list(e.targets[:-1])])
            ref += model(input_ids=torch.tensor([e.input_ids]), labels=labels).loss.item() \
                * e.supervised
        # contamination check: scrambling one packed neighbour leaves the others' loss alone
        row = next(r for r in rows if len(r) > 1)
        scrambled = list(examples)
        victim = scrambled[row[0]]
        scrambled[row[0]] = type(victim)(victim.id, tuple(reversed(victim.input_ids)),
                                         victim.targets, victim.source)
        before = loss_model(**collate(examples, [row[1:]], 0, "rows")).item()
        together = loss_model(**collate(scrambled, [row], 0, "rows")).item()
        own = loss_model(**collate(scrambled, [[row[0]]], 0, "padded")).item()
        model.set_attn_implementation(register())
        flat = loss_model(**collate(examples, rows, 0, "flat")).item()
        flat_together = loss_model(**collate(scrambled, [row], 0, "flat")).item()
    assert packed_rows == pytest.approx(padded, rel=1e-10)
    assert packed_rows == pytest.approx(alone, rel=1e-10)
    assert flat == pytest.approx(alone, rel=1e-10)
    assert packed_rows == pytest.approx(ref, rel=1e-6)  # HF computes its loss in float32
    assert together == pytest.approx(before + own, rel=1e-10)
    assert flat_together == pytest.approx(before + own, rel=1e-10)


def test_flat_varlen_gradients_equal_padded_gradients(data_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from imitation_train.attention import register
    from imitation_train.chat_encoding import encode
    from imitation_train.model_setup import make_loss_model

    folder = tiny_model(tmp_path / "llama", data_dir, "llama")
    fmt, _ = prepare_format(AutoTokenizer.from_pretrained(folder), "auto")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64)
    loss_model = make_loss_model(model)
    examples = [e for e in (encode(fmt, record_from_json(r), 512)
                            for r in alpaca_records(data_dir, 12)) if e is not None][:6]

    def grads(layout, rows):
        loss_model.zero_grad()
        loss_model(**collate(examples, rows, 0, layout)).backward()
        return {n: p.grad.clone() for n, p in loss_model.named_parameters()}

    padded = grads("padded", [[i] for i in range(len(examples))])
    model.set_attn_implementation(register())
    flat = grads("flat", [list(range(len(examples)))])
    for name, grad in padded.items():
        torch.testing.assert_close(flat[name], grad, rtol=1e-9, atol=1e-12, msg=name)
