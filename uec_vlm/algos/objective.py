"""The actor objective of one (micro-)batch: advantages -> entropy control -> policy loss -> KL -> bonus."""

from __future__ import annotations

import torch

from .advantages import broadcast_to_tokens
from .aggregate import aggregate, check_token_shapes, local_scale, masked_mean
from .entropy import EntropyControl
from .kl import kl_penalty
from .policy_loss import POLICY_LOSSES
from .token_select import top_entropy_mask


def actor_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    entropy: torch.Tensor | None = None,
    ref_logp: torch.Tensor | None = None,
    control: EntropyControl | None = None,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    kl_coef: float = 0.0,
    kl_kind: str = "k3",
    agg: str = "token-mean",
    global_tokens: int | None = None,
    global_seqs: int | None = None,
    max_len: int | None = None,
    token_weights: torch.Tensor | None = None,
    pass_rate: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    policy_loss: str = "ppo_clip",
    policy_loss_kwargs: dict | None = None,
    top_entropy_quantile: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss to backpropagate for one micro-batch, and its metrics.

    Shapes: logp, old_logp, mask, entropy, ref_logp, token_weights [N, T]; advantages [N] or [N, T];
    pass_rate [N] (AER only). Steps:
        A = control.shape_advantages(broadcast(A), entropy, mask)
        L_tok = POLICY_LOSSES[policy_loss](..., **policy_loss_kwargs)   (a control's own loss, KL-Cov /
                Clip-Cov, replaces it; combining both is refused at config load)
        L_tok *= token_weights (importance weights) * control.token_weights(A, old_logp, mask) (EntroPIC)
                 * top_entropy_mask(entropy, mask, top_entropy_quantile)      (all detached)
        loss = agg(L_tok) + kl_coef * agg(kl_penalty(logp, ref_logp)) - control.bonus(entropy, ...)
    Every term uses the same aggregation and global denominators, so micro-batch losses sum to the
    mini-batch loss. Metrics: pg_loss, kl (if kl_coef), entropy (token mean, if given), entropy_bonus,
    plus the policy loss's own metrics; all detached, each this micro-batch's own value (`local_scale`).
    """
    control = control or EntropyControl()
    check_token_shapes(mask, logp=logp, entropy=entropy, ref_logp=ref_logp, token_weights=token_weights)
    agg_kw = {"global_tokens": global_tokens, "global_seqs": global_seqs, "max_len": max_len}
    adv = control.shape_advantages(broadcast_to_tokens(advantages, mask), entropy, mask)
    own = control.policy_loss != "ppo_clip"
    loss_mat, metrics = POLICY_LOSSES.get(control.policy_loss if own else policy_loss)(
        logp, old_logp, adv, mask, clip_low=clip_low, clip_high=clip_high, dual_clip=dual_clip,
        generator=generator, **(control.policy_loss_kwargs() if own else (policy_loss_kwargs or {})),
    )
    metrics = dict(metrics)
    if token_weights is not None:
        loss_mat = loss_mat * token_weights.detach()
    control_weights = control.token_weights(adv, old_logp, mask)
    if control_weights is not None:
        loss_mat = loss_mat * control_weights.detach()
        metrics["control_weight_mean"] = masked_mean(control_weights.detach(), mask)
    if top_entropy_quantile < 1.0:
        if entropy is None:
            raise ValueError(f"top_entropy_quantile={top_entropy_quantile} needs per-token entropy [N, T]")
        selected = top_entropy_mask(entropy, mask, top_entropy_quantile)
        # Unselected tokens stay in the denominator (TRL multiplies the token loss by the mask).
        loss_mat = loss_mat * selected.to(loss_mat.dtype)
        metrics["selected_token_frac"] = masked_mean(selected.float(), mask)
    pg_loss = aggregate(loss_mat, mask, agg, **agg_kw)
    loss = pg_loss
    local = local_scale(mask, agg, **agg_kw)  # metrics: this micro-batch's own value, not its share
    metrics["pg_loss"] = pg_loss.detach() * local
    if kl_coef:
        if ref_logp is None:
            raise ValueError(f"kl_coef={kl_coef} needs ref_logp [N, T]")
        kl = aggregate(kl_penalty(logp, ref_logp, kl_kind), mask, agg, **agg_kw)
        loss = loss + kl_coef * kl
        metrics["kl"] = kl.detach() * local
    bonus = control.bonus(entropy, mask, pass_rate=pass_rate, agg=agg, **agg_kw)
    loss = loss - bonus
    metrics["entropy_bonus"] = bonus.detach() * local
    if entropy is not None:
        metrics["entropy"] = masked_mean(entropy.detach(), mask)
    return loss, metrics
