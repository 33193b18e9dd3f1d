"""Reduce a per-token loss matrix to a scalar, with optional global denominators for gradient accumulation."""

from __future__ import annotations

import torch

AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm")


def check_token_shapes(mask: torch.Tensor, **tensors: torch.Tensor | None) -> None:
    """Raise naming the culprit unless every given tensor has the mask's [N, T] shape."""
    if mask.dim() != 2:
        raise ValueError(f"mask must be [N, T], got shape {tuple(mask.shape)}")
    for name, t in tensors.items():
        if t is not None and t.shape != mask.shape:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected the mask's {tuple(mask.shape)}")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of values [N, T] over mask == 1; 0 when the mask is empty."""
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp(min=1.0)


def aggregate(
    loss_mat: torch.Tensor,
    mask: torch.Tensor,
    mode: str = "token-mean",
    *,
    global_tokens: int | float | torch.Tensor | None = None,
    global_seqs: int | float | torch.Tensor | None = None,
    max_len: int | None = None,
) -> torch.Tensor:
    """loss_mat [N, T], mask [N, T] -> scalar.

    - "token-mean": sum of all valid token losses / number of valid tokens (DAPO token-level loss).
    - "seq-mean-token-mean": mean over sequences of each sequence's token mean.
    - "seq-mean-token-sum-norm": sum of all valid token losses / (number of sequences * max_len) (Dr. GRPO;
      ``max_len`` is the generation budget, default T).

    "Number of sequences" counts rows with at least one valid token. With gradient accumulation pass the
    whole mini-batch's counts as ``global_tokens`` (token-mean) or ``global_seqs`` (seq modes): the
    micro-batch losses then SUM to the full mini-batch loss (do not also divide by the number of steps).
    An empty mask gives 0 (still attached to the graph).
    """
    check_token_shapes(mask, loss_mat=loss_mat)
    m = mask.to(loss_mat.dtype)
    masked = loss_mat * m
    if mode == "token-mean":
        denom = m.sum() if global_tokens is None else global_tokens
        return masked.sum() / torch.as_tensor(denom, dtype=loss_mat.dtype, device=loss_mat.device).clamp(min=1.0)
    n_seq = (m.sum(dim=1) > 0).sum() if global_seqs is None else global_seqs
    n_seq = torch.as_tensor(n_seq, dtype=loss_mat.dtype, device=loss_mat.device).clamp(min=1.0)
    if mode == "seq-mean-token-mean":
        per_seq = masked.sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        return per_seq.sum() / n_seq
    if mode == "seq-mean-token-sum-norm":
        length = loss_mat.shape[1] if max_len is None else max_len
        if length <= 0:
            raise ValueError(f"max_len must be positive, got {length}")
        return masked.sum() / (n_seq * length)
    raise ValueError(f"unknown loss aggregation mode {mode!r}; choose one of {AGG_MODES}")


def local_scale(mask: torch.Tensor, mode: str = "token-mean", **agg_kw) -> torch.Tensor:
    """Factor (scalar tensor, no device sync) turning this micro-batch's share of a global-denominator
    ``aggregate`` into its own value over its own tokens (1 without global counts; 0 for an all-padding
    micro-batch). Metrics are reported as micro-batch values and weighted by token share afterwards, so
    logged losses do not shrink with the number of micro-batches or ranks."""
    ones = mask.to(torch.float32)
    share = aggregate(ones, mask, mode, **agg_kw)
    own = aggregate(ones, mask, mode, max_len=agg_kw.get("max_len"))
    return torch.where(share > 0, own / share.clamp(min=torch.finfo(share.dtype).tiny), torch.zeros_like(share))
