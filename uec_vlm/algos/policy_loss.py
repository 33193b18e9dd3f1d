"""Per-token policy-gradient losses: PPO clip (+dual clip), KL-Cov and Clip-Cov (Cui et al. 2505.22617).

Registry contract (``POLICY_LOSSES``)::

    fn(logp, old_logp, advantages, mask, *, clip_low, clip_high, dual_clip, generator=None, **params)
        -> (loss_mat [N, T], metrics: dict[str, 0-d detached tensor])

``advantages`` is per token [N, T]. The loss matrix is reduced by ``aggregate`` afterwards, so a user loss
only decides per-token values. All metrics are means over valid tokens of the (micro-)batch given.
"""

from __future__ import annotations

import math

import torch

from .advantages import broadcast_to_tokens
from .aggregate import aggregate, check_token_shapes, masked_mean
from .registry import Registry

POLICY_LOSSES = Registry("policy loss")


def _ppo_terms(logp, old_logp, advantages, mask, clip_low, clip_high, dual_clip):
    """-> (loss_mat, ratio, clipped_branch bool [N, T], metrics). Shared by ppo_clip and clip_cov."""
    check_token_shapes(mask, logp=logp, old_logp=old_logp, advantages=advantages)
    if not (0 <= clip_low < 1 and clip_high >= 0):
        raise ValueError(f"need 0 <= clip_low < 1 and clip_high >= 0, got {clip_low}, {clip_high}")
    if dual_clip is not None and dual_clip <= 1.0:
        raise ValueError(f"dual_clip must be > 1 (or None), got {dual_clip}")
    log_ratio = (logp - old_logp).clamp(min=-20.0, max=20.0)
    ratio = torch.exp(log_ratio)
    clipped_ratio = torch.exp(log_ratio.clamp(min=math.log(1.0 - clip_low), max=math.log(1.0 + clip_high)))
    loss1 = -advantages * ratio
    loss2 = -advantages * clipped_ratio
    loss = torch.maximum(loss1, loss2)
    clipped_branch = loss2 > loss1
    valid = mask > 0
    dual = torch.zeros_like(valid)
    if dual_clip is not None:
        # Dual clip (Ye et al. 2020) bounds the loss of negative-advantage tokens whose ratio exploded.
        loss3 = -advantages * dual_clip
        dual = (advantages < 0) & (loss > loss3)
        loss = torch.where(advantages < 0, torch.minimum(loss, loss3), loss)
    with torch.no_grad():
        metrics = {
            "clip_frac_high": masked_mean((clipped_branch & (advantages > 0)).float(), valid),
            "clip_frac_low": masked_mean((clipped_branch & (advantages < 0)).float(), valid),
            "dual_clip_frac": masked_mean(dual.float(), valid),
            "approx_kl": masked_mean(old_logp - logp, valid),
            "ratio_mean": masked_mean(ratio, valid),
        }
    return loss, ratio, clipped_branch, metrics


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-token PPO clip loss, all [N, T]:

        r = exp(logp - old_logp)   (log-ratio clamped to [-20, 20])
        L = max(-A r, -A clip(r, 1 - clip_low, 1 + clip_high));  if A < 0 and dual_clip: L = min(L, -A c)

    Metrics: clip_frac_high (A > 0 and the clipped branch is active, i.e. r > 1 + clip_high),
    clip_frac_low (A < 0 and r < 1 - clip_low), dual_clip_frac (A < 0 and r > c), approx_kl = mean of
    old_logp - logp, ratio_mean. ``generator`` is unused (registry signature).
    """
    loss, _, _, metrics = _ppo_terms(logp, old_logp, advantages, mask, clip_low, clip_high, dual_clip)
    return loss, metrics


def _valid_cov(logp, advantages, valid):
    """Cov_t = (A_t - mean A)(logp_t - mean logp) with means over valid tokens; -inf on padding. [N, T]."""
    a = advantages.detach()
    lp = logp.detach()
    cov = (a - masked_mean(a, valid)) * (lp - masked_mean(lp, valid))
    return cov.masked_fill(~valid, float("-inf"))


@POLICY_LOSSES.register("kl_cov")
def kl_cov_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    ratio: float = 2e-4,
    beta: float = 1.0,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """KL-Cov, as in the authors' verl code: NO ratio clipping (clip_* and dual_clip are ignored).

    All tokens: L = -A r. The k = max(1, floor(ratio * n_valid)) valid tokens with the largest
    Cov = (A - mean A)(logp - mean logp) (means over the valid tokens of THIS micro-batch) instead get
    L = -A r + beta * |logp - old_logp|. Ties in the top-k are broken by ``torch.topk``. [N, T] -> [N, T].
    Metrics: kl_cov_frac (selected / valid), approx_kl, ratio_mean.
    """
    check_token_shapes(mask, logp=logp, old_logp=old_logp, advantages=advantages)
    if ratio <= 0:
        raise ValueError(f"kl_cov ratio must be > 0, got {ratio}")
    valid = mask > 0
    log_ratio = (logp - old_logp).clamp(min=-20.0, max=20.0)
    r = torch.exp(log_ratio)
    loss = -advantages * r
    n_valid = int(valid.sum().item())
    selected = torch.zeros_like(valid)
    if n_valid > 0:
        k = min(max(1, int(ratio * n_valid)), n_valid)
        top = torch.topk(_valid_cov(logp, advantages, valid).flatten(), k).indices
        selected.view(-1)[top] = True
        loss = torch.where(selected, loss + beta * (logp - old_logp).abs(), loss)
    with torch.no_grad():
        metrics = {
            "kl_cov_frac": masked_mean(selected.float(), valid),
            "approx_kl": masked_mean(old_logp - logp, valid),
            "ratio_mean": masked_mean(r, valid),
        }
    return loss, metrics


@POLICY_LOSSES.register("clip_cov")
def clip_cov_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    ratio: float = 2e-4,
    lb: float = 1.0,
    ub: float = 5.0,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clip-Cov: the PPO clip loss, but some high-covariance tokens get no gradient at all.

    Candidates: valid tokens whose PPO clipped branch is NOT active and lb < Cov < ub (Cov as in kl_cov).
    n_clip = max(1, floor(ratio * n_valid)) (verl's rounding: at least one token whenever candidates
    exist); min(n_clip, n_candidates) candidates, drawn uniformly without replacement with ``torch.randperm``
    on the CPU from ``generator`` (reproducible), have their loss multiplied by 0. [N, T] -> [N, T].
    Metrics: the ppo_clip metrics plus clip_cov_frac (removed / valid).
    """
    if ratio <= 0:
        raise ValueError(f"clip_cov ratio must be > 0, got {ratio}")
    if not lb < ub:
        raise ValueError(f"clip_cov needs lb < ub, got lb={lb}, ub={ub}")
    loss, _, clipped_branch, metrics = _ppo_terms(
        logp, old_logp, advantages, mask, clip_low, clip_high, dual_clip
    )
    valid = mask > 0
    cov = _valid_cov(logp, advantages, valid)
    candidates = torch.nonzero(((cov > lb) & (cov < ub) & valid & ~clipped_branch).flatten()).squeeze(1)
    removed = torch.zeros_like(valid)
    if candidates.numel() > 0:
        n_clip = min(max(1, int(ratio * int(valid.sum().item()))), candidates.numel())
        perm = torch.randperm(candidates.numel(), generator=generator)[:n_clip]
        removed.view(-1)[candidates[perm.to(candidates.device)]] = True
        # Multiplying by 0 (not masking) keeps the token in the aggregation denominator, as released.
        loss = loss * (~removed).to(loss.dtype)
    metrics["clip_cov_frac"] = masked_mean(removed.float(), valid)
    return loss, metrics


def ppo_clip_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    agg: str = "token-mean",
    global_tokens: int | None = None,
    global_seqs: int | None = None,
    max_len: int | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO clip loss reduced to a scalar. advantages [N] (broadcast over tokens) or [N, T]; others [N, T].

    -> (loss, {clip_frac_low, clip_frac_high, dual_clip_frac, approx_kl, ratio_mean}).
    """
    adv = broadcast_to_tokens(advantages, mask)
    loss_mat, metrics = ppo_clip_token_loss(
        logp, old_logp, adv, mask, clip_low=clip_low, clip_high=clip_high, dual_clip=dual_clip
    )
    loss = aggregate(loss_mat, mask, agg, global_tokens=global_tokens, global_seqs=global_seqs, max_len=max_len)
    return loss, metrics
