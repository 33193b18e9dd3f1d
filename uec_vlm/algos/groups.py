"""Group bookkeeping shared by advantage estimators, DAPO filtering and UEC pass rates."""

from __future__ import annotations

import torch


def check_same_length(**tensors: torch.Tensor) -> int:
    """Raise naming the culprit unless every tensor is 1-D with the same length; return that length."""
    n = None
    for name, t in tensors.items():
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D [N], got shape {tuple(t.shape)}")
        if n is None:
            n = t.shape[0]
        elif t.shape[0] != n:
            shapes = {k: tuple(v.shape) for k, v in tensors.items()}
            raise ValueError(f"length mismatch between {list(tensors)}: {shapes}")
    return int(n or 0)


def group_index(group_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Map arbitrary (non-contiguous, unordered) group ids to dense indices.

    group_ids [N] long -> (unique_ids [G] sorted, inverse [N] in [0, G), counts [G]).
    Samples are grouped strictly by id: two copies of one prompt with different ids stay separate groups.
    """
    if group_ids.dtype.is_floating_point:
        raise TypeError(f"group_ids must be an integer tensor, got {group_ids.dtype}")
    unique, inverse, counts = torch.unique(group_ids, sorted=True, return_inverse=True, return_counts=True)
    return unique, inverse, counts


def group_sum(values: torch.Tensor, inverse: torch.Tensor, n_groups: int) -> torch.Tensor:
    """values [N], inverse [N] -> per-group sums [G]."""
    return torch.zeros(n_groups, dtype=values.dtype, device=values.device).index_add_(0, inverse, values)
