"""The output head and the cross-entropy at supervised positions, in chunks.

``head_loss`` returns the SUM of token cross-entropies of ``head(hidden)`` against
``targets`` (one row of ``hidden`` per supervised token). With ``chunk`` > 0 it never holds the
logits of more than ``chunk`` tokens: under gradients, a custom autograd function computes each
chunk's logits, loss and gradients (softmax - one-hot) in the forward pass, keeps only the
gradients of the hidden states and of the head weight, and scales them by the incoming
gradient in the backward pass (no second head pass, no [tokens, vocab] tensor kept). With
``chunk`` = 0 it is the plain reference: full logits, ``F.cross_entropy``.

Matmuls run in the autocast dtype when autocast is on (bf16 on a GPU), the softmax and the
loss in fp32, the weight gradient accumulates in fp32, as autograd over the plain path would.
``logit_scale`` and ``final_logit_softcapping`` (Gemma 2-style ``cap * tanh(z / cap)``) are
applied to the logits and their derivative to the gradient.
"""

from __future__ import annotations

from typing import Any


def _compute_dtype(hidden: Any) -> Any:
    import torch

    kind = hidden.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return hidden.dtype


def _chunk(h: Any, w: Any, tgt: Any, scale: float | None, softcap: float | None,
           want_grad: bool) -> tuple[Any, Any]:
    """(loss sum, d loss / d logits before scale and cap, or None) of one chunk: one
    exponential over the [chunk, vocabulary] logits, reused as the softmax for the gradient;
    the chunk's temporaries are updated in place."""
    import torch

    z = h @ w.t()
    z = z.to(torch.promote_types(z.dtype, torch.float32))
    if scale is not None:
        z.mul_(scale)
    tanh = None
    if softcap is not None:
        tanh = torch.tanh(z / softcap)
        z = tanh * softcap
    top = z.amax(dim=-1, keepdim=True)
    picked = z.gather(1, tgt[:, None])
    e = z.sub_(top).exp_()  # z is not needed after this: reuse its memory
    total = e.sum(dim=-1, keepdim=True)
    loss = (top + total.log() - picked).sum()
    if not want_grad:
        return loss, None
    g = e.div_(total)
    g[torch.arange(len(tgt), device=tgt.device), tgt] -= 1.0
    if tanh is not None:
        g.mul_(1.0 - tanh * tanh)
    if scale is not None:
        g.mul_(scale)
    return loss, g


def _run_chunks(hidden: Any, weight: Any, targets: Any, chunk: int, scale: float | None,
                softcap: float | None, grad_h: bool, grad_w: bool) -> tuple[Any, Any, Any]:
    import torch

    dtype = _compute_dtype(hidden)
    w = weight.to(dtype)
    wide = torch.promote_types(dtype, torch.float32)  # fp32, or fp64 when computing in fp64
    loss = torch.zeros((), dtype=wide, device=hidden.device)
    gh = torch.empty_like(hidden) if grad_h else None
    gw = torch.zeros(weight.shape, dtype=wide, device=weight.device) if grad_w else None
    with torch.autocast(hidden.device.type, enabled=False):
        for start in range(0, hidden.shape[0], chunk):
            h = hidden[start:start + chunk].to(dtype)
            part, g = _chunk(h, w, targets[start:start + chunk], scale, softcap,
                             grad_h or grad_w)
            loss += part
            if g is not None:
                g = g.to(dtype)
                if gh is not None:
                    gh[start:start + chunk] = (g @ w).to(hidden.dtype)
                if gw is not None:
                    gw += (g.t() @ h).to(wide)
    return loss, gh, gw


def _function() -> Any:
    import torch

    class ChunkedLinearCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, hidden: Any, weight: Any, targets: Any, chunk: int,
                    scale: float | None, softcap: float | None) -> Any:
            loss, gh, gw = _run_chunks(hidden, weight, targets, chunk, scale, softcap,
                                       ctx.needs_input_grad[0], ctx.needs_input_grad[1])
            ctx.save_for_backward(gh, gw)
            ctx.weight_dtype = weight.dtype
            return loss

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, ...]:
            gh, gw = ctx.saved_tensors
            dh = gh * grad.to(gh.dtype) if gh is not None else None
            dw = (gw * grad).to(ctx.weight_dtype) if gw is not None else None
            return dh, dw, None, None, None, None

    return ChunkedLinearCrossEntropy


_FN: Any = None


def head_loss(hidden: Any, weight: Any, targets: Any, *, chunk: int,
              scale: float | None = None, softcap: float | None = None) -> Any:
    """Sum of cross-entropies of ``hidden @ weight.T`` (after scale and cap) vs ``targets``."""
    global _FN
    import torch
    import torch.nn.functional as F

    if chunk <= 0:  # the reference: full logits
        logits = F.linear(hidden, weight)
        if scale is not None:
            logits = logits * scale
        if softcap is not None:
            logits = torch.tanh(logits / softcap) * softcap
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        return F.cross_entropy(logits, targets, reduction="sum")
    if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
        if _FN is None:
            _FN = _function()
        return _FN.apply(hidden, weight, targets, chunk, scale, softcap)
    return _run_chunks(hidden, weight, targets, chunk, scale, softcap, False, False)[0]
