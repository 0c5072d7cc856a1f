"""The chunked head + cross-entropy (head_loss.py) equals the full-logits reference: the loss,
the gradient of the hidden states and of the head weight, for any chunk size, with logit scale
and soft-capping, with a frozen head, without gradients, under bf16 autocast, and through the
loss model on a real tiny GPT-2 (tied embeddings) and Llama in float64."""

from __future__ import annotations

import pytest

from imitation_train.head_loss import head_loss
from tests.imitation_train.trainer_support import one_thread

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _single_thread():
    with one_thread():
        yield


def _inputs(n=37, hidden=24, vocab=101, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n, hidden, generator=gen, dtype=dtype, requires_grad=True)
    w = (torch.randn(vocab, hidden, generator=gen, dtype=dtype) * 0.5).requires_grad_()
    targets = torch.randint(0, vocab, (n,), generator=gen)
    return h, w, targets


def _loss_and_grads(chunk, scale=None, softcap=None, weight_grad=True):
    h, w, targets = _inputs()
    w.requires_grad_(weight_grad)
    loss = head_loss(h, w, targets, chunk=chunk, scale=scale, softcap=softcap)
    (loss * 0.7).backward()  # a non-unit incoming gradient
    return loss.detach(), h.grad, w.grad


@pytest.mark.parametrize("scale,softcap", [(None, None), (0.5, None), (None, 3.0), (2.0, 1.5)])
@pytest.mark.parametrize("chunk", [1, 8, 36, 37, 4096])
def test_chunked_equals_full_logits(chunk, scale, softcap):
    ref_loss, ref_h, ref_w = _loss_and_grads(0, scale, softcap)
    loss, gh, gw = _loss_and_grads(chunk, scale, softcap)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=0)
    torch.testing.assert_close(gh, ref_h, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(gw, ref_w, rtol=1e-10, atol=1e-13)


def test_frozen_head_and_no_grad():
    ref_loss, ref_h, _ = _loss_and_grads(0, weight_grad=False)
    loss, gh, gw = _loss_and_grads(5, weight_grad=False)
    assert gw is None
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=0)
    torch.testing.assert_close(gh, ref_h, rtol=1e-10, atol=1e-13)
    h, w, targets = _inputs()
    with torch.no_grad():
        plain = head_loss(h, w, targets, chunk=5)
    torch.testing.assert_close(plain, ref_loss, rtol=1e-12, atol=0)


def test_bf16_autocast_matches_reference_within_bf16_noise():
    results = []
    for chunk in (0, 8):
        h, w, targets = _inputs(dtype=torch.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = head_loss(h, w, targets, chunk=chunk)
        loss.backward()
        assert loss.dtype == torch.float32 and h.grad.dtype == w.grad.dtype == torch.float32
        results.append((loss.detach(), h.grad, w.grad))
    (ref_loss, ref_h, ref_w), (loss, gh, gw) = results
    torch.testing.assert_close(loss, ref_loss, rtol=1e-3, atol=0)
    torch.testing.assert_close(gh, ref_h, rtol=0.02, atol=2e-3)
    torch.testing.assert_close(gw, ref_w, rtol=0.02, atol=2e-3)


@pytest.mark.parametrize("shape", ["gpt2", "llama"])
def test_loss_model_chunked_equals_full(data_dir, tmp_path, shape):
    """Through the loss model on packed rows: the same loss and every parameter's gradient
    (gpt2 ties its head to the input embeddings: both gradient paths meet)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from imitation_train.chat_encoding import encode, prepare_format
    from imitation_train.chat_records import record_from_json
    from imitation_train.model_setup import make_loss_model
    from imitation_train.pack import collate
    from tests.imitation_train.trainer_support import alpaca_records, tiny_model

    folder = tiny_model(tmp_path / shape, data_dir, shape)
    fmt, _ = prepare_format(AutoTokenizer.from_pretrained(folder), "auto")
    examples = [e for e in (encode(fmt, record_from_json(r), 512)
                            for r in alpaca_records(data_dir, 10)) if e is not None][:4]
    batch = collate(examples, [[0, 1], [2, 3]], 0, "rows")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64)
    out = {}
    for chunk in (0, 50):
        loss_model = make_loss_model(model, chunk)
        loss_model.zero_grad()
        loss = loss_model(**batch)
        loss.backward()
        out[chunk] = (loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    torch.testing.assert_close(out[50][0], out[0][0], rtol=1e-12, atol=0)
    for name, grad in out[0][1].items():
        torch.testing.assert_close(out[50][1][name], grad, rtol=1e-9, atol=1e-12, msg=name)
