"""REINFORCE++ with a group baseline (Hu et al. 2501.03262), as verl's ``reinforce_plus_plus_baseline``."""

from __future__ import annotations

import torch

from .advantages import _group_stats, register_advantage


@register_advantage("reinforce_pp_baseline")
def reinforce_pp_baseline_advantage(
    rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """REINFORCE++-baseline: subtract the group mean, then whiten over the whole batch's response tokens.

        d_i = r_i - mean_g(r)                       (0 for a group of size 1, the project's convention)
        A_i = (d_i - mu) / sqrt(var + 1e-8)         mu, var = mean and UNBIASED variance of d over tokens

    Every response token carries its sequence's d_i, so a sequence weighs by its length ``lengths`` [N]
    (verl's ``masked_whiten`` over the response mask); ``lengths=None`` weighs every sequence 1. Singleton
    groups stay 0 after whitening. rewards, group_ids [N] -> [N]; ``eps`` unused (verl uses 1e-8 inside).
    """
    r, _, _, n, mean = _group_stats(rewards, group_ids)
    d = torch.where(n > 1, r - mean, torch.zeros_like(r))
    w = torch.ones_like(d) if lengths is None else lengths.detach().to(torch.float64)
    if w.shape != d.shape:
        raise ValueError(f"lengths has shape {tuple(w.shape)}, expected [N={d.shape[0]}]")
    total = w.sum()
    if total <= 1:
        return torch.zeros_like(rewards)
    mu = (w * d).sum() / total
    var = (w * (d - mu) ** 2).sum() / total * total / (total - 1)
    adv = (d - mu) * torch.rsqrt(var + 1e-8)
    return torch.where(n > 1, adv, torch.zeros_like(adv)).to(rewards.dtype)
