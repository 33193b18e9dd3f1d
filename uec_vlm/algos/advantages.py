"""Outcome-reward advantage estimators, one scalar per sequence.

Every estimator has the signature ``fn(rewards [N] float, group_ids [N] long, *, eps=1e-6) -> [N]`` and
is looked up by name in ``ADVANTAGES``. A group of size 1 has no baseline to compare against, so every
built-in estimator gives it advantage 0 (verl/EasyR1 instead return the raw reward for such a group).
Statistics are computed in float64 and the result is cast back to ``rewards.dtype``.
"""

from __future__ import annotations

import inspect

import torch

from .groups import check_same_length, group_index, group_sum
from .registry import Registry

ADVANTAGES = Registry("advantage estimator")


def register_advantage(name: str, *, overwrite: bool = False):
    """Decorator: ``@register_advantage("mine") def mine(rewards, group_ids, *, eps=1e-6) -> [N]``."""
    return ADVANTAGES.register(name, overwrite=overwrite)


def _group_stats(rewards: torch.Tensor, group_ids: torch.Tensor):
    """-> (r [N] float64, inverse [N], G, group size per sample [N], group mean per sample [N])."""
    check_same_length(rewards=rewards, group_ids=group_ids)
    r = rewards.detach().to(torch.float64)
    _, inverse, counts = group_index(group_ids)
    g = counts.shape[0]
    mean = group_sum(r, inverse, g) / counts.to(torch.float64)
    return r, inverse, g, counts[inverse].to(torch.float64), mean[inverse]


@register_advantage("grpo")
def grpo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """A_i = (r_i - mean_g) / (std_g + eps), std unbiased (n - 1), as in the released UEC-RL/EasyR1 code.

    rewards [N], group_ids [N] -> [N]; groups of size 1 -> 0.
    """
    r, inverse, g, n, mean = _group_stats(rewards, group_ids)
    dev = r - mean
    sq = group_sum(dev * dev, inverse, g)[inverse]
    std = torch.sqrt(sq / (n - 1).clamp(min=1.0))
    adv = torch.where(n > 1, dev / (std + eps), torch.zeros_like(r))
    return adv.to(rewards.dtype)


@register_advantage("drgrpo")
def drgrpo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """Dr. GRPO: A_i = r_i - mean_g (no std division; ``eps`` unused). [N] -> [N]; size-1 groups -> 0."""
    r, _, _, n, mean = _group_stats(rewards, group_ids)
    return torch.where(n > 1, r - mean, torch.zeros_like(r)).to(rewards.dtype)


@register_advantage("rloo")
def rloo_advantage(rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """RLOO: A_i = r_i - mean of the other n-1 rewards of the group = n/(n-1) * (r_i - mean_g).

    [N] -> [N]; size-1 groups -> 0; ``eps`` unused.
    """
    r, _, _, n, mean = _group_stats(rewards, group_ids)
    adv = (r - mean) * n / (n - 1).clamp(min=1.0)
    return torch.where(n > 1, adv, torch.zeros_like(r)).to(rewards.dtype)


def compute_advantages(
    name: str, rewards: torch.Tensor, group_ids: torch.Tensor, *, eps: float = 1e-6,
    lengths: torch.Tensor | None = None, **params,
) -> torch.Tensor:
    """Look ``name`` up in ``ADVANTAGES`` and run it with ``params`` (algo.params.<name>). [N], [N] -> [N].

    ``lengths`` [N] (response tokens) is passed only to estimators that declare a ``lengths`` parameter.
    """
    fn = ADVANTAGES.get(name)
    if lengths is not None and "lengths" in inspect.signature(fn).parameters:
        params["lengths"] = lengths
    return fn(rewards, group_ids, eps=eps, **params)


def broadcast_to_tokens(advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sequence advantages [N] -> per-token [N, T] (zero on padding); an [N, T] input is only masked."""
    if advantages.dim() == 1:
        if advantages.shape[0] != mask.shape[0]:
            raise ValueError(f"advantages [N={advantages.shape[0]}] vs mask {tuple(mask.shape)}")
        advantages = advantages[:, None]
    elif advantages.shape != mask.shape:
        raise ValueError(f"advantages {tuple(advantages.shape)} must be [N] or match mask {tuple(mask.shape)}")
    return advantages * mask.to(advantages.dtype)
