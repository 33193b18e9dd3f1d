"""GSPO: sequence-level importance ratio (Zheng et al., Qwen, arXiv 2507.18071), token form as in verl."""

from __future__ import annotations

import torch

from .aggregate import check_token_shapes, masked_mean
from .policy_loss import POLICY_LOSSES
from .rules import config_rule


@POLICY_LOSSES.register("gspo")
def gspo_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 3e-4,
    clip_high: float = 4e-4,
    dual_clip: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """GSPO-token loss, [N, T] -> [N, T]:

        log s_i  = mean over the valid tokens of sequence i of (logp - old_logp)      (detached)
        s_{i,t}  = exp(min(log s_i + logp_t - sg(logp_t), 10))   (value s_i, gradient s_i * d logp_t)
        L        = max(-A s_{i,t}, -A clip(s_{i,t}, 1 - clip_low, 1 + clip_high))

    Every token of a sequence shares one ratio and one clip decision. The paper clips at 3e-4 / 4e-4 and
    aggregates per sequence (loss_agg seq-mean-token-mean, the preset). No dual clip (refused at config
    load). Metrics: clip_frac (tokens in clipped sequences), seq_ratio_mean (mean of s_i over sequences).
    """
    check_token_shapes(mask, logp=logp, old_logp=old_logp, advantages=advantages)
    valid = mask > 0
    m = mask.to(logp.dtype)
    lengths = m.sum(dim=1).clamp(min=1.0)
    log_seq = (((logp - old_logp) * m).sum(dim=1) / lengths).detach()
    log_ratio = (logp - logp.detach() + log_seq[:, None]).clamp(max=10.0)
    ratio = torch.exp(log_ratio)
    loss1 = -advantages * ratio
    loss2 = -advantages * ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(loss1, loss2)
    with torch.no_grad():
        rows = valid.any(dim=1)
        metrics = {
            "clip_frac": masked_mean((loss2 > loss1).float(), valid),
            "seq_ratio_mean": torch.exp(log_seq)[rows].mean() if rows.any() else torch.zeros(()),
            "approx_kl": masked_mean(old_logp - logp, valid),
        }
    return loss, metrics


@config_rule("gspo")
def _gspo_rule(cfg) -> list[str]:
    a = cfg.algo
    if a.policy_loss != "gspo":
        return []
    out = []
    if a.dual_clip is not None:
        out.append(f"algo.policy_loss=gspo has no dual clip (its ratio is per sequence): set algo.dual_clip=null "
                   f"(got {a.dual_clip})")
    if a.top_entropy_quantile < 1.0:
        out.append("algo.policy_loss=gspo optimises whole sequences; algo.top_entropy_quantile="
                   f"{a.top_entropy_quantile} would drop tokens from the sequence ratio's gradient: use 1.0")
    if cfg.uec.enabled and cfg.uec.importance_correction:
        out.append("algo.policy_loss=gspo with uec.importance_correction=true: per-token importance weights have "
                   "no meaning under one sequence-level ratio; set uec.importance_correction=false")
    return out
