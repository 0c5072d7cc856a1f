"""Packed attention paths never let examples see each other, and the chunked head + loss equals
the full-logits loss.

For every path that can run on this machine (the per-example SDPA reference and flex_attention
forward on CPU; PyTorch's varlen_attn and flash-attention 2 only on a CUDA GPU, skipped here):
the logits of each example in a packed row equal those of the example run alone, and
scrambling one packed neighbour leaves the other examples' logits (and, where the path has a
backward, their loss gradients) unchanged. The models are tiny random-initialised Llamas in
float64 (GQA: 4 query heads, 2 key/value heads), so equal means equal.
"""

from __future__ import annotations

import importlib.util

import pytest

from imitation_train.chat_encoding import Example, prepare_format
from imitation_train.chat_records import record_from_json
from imitation_train.pack import collate
from tests.imitation_train.trainer_support import alpaca_records, one_thread, tiny_model

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
CPU_PATHS = ["imitation_varlen", "imitation_flex"]
GPU_PATHS = [pytest.param("imitation_torch_varlen", marks=pytest.mark.skipif(
                 not CUDA, reason="varlen_attn is a CUDA flash-attention kernel")),
             pytest.param("flash_attention_2", marks=pytest.mark.skipif(
                 not (CUDA and importlib.util.find_spec("flash_attn")),
                 reason="flash-attn is not installed (CUDA only)"))]


@pytest.fixture(autouse=True)
def _single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def llama(data_dir, tmp_path_factory):
    from transformers import AutoTokenizer

    folder = tiny_model(tmp_path_factory.mktemp("attn") / "llama", data_dir, "llama")
    fmt, _ = prepare_format(AutoTokenizer.from_pretrained(folder), "auto")
    examples = [e for e in (encode_record(fmt, r) for r in alpaca_records(data_dir, 12))
                if e is not None][:5]
    return folder, examples


def encode_record(fmt, row):
    from imitation_train.chat_encoding import encode

    return encode(fmt, record_from_json(row), 512)


def _model(folder, attn, device="cpu", dtype=None):
    from transformers import AutoModelForCausalLM

    from imitation_train.attention import OURS, register

    dtype = dtype or torch.float64
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa", dtype=dtype)
    if attn != "sdpa":
        if attn in OURS:
            register()
        model.set_attn_implementation(attn)
    return model.to(device)


def _logits(model, batch, device="cpu"):
    """The model's logits for a collated batch, through the same keyword path as training."""
    from imitation_train.attention import packed_kwargs
    from imitation_train.pack import to_device

    batch = to_device(batch, torch.device(device))
    kwargs = {k: v for k, v in batch.items()
              if k not in ("input_ids", "targets", "supervised_index", "position_ids")}
    kwargs = packed_kwargs(model.config._attn_implementation, kwargs,
                           batch["input_ids"].shape[1], batch["input_ids"].device)
    return model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                 use_cache=False, **kwargs).logits[0]


def _scrambled(example):
    ids = tuple(reversed(example.input_ids))
    return Example(example.id, ids, example.targets, example.source)


def _alone(folder, examples, device="cpu", dtype=None):
    """Each example's logits, run alone through plain SDPA (no packing at all)."""
    model = _model(folder, "sdpa", device, dtype)
    with torch.no_grad():
        return [model(input_ids=torch.tensor([e.input_ids], device=device),
                      use_cache=False).logits[0] for e in examples]


def _check_logits(folder, examples, attn, device="cpu", dtype=None, tol=None):
    tol = tol or {"rtol": 1e-10, "atol": 1e-10}
    model = _model(folder, attn, device, dtype)
    order = list(range(len(examples)))
    with torch.no_grad():
        packed = _logits(model, collate(examples, [order], 0, "flat"), device)
        scrambled = [_scrambled(examples[0])] + list(examples[1:])
        other = _logits(model, collate(scrambled, [order], 0, "flat"), device)
    alone = _alone(folder, examples, device, dtype)
    start = 0
    for i, example in enumerate(examples):
        end = start + len(example)
        torch.testing.assert_close(packed[start:end], alone[i], **tol, msg=f"example {i}")
        if i > 0:  # a scrambled neighbour changes nothing for the others ...
            torch.testing.assert_close(other[start:end], packed[start:end], rtol=0, atol=0)
        start = end
    n0 = len(examples[0])  # ... while the scrambled example itself did change
    assert not torch.allclose(other[:n0], packed[:n0])


@pytest.mark.parametrize("attn", CPU_PATHS)
def test_packed_logits_equal_alone_and_ignore_neighbours(llama, attn):
    folder, examples = llama
    _check_logits(folder, examples, attn)


@pytest.mark.parametrize("attn", CPU_PATHS)
def test_padded_flat_row_is_the_same(llama, attn):
    """A flat row filled up to a multiple (one pad segment, as on a GPU) changes nothing."""
    folder, examples = llama
    model = _model(folder, attn)
    order = list(range(len(examples)))
    batch = collate(examples, [order], 0, "flat", multiple_of=128)
    assert batch["input_ids"].shape[1] % 128 == 0
    assert batch["packed_segments"][-1][1] == batch["input_ids"].shape[1]
    with torch.no_grad():
        padded = _logits(model, batch)
        plain = _logits(model, collate(examples, [order], 0, "flat"))
    torch.testing.assert_close(padded[:plain.shape[0]], plain, rtol=1e-10, atol=1e-12)


