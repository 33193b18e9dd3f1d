"""CISPO: clip the importance-sampling weight, not the update (MiniMax-M1, arXiv 2506.13585)."""

from __future__ import annotations

import torch

from .aggregate import check_token_shapes, masked_mean
from .policy_loss import POLICY_LOSSES
from .rules import config_rule


@POLICY_LOSSES.register("cispo")
def cispo_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 4.0,
    dual_clip: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """CISPO per token, [N, T] -> [N, T]:

        r = exp(logp - old_logp)  (log-ratio clamped to [-20, 20])
        L = -sg(min(r, 1 + clip_high)) * A * logp

    Every token keeps a gradient (-w A d logp); clipping only bounds its weight w from above. There is no
    lower bound (MiniMax-M1 sets its epsilon_low "large"; TRL clamps only at epsilon_high), so ``clip_low``
    is not used. The preset's clip_high 4.0 caps w at 5.0, TRL's ``epsilon_high`` for cispo. No dual clip
    (refused at config load). Metrics: cispo_clip_frac (A > 0 and r above the cap, as TRL logs it),
    approx_kl, ratio_mean.
    """
    check_token_shapes(mask, logp=logp, old_logp=old_logp, advantages=advantages)
    ratio = torch.exp((logp - old_logp).clamp(min=-20.0, max=20.0)).detach()
    weight = ratio.clamp(max=1.0 + clip_high)
    loss = -weight * advantages * logp
    valid = mask > 0
    with torch.no_grad():
        metrics = {
            "cispo_clip_frac": masked_mean(((ratio > 1.0 + clip_high) & (advantages > 0)).float(), valid),
            "approx_kl": masked_mean(old_logp - logp, valid),
            "ratio_mean": masked_mean(ratio, valid),
        }
    return loss, metrics


@config_rule("cispo")
def _cispo_rule(cfg) -> list[str]:
    a = cfg.algo
    if a.policy_loss == "cispo" and a.dual_clip is not None:
        return [f"algo.policy_loss=cispo has no min/max branch for a dual clip to bound: set algo.dual_clip=null "
                f"(got {a.dual_clip})"]
    return []
