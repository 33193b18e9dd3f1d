"""Pass@k-oriented advantages for binary rewards: verl's best-of-group rule and the analytic Pass@k advantage."""

from __future__ import annotations

import math

import torch

from .advantages import _group_stats, register_advantage
from .groups import group_sum
from .rules import config_rule


@register_advantage("passk_max")
def passk_max_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """verl's ``grpo_passk`` (arXiv 2503.19595): only the best sample of each group learns.

        A_best = (r_max - r_second) / (std_g + eps)   (std unbiased); every other sample: 0
    With binary rewards a group with exactly one correct sample gives it 1 / std, any other group gives 0.
    Ties are broken by the first sample in batch order. Groups of size 1 -> 0 (verl raises there).
    rewards, group_ids [N] -> [N].
    """
    r, inverse, g, n, mean = _group_stats(rewards, group_ids)
    dev = r - mean
    std = torch.sqrt(group_sum(dev * dev, inverse, g)[inverse] / (n - 1).clamp(min=1.0))
    adv = torch.zeros_like(r)
    for gid in range(g):
        idx = torch.nonzero(inverse == gid).squeeze(1)
        if idx.numel() < 2:
            continue
        top = torch.topk(r[idx], 2)  # topk keeps the earliest index among equal values
        best = idx[top.indices[0]]
        adv[best] = (top.values[0] - top.values[1]) / (std[best] + eps)
    return adv.to(rewards.dtype)


def _comb(n: int, k: int) -> int:
    return math.comb(n, k) if 0 <= k <= n else 0


@register_advantage("passk")
def passk_advantage(
    rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6, k: int = 4, threshold: float = 0.5
) -> torch.Tensor:
    """Analytic Pass@k advantage (Chen et al., "Pass@k Training", arXiv 2508.10751) for binary rewards.

    A group of n samples with c correct (reward >= ``threshold``, so {0,1} and {-1,+1} both work) is the
    set of its C(n, k) k-subsets; a subset scores 1 if it holds a correct sample. Then
        R = 1 - C(n-c, k) / C(n, k)           (the group's Pass@k),   s = sqrt(R (1 - R))
        A_correct = (1 - R) / s
        A_wrong   = (1 - R - C(n-c-1, k-1) / C(n-1, k-1)) / s
    and A = 0 when s = 0 (all correct or all wrong). k = 1 gives the GRPO advantage with the biased std.
    Needs k <= n for every group (a smaller group raises naming it). [N], [N] -> [N]; ``eps`` unused.
    """
    if k < 1:
        raise ValueError(f"passk advantage needs k >= 1, got {k}")
    r, inverse, g, n_per, _ = _group_stats(rewards, group_ids)
    correct = (r >= threshold).to(torch.float64)
    c_per = group_sum(correct, inverse, g)
    sizes = torch.bincount(inverse, minlength=g)
    a_pos = torch.zeros(g, dtype=torch.float64)
    a_neg = torch.zeros(g, dtype=torch.float64)
    for gid in range(g):
        n, c = int(sizes[gid]), int(c_per[gid])
        if n < k:
            raise ValueError(f"passk advantage: a group of {n} samples is smaller than k={k} "
                             f"(algo.params.passk.k must be <= rollout.n)")
        pass_k = 1.0 - _comb(n - c, k) / _comb(n, k)
        s = math.sqrt(pass_k * (1.0 - pass_k))
        if s == 0.0:
            continue
        a_pos[gid] = (1.0 - pass_k) / s
        a_neg[gid] = (1.0 - pass_k - _comb(n - c - 1, k - 1) / _comb(n - 1, k - 1)) / s
    adv = torch.where(correct > 0, a_pos[inverse], a_neg[inverse])
    return adv.to(rewards.dtype)


@config_rule("passk")
def _passk_rule(cfg) -> list[str]:
    if cfg.algo.advantage != "passk":
        return []
    k = int(cfg.algo.params.get("passk", {}).get("k", 4))
    groups = {"rollout.n": cfg.rollout.n}
    if cfg.uec.enabled and cfg.uec.explore:
        groups["uec.explore_n"] = cfg.uec.explore_n
    return [f"algo.params.passk.k={k} exceeds {key}={n}: Pass@k of a group needs k <= its size"
            for key, n in groups.items() if k > n]
