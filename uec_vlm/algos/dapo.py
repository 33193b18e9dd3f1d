"""DAPO reward shaping and group filtering (Yu et al. 2503.14476)."""

from __future__ import annotations

import torch

from .groups import check_same_length, group_index

REWARD_SCALES = ("01", "pm1")


def overlong_penalty(lengths: torch.Tensor, max_len: int, buffer: int, factor: float = 1.0) -> torch.Tensor:
    """Soft overlong punishment, added to the reward: min(-(L - (L_max - B)) / B * factor, 0).

    lengths [N] (response tokens) -> [N] float32: 0 up to L_max - B, then linear down to -factor at L_max.
    Lengths above L_max are not clamped (the penalty keeps growing), as in DAPO's formula.
    """
    if not 0 < buffer <= max_len:
        raise ValueError(f"overlong buffer must satisfy 0 < buffer <= max_len, got buffer={buffer}, max_len={max_len}")
    excess = lengths.to(torch.float32) - (max_len - buffer)
    return torch.clamp(-excess / buffer * factor, max=0.0)


def informative_groups(rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """Dynamic-sampling filter: True for samples whose group's values are not all equal.

    rewards [N], group_ids [N] -> bool [N]. DAPO keeps groups by ACCURACY: pass the correctness {0, 1} of
    each sample (then this is 0 < correct < n), never the shaped training reward, which overlong shaping
    makes unequal inside an all-wrong group. A group of size 1 is constant and therefore dropped.
    """
    check_same_length(rewards=rewards, group_ids=group_ids)
    _, inverse, counts = group_index(group_ids)
    g = counts.shape[0]
    lo = torch.full((g,), float("inf"), dtype=torch.float64, device=rewards.device)
    hi = torch.full((g,), float("-inf"), dtype=torch.float64, device=rewards.device)
    r = rewards.detach().to(torch.float64)
    lo = lo.scatter_reduce(0, inverse, r, reduce="amin")
    hi = hi.scatter_reduce(0, inverse, r, reduce="amax")
    return (hi > lo)[inverse]


def scale_binary_rewards(accuracy: torch.Tensor, scale: str = "01") -> torch.Tensor:
    """Binary accuracy {0, 1} [N] -> rewards [N]: "01" keeps it, "pm1" maps to {-1, +1} (DAPO)."""
    if scale == "01":
        return accuracy.to(torch.float32)
    if scale == "pm1":
        return accuracy.to(torch.float32) * 2.0 - 1.0
    raise ValueError(f"unknown reward_scale {scale!r}; choose one of {REWARD_SCALES}")
