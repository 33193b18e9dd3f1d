"""UEC-RL selection rules: pass rates, difficulty buckets, retention and replay masks, IS weights."""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..algos.aggregate import check_token_shapes
from ..algos.groups import check_same_length, group_index, group_sum

HARD, REGULAR, SOLVED = 0, 1, 2
BUCKET_NAMES = ("hard", "regular", "solved")
RULES = ("abs", "pos")


class PassRates(NamedTuple):
    group_ids: torch.Tensor  # [G] sorted unique ids
    rates: torch.Tensor  # [G] float32 in [0, 1]
    per_sample: torch.Tensor  # [N] the pass rate of each sample's group


def pass_rates(accuracy: torch.Tensor, group_ids: torch.Tensor, *, threshold: float = 1.0) -> PassRates:
    """Fraction of correct samples per group. accuracy [N], group_ids [N] -> PassRates.

    A sample is correct iff ``accuracy >= threshold``. Pass the ACCURACY reward, not a blended overall
    reward: the default 1.0 is right for binary {0, 1} and for DAPO's {-1, +1} scale alike.
    """
    check_same_length(accuracy=accuracy, group_ids=group_ids)
    ids, inverse, counts = group_index(group_ids)
    correct = (accuracy >= threshold).to(torch.float32)
    rates = group_sum(correct, inverse, counts.shape[0]) / counts.to(torch.float32)
    return PassRates(ids, rates, rates[inverse])


def difficulty_buckets(rates: torch.Tensor, *, hard_max: float = 0.0, solved_min: float = 1.0) -> torch.Tensor:
    """Pass rates [G] -> bucket [G] long: HARD (0) iff rate <= hard_max, SOLVED (2) iff rate >= solved_min,
    else REGULAR (1). Defaults = released code: hard means no rollout correct, solved means all correct.
    """
    if not hard_max < solved_min:
        raise ValueError(f"uec.hard_max_pass_rate ({hard_max}) must be < uec.solved_min_pass_rate ({solved_min})")
    out = torch.full(rates.shape, REGULAR, dtype=torch.long, device=rates.device)
    out[rates <= hard_max] = HARD
    out[rates >= solved_min] = SOLVED
    return out


def _rule_mask(advantages: torch.Tensor, rule: str, threshold: float, key: str) -> torch.Tensor:
    if rule == "abs":
        return advantages.abs() > threshold
    if rule == "pos":
        return advantages > threshold
    raise ValueError(f"{key} must be one of {RULES}, got {rule!r}")


def retention_mask(
    advantages: torch.Tensor,
    is_exploration: torch.Tensor,
    truncated: torch.Tensor,
    *,
    regular_min_abs_adv: float = 0.05,
    explore_rule: str = "abs",
    explore_threshold: float = 1.0,
    drop_truncated_positive: bool = True,
) -> torch.Tensor:
    """Which samples enter the batch buffer. advantages [N] float, is_exploration [N] bool,
    truncated [N] bool (hit the response-length limit) -> keep [N] bool.

    regular samples:     |A| > regular_min_abs_adv
    exploration samples: "abs": |A| > explore_threshold (released: 1.0);  "pos": A > explore_threshold
                         (paper: A > 0, i.e. explore_threshold 0.0)
    both: if drop_truncated_positive, samples with truncated and A > 0 are dropped.
    """
    check_same_length(advantages=advantages, is_exploration=is_exploration, truncated=truncated)
    explore = is_exploration.bool()
    keep = torch.where(
        explore,
        _rule_mask(advantages, explore_rule, explore_threshold, "uec.explore_rule"),
        advantages.abs() > regular_min_abs_adv,
    )
    if drop_truncated_positive:
        keep &= ~(truncated.bool() & (advantages > 0))
    return keep


def replay_mask(advantages: torch.Tensor, *, rule: str = "abs", threshold: float = 1.0) -> torch.Tensor:
    """Which just-trained samples enter the replay buffer. advantages [N] -> bool [N].

    "abs": |A| > threshold (released code); "pos": A > threshold (paper). Default threshold 1.0.
    """
    return _rule_mask(advantages, rule, threshold, "uec.replay.rule")


def importance_weights(
    logp_t1: torch.Tensor, logp_tprime: torch.Tensor, mask: torch.Tensor, *, max_weight: float | None = None
) -> torch.Tensor:
    """Per-token importance weights for exploration samples drawn at temperature t' != 1.

    logp_t1 [N, T]: log-prob of each sampled token under the old policy at temperature 1 (what the PPO
    ratio uses as old_logp); logp_tprime [N, T]: log-prob of the same token under the distribution it was
    actually sampled from, softmax(logits / t'). Returns w = exp(logp_t1 - logp_tprime) on valid tokens,
    1 on padding, capped at ``max_weight`` if given (truncated IS) -> [N, T], no gradient.

    What it corrects: the released code trains the t' samples as if they came from the T=1 policy. Weighting
    each token's loss by w makes the gradient an estimate of the on-policy (T=1) objective. It is the
    per-token correction (the product over the prefix is ignored, as in token-level TIS): biased, but with
    bounded variance. Use it as ``actor_loss(..., token_weights=w)``.
    """
    check_token_shapes(mask, logp_t1=logp_t1, logp_tprime=logp_tprime)
    w = torch.exp((logp_t1.detach() - logp_tprime.detach()).clamp(min=-20.0, max=20.0))
    if max_weight is not None:
        w = w.clamp(max=max_weight)
    return torch.where(mask > 0, w, torch.ones_like(w))
