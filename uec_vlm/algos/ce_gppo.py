"""CE-GPPO: bounded gradients from PPO-clipped tokens (Su et al., Kuaishou, arXiv 2509.20712)."""

from __future__ import annotations

import torch

from .policy_loss import POLICY_LOSSES, _ppo_terms


@POLICY_LOSSES.register("ce_gppo")
def ce_gppo_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    beta1: float = 0.75,
    beta2: float = 1.0,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO clip, except that tokens PPO clips keep a bounded gradient, [N, T] -> [N, T]:

        A < 0 and r < 1 - clip_low:   L = -beta1 (1 - clip_low) r / sg(r) A    (value -beta1 (1 - clip_low) A)
        A > 0 and r > 1 + clip_high:  L = -beta2 (1 + clip_high) r / sg(r) A
        otherwise:                    L = -A r
    then, for A < 0, the dual clip L = min(L, -A c). beta1 weighs negative low-probability tokens (their
    gradient lowers entropy), beta2 positive low-probability ones (raises it); defaults 0.75 / 1.0 are the
    authors' released code. beta1 = beta2 = 0 gives back PPO clip. Metrics: the ppo_clip metrics.
    """
    loss, ratio, clipped, metrics = _ppo_terms(logp, old_logp, advantages, mask, clip_low, clip_high, None)
    bound = torch.where(advantages < 0, beta1 * (1.0 - clip_low), beta2 * (1.0 + clip_high))
    loss = torch.where(clipped, -bound * ratio / ratio.detach() * advantages, loss)
    if dual_clip is not None:
        if dual_clip <= 1.0:
            raise ValueError(f"dual_clip must be > 1 (or None), got {dual_clip}")
        capped = torch.minimum(loss, -advantages * dual_clip)
        metrics["dual_clip_frac"] = ((capped < loss) & (advantages < 0) & (mask > 0)).float().sum() / (
            (mask > 0).float().sum().clamp(min=1.0))
        loss = torch.where(advantages < 0, capped, loss)
    return loss, metrics