def _example_grads(model, examples, chunk, layout="flat"):
    """Gradients of example 1's summed loss with the others packed in the same row (their
    targets masked, so only leakage could make them matter); one example: it alone."""
    from imitation_train.model_setup import make_loss_model

    masked = [Example(e.id, e.input_ids, tuple([-100] * len(e)) if i != 1 else e.targets,
                      e.source) for i, e in enumerate(examples)] if len(examples) > 1 \
        else examples
    loss_model = make_loss_model(model, chunk)
    loss_model.zero_grad()
    loss_model(**collate(masked, [list(range(len(masked)))], 0, layout)).backward()
    return {n: p.grad.clone() for n, p in loss_model.named_parameters()}


@pytest.mark.parametrize("attn", CPU_PATHS)
def test_packed_gradients_ignore_neighbours(llama, attn):
    """Scrambling example 0 leaves the gradient of example 1's loss unchanged, and it equals
    example 1's gradient alone. (imitation_flex trains on CPU through the reference path.)"""
    folder, examples = llama
    model = _model(folder, attn)
    together = _example_grads(model, examples, 16)
    scrambled = _example_grads(model, [_scrambled(examples[0])] + list(examples[1:]), 16)
    alone = _example_grads(_model(folder, "sdpa"), examples[1:2], 0, "padded")
    for name, grad in together.items():
        torch.testing.assert_close(scrambled[name], grad, rtol=0, atol=0, msg=name)
        torch.testing.assert_close(alone[name], grad, rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("attn", GPU_PATHS)
def test_gpu_packed_logits_equal_alone_and_ignore_neighbours(llama, attn):
    folder, examples = llama
    with torch.autocast("cuda", dtype=torch.bfloat16):
        _check_logits(folder, examples, attn, "cuda", torch.float32,
                      {"rtol": 0.05, "atol": 0.05})


def test_auto_attention_and_refusals_on_this_machine():
    from imitation_train.model_setup import choose_attention

    if not CUDA:
        assert choose_attention("auto", True, "cpu", False) == ("imitation_varlen", "flat")
        with pytest.raises(ValueError, match="imitation_torch_varlen needs a CUDA GPU"):
            choose_attention("imitation_torch_varlen", True, "cpu", False)
    assert choose_attention("imitation_flex", True, "cpu") == ("imitation_flex", "flat")
    assert choose_attention("imitation_flex", False, "cpu") == ("sdpa", "padded")
    assert choose_attention("flex_attention", True, "cpu") == ("flex_attention", "rows")


def _reference_varlen(q, k, v, cu, longest, causal, scale=None):
    """What varlen_attn computes, on CPU: causal SDPA per segment of [tokens, heads, dim]."""
    import torch.nn.functional as F

    bounds = cu.tolist()
    outs = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        qs, ks, vs = (t[a:b].transpose(0, 1) for t in (q, k, v))
        outs.append(F.scaled_dot_product_attention(qs, ks, vs, is_causal=causal, scale=scale,
                                                   enable_gqa=True).transpose(0, 1))
    return torch.cat(outs)


def test_varlen_attn_is_called_causally_across_torch_versions():
    """torch 2.9-2.10 (is_causal, no scale, no GQA), 2.11 (window_size, scale) and 2.12+
    (enable_gqa): the adapter gives the same causal, scaled, GQA result through each."""
    from imitation_train.attention import _signature, _varlen_call

    def v210(q, k, v, cu_q, cu_k, max_q, max_k, is_causal=False, return_aux=None):
        assert k.shape[1] == q.shape[1]  # no GQA in this signature
        return _reference_varlen(q, k, v, cu_q, max_q, is_causal)

    def v211(q, k, v, cu_q, cu_k, max_q, max_k, *, return_aux=None, scale=None,
             window_size=(-1, -1)):
        assert k.shape[1] == q.shape[1]
        return _reference_varlen(q, k, v, cu_q, max_q, window_size == (-1, 0), scale)

    def v212(q, k, v, cu_q, cu_k, max_q, max_k, *, return_aux=None, scale=None,
             window_size=(-1, -1), enable_gqa=False):
        assert enable_gqa == (k.shape[1] != q.shape[1])
        return _reference_varlen(q, k, v, cu_q, max_q, window_size == (-1, 0), scale)

    gen = torch.Generator().manual_seed(0)
    q = torch.randn(30, 4, 8, generator=gen, dtype=torch.float64)
    k, v = (torch.randn(30, 2, 8, generator=gen, dtype=torch.float64) for _ in range(2))
    cu = torch.tensor([0, 7, 19, 30], dtype=torch.int32)
    for scaling in (None, 0.2):
        expected = _reference_varlen(q, k, v, cu, 12, True, scaling)
        for fn in (v210, v211, v212):
            got = _varlen_call(fn, _signature(fn), q, k, v, cu, 12, scaling)
            torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12, msg=fn.__name__)
