"""Variable-length (packed) attention: one unpadded row of concatenated examples, each example
attending only to itself.

A packed micro-batch is ONE row of concatenated examples (no padding, or one trailing pad
segment of its own) plus the example boundaries. Each path below is registered with
transformers' ``AttentionInterface`` under its own name; because the names are unknown to
transformers' mask builders, no mask is built, and the attention cost is the sum of the
examples' squared lengths, not the square of the row. (transformers' own route for packed rows
under sdpa/eager, position ids that restart at 0, builds a block-diagonal mask and computes the
full row-squared attention.)

- ``imitation_varlen`` (the reference): PyTorch SDPA, ``is_causal=True``, on each example's
  slice of the row: one kernel launch per example per layer. Runs everywhere.
- ``imitation_flex``: ``torch.nn.attention.flex_attention`` with a document mask (causal and
  same example) built once per micro-batch as a ``BlockMask`` (``packed_kwargs``); compiled
  on a GPU (eager flex materialises the scores). torch 2.13 has no CPU backward for flex: on
  CPU a forward with gradients falls back to the reference path, with a warning once.
- ``imitation_torch_varlen``: PyTorch's own ``torch.nn.attention.varlen.varlen_attn`` (its
  flash-attention kernel, bf16/fp16 on a CUDA GPU of compute capability >= 8.0; GQA native).
- ``flash_attention_2`` (transformers' name): flash-attn's ``flash_attn_varlen_func`` when the
  package is installed, fed the same ``cu_seq_lens_q/k`` and ``max_length_q/k``.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)

NAME = "imitation_varlen"  # per-example SDPA loop: the reference path
FLEX = "imitation_flex"
TORCH_VARLEN = "imitation_torch_varlen"
FLASH = "flash_attention_2"
OURS = (NAME, FLEX, TORCH_VARLEN)  # registered by register()
FLAT = OURS + (FLASH,)  # attention implementations that take the one-row ("flat") layout
_BOUNDARY_KEYS = ("cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k",
                  "packed_block_mask", "packed_segments")
_registered = False
_warned: set[str] = set()
_compiled_flex: Any = None
_varlen_params: frozenset[str] | None = None


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def _pop_boundaries(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name, None) for name in _BOUNDARY_KEYS}


def _sdpa(module: Any, query: Any, key: Any, value: Any, mask: Any, dropout: float,
          scaling: float | None, **kwargs: Any) -> tuple[Any, None]:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(module, query, key, value, mask, dropout=dropout,
                                  scaling=scaling, **kwargs)


def _loop(module: Any, query: Any, key: Any, value: Any, segments: Any, dropout: float,
          scaling: float | None, **kwargs: Any) -> tuple[Any, None]:
    import torch

    if query.shape[0] != 1:
        raise ValueError("packed attention expects one packed row per micro-batch")
    # split, not slice: the backward of a split is one concatenation, while each slice's
    # backward would fill and add a zero tensor the size of the whole row
    lengths = [end - start for start, end in segments]
    outs = []
    for q, k, v in zip(query.split(lengths, dim=2), key.split(lengths, dim=2),
                       value.split(lengths, dim=2)):
        out, _ = _sdpa(module, q, k, v, None, dropout, scaling, is_causal=True, **kwargs)
        outs.append(out)
    return torch.cat(outs, dim=1), None


def varlen_sdpa(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                dropout: float = 0.0, scaling: float | None = None, **kwargs: Any
                ) -> tuple[Any, None]:
    """The reference path. Shapes as for transformers' sdpa: query [1, heads, tokens, dim] ->
    [1, tokens, heads, dim]. ``packed_segments`` (a tuple of (start, end)) names the
    examples in the row."""
    segments = _pop_boundaries(kwargs)["packed_segments"]
    if segments is None or attention_mask is not None:
        return _sdpa(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    return _loop(module, query, key, value, segments, dropout, scaling, **kwargs)


def _flex_fn(device_type: str) -> Any:
    """Eager flex off a GPU; on a GPU the compiled one, or plain flex_attention when already
    inside a compiled region (--compile-layers: the layer's compile takes it in)."""
    global _compiled_flex
    import torch
    from torch.nn.attention.flex_attention import flex_attention

    if device_type != "cuda" or torch.compiler.is_compiling():
        return flex_attention
    if _compiled_flex is None:
        _compiled_flex = torch.compile(flex_attention)
    return _compiled_flex


def varlen_flex(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                dropout: float = 0.0, scaling: float | None = None, **kwargs: Any
                ) -> tuple[Any, None]:
    """flex_attention over the whole row with the micro-batch's document ``BlockMask``
    (``packed_block_mask``, from :func:`packed_kwargs`)."""
    import torch

    bounds = _pop_boundaries(kwargs)
    block_mask, segments = bounds["packed_block_mask"], bounds["packed_segments"]
    if block_mask is None or attention_mask is not None:
        return _sdpa(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    if query.device.type != "cuda" and torch.is_grad_enabled() and query.requires_grad:
        _warn_once("flex-cpu", "imitation_flex: flex_attention has no CPU backward in this "
                   "torch; training on CPU uses imitation_varlen (per-example SDPA)")
        return _loop(module, query, key, value, segments, dropout, scaling, **kwargs)
    key, value = key.to(query.dtype), value.to(query.dtype)
    flex, gqa = _flex_fn(query.device.type), key.shape[1] != query.shape[1]
    if query.device.type == "cuda":
        out = flex(query, key, value, block_mask=block_mask, scale=scaling, enable_gqa=gqa)
    else:
        with warnings.catch_warnings():  # off a GPU the unfused (eager) flex is the intent
            warnings.filterwarnings("ignore", message="flex_attention called without torch")
            out = flex(query, key, value, block_mask=block_mask, scale=scaling, enable_gqa=gqa)
    return out.transpose(1, 2).contiguous(), None


def varlen_torch(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                 dropout: float = 0.0, scaling: float | None = None, **kwargs: Any
                 ) -> tuple[Any, None]:
    """``torch.nn.attention.varlen.varlen_attn``, causal (``window_size=(-1, 0)``), on the
    row as [tokens, heads, dim] with ``cu_seq_lens_q`` / ``max_length_q``."""
    from torch.nn.attention.varlen import varlen_attn

    bounds = _pop_boundaries(kwargs)
    cu, longest = bounds["cu_seq_lens_q"], bounds["max_length_q"]
    if cu is None or attention_mask is not None:
        return _sdpa(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    if query.shape[0] != 1:
        raise ValueError("packed attention expects one packed row per micro-batch")
    q, k, v = (t[0].transpose(0, 1).to(query.dtype) for t in (query, key, value))
    params = _varlen_params or _signature(varlen_attn)
    return _varlen_call(varlen_attn, params, q, k, v, cu, longest, scaling).unsqueeze(0), None


def _signature(fn: Any) -> frozenset[str]:
    import inspect

    return frozenset(inspect.signature(fn).parameters)


def _varlen_call(fn: Any, params: frozenset[str], q: Any, k: Any, v: Any, cu: Any,
                 longest: int, scaling: float | None) -> Any:
    """Call varlen_attn causally across its signatures (``params``: its parameter names):
    torch 2.9-2.10 take ``is_causal`` and no ``scale`` or GQA; later ones ``window_size`` and
    ``scale``; 2.12+ ``enable_gqa``."""
    kwargs: dict[str, Any] = ({"window_size": (-1, 0)} if "window_size" in params
                              else {"is_causal": True})
    if "scale" in params:
        kwargs["scale"] = scaling
    elif scaling is not None:  # fold a non-default scale into the queries
        q = q * (scaling * q.shape[-1] ** 0.5)
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in params:
            kwargs["enable_gqa"] = True
        else:
            group = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    return fn(q, k, v, cu, cu, longest, longest, **kwargs)


def packed_kwargs(attn: str | None, kwargs: dict[str, Any], tokens: int, device: Any
                  ) -> dict[str, Any]:
    """The attention keyword arguments of one micro-batch for ``attn``: for ``imitation_flex``
    the document ``BlockMask`` is built here, once per micro-batch (not once per layer)."""
    segments = kwargs.get("packed_segments")
    if attn != FLEX or segments is None:
        return kwargs
    import torch
    from torch.nn.attention.flex_attention import create_block_mask

    lengths = torch.tensor([end - start for start, end in segments], device=device)
    doc = torch.repeat_interleave(torch.arange(len(segments), device=device), lengths)

    def document_causal(b: Any, h: Any, q: Any, kv: Any) -> Any:
        return (doc[q] == doc[kv]) & (q >= kv)

    mask = create_block_mask(document_causal, None, None, tokens, tokens, device=device)
    return {**kwargs, "packed_block_mask": mask}


def register() -> str:
    """Register our packed attention paths once per process; returns the reference's name."""
    global _registered, _varlen_params
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(NAME, varlen_sdpa)
        AttentionInterface.register(FLEX, varlen_flex)
        AttentionInterface.register(TORCH_VARLEN, varlen_torch)
        _registered = True
    if _varlen_params is None and importlib.util.find_spec("torch.nn.attention.varlen"):
        from torch.nn.attention.varlen import varlen_attn

        _varlen_params = _signature(varlen_attn)  # read here, not while a compile traces
    return NAME


def flash_varlen_available() -> bool:
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None


def torch_varlen_available() -> bool:
    """PyTorch's varlen_attn can run here: the module exists and a CUDA GPU of compute
    capability >= 8.0 (its flash-attention kernel) is present."""
    import torch

    if importlib.util.find_spec("torch.nn.attention.varlen") is None:
        return False
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)


def flex_available() -> bool:
    return importlib.util.find_spec("torch.nn.attention.flex_attention") is not None
