"""Variable-length (packed) attention for backends without flash-attention's varlen kernels.

A packed micro-batch is ONE row of concatenated examples (no padding at all) plus the example
boundaries. ``imitation_varlen`` is registered with transformers' ``AttentionInterface``: it runs
PyTorch SDPA with ``is_causal=True`` on each example's slice of the row, so an example attends
only to itself and the attention cost is the sum of the examples' squared lengths, not the
square of the row. (transformers' own route for packed rows under sdpa/eager, position ids that
restart at 0, builds a block-diagonal mask and computes the full row-squared attention.)
With flash-attention 2 installed on a GPU, the same row format goes to its varlen kernel
(``cu_seq_lens_q/k`` and ``max_length_q/k``, as in transformers' padding-free training).
Because the attention name is unknown to transformers' mask builders, no mask is built.
"""

from __future__ import annotations

from typing import Any

NAME = "imitation_varlen"
_registered = False


def varlen_sdpa(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                dropout: float = 0.0, scaling: float | None = None, **kwargs: Any
                ) -> tuple[Any, None]:
    """Shapes as for transformers' sdpa: query [1, heads, tokens, dim] -> [1, tokens, heads,
    dim]. ``packed_segments`` (a tuple of (start, end)) names the examples in the row."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    segments = kwargs.pop("packed_segments", None)
    for name in ("cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k"):
        kwargs.pop(name, None)
    if segments is None or attention_mask is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    if query.shape[0] != 1:
        raise ValueError("imitation_varlen expects one packed row per micro-batch")
    # split, not slice: the backward of a split is one concatenation, while each slice's
    # backward would fill and add a zero tensor the size of the whole row
    lengths = [end - start for start, end in segments]
    outs = []
    for q, k, v in zip(query.split(lengths, dim=2), key.split(lengths, dim=2),
                       value.split(lengths, dim=2)):
        out, _ = sdpa_attention_forward(module, q, k, v, None, dropout=dropout, scaling=scaling,
                                        is_causal=True, **kwargs)
        outs.append(out)
    return torch.cat(outs, dim=1), None


def register() -> str:
    """Register ``imitation_varlen`` once per process; returns its name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(NAME, varlen_sdpa)
        _registered = True
    return NAME


def flash_varlen_available() -> bool:
    import importlib.util

    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None
