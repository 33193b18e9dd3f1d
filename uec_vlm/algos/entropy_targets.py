"""Controllers that hold the policy entropy at a target: Skywork-OR1's adaptive coefficient and EntroPIC.

Both observe, once per training step, the token-mean entropy H_t of the batch about to be trained on
(globally averaged over ranks by the trainer, so every rank holds the same state) and keep their state in
``state_dict`` for resume. The target is absolute (``target``) or relative to the first observed entropy
(``target_ratio`` * H_1); exactly one of the two must be set.
"""

from __future__ import annotations

from typing import Any

import torch

from .aggregate import aggregate
from .entropy import ENTROPY_CONTROLS, EntropyControl, _need_entropy


class _TargetEntropy(EntropyControl):
    """Shared target bookkeeping: H* = target, or target_ratio * H_1."""

    name = "target"

    def __init__(self, target: float, target_ratio: float):
        if (target > 0) == (target_ratio > 0):
            raise ValueError(f"{self.name}: set exactly one of target (absolute, nats) and target_ratio "
                             f"(x initial entropy), both > 0; got target={target}, target_ratio={target_ratio}")
        self.target, self.target_ratio = float(target), float(target_ratio)
        self.h0: float | None = None
        self.last_entropy: float | None = None

    def _observe_target(self, mean_entropy: float) -> float:
        h = float(mean_entropy)
        if h != h:
            raise ValueError(f"{self.name} observed a NaN mean entropy")
        if self.h0 is None:
            self.h0 = h
        self.last_entropy = h
        return self.target if self.target > 0 else self.target_ratio * self.h0


@ENTROPY_CONTROLS.register("skywork")
class SkyworkAdaptiveEntropy(_TargetEntropy):
    """Skywork-OR1 adaptive entropy control (arXiv 2505.22312, section 3.2.5), as the paper states it.

    With e_k the step's entropy and H* the target:
        alpha_k = c_k * [e_k <= H*]                       (the bonus acts only below the target)
        c_{k+1} = clip(c_k + delta if e_k < H* else c_k - delta, 0, coef_max)     (c_0 = coef_init)
    and the loss gets  - alpha_k * agg(H)  (entropy with gradient). Paper: target 0.2, delta 0.005, c_0 0;
    ``coef_max`` is our safety cap (the paper has none).
    """

    name = "skywork"

    def __init__(self, target: float = 0.0, target_ratio: float = 0.0, delta: float = 0.005,
                 coef_init: float = 0.0, coef_max: float = 1.0):
        super().__init__(target, target_ratio)
        if delta <= 0 or not 0 <= coef_init <= coef_max:
            raise ValueError(f"skywork: need delta > 0 and 0 <= coef_init <= coef_max, got {delta}, {coef_init}, "
                             f"{coef_max}")
        self.delta, self.coef_max = float(delta), float(coef_max)
        self.coef, self.alpha = float(coef_init), 0.0

    def observe(self, mean_entropy: float) -> None:
        target = self._observe_target(mean_entropy)
        h = self.last_entropy
        self.alpha = self.coef if h <= target else 0.0
        step = self.delta if h < target else -self.delta if h > target else 0.0
        self.coef = min(max(self.coef + step, 0.0), self.coef_max)

    def bonus(self, entropy, mask, *, pass_rate=None, agg="token-mean", **agg_kwargs):
        entropy = _need_entropy(entropy, mask, "skywork")
        return self.alpha * aggregate(entropy, mask, agg, **agg_kwargs)

    def metrics(self):
        return {"skywork/alpha": self.alpha, "skywork/coef": self.coef}

    def state_dict(self) -> dict[str, Any]:
        return {"coef": self.coef, "alpha": self.alpha, "h0": self.h0, "last_entropy": self.last_entropy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.coef, self.alpha = float(state["coef"]), float(state["alpha"])
        self.h0, self.last_entropy = state["h0"], state["last_entropy"]


@ENTROPY_CONTROLS.register("entropic")
class EntroPIC(_TargetEntropy):
    """EntroPIC-style PI control of the weight of entropy-lowering tokens (arXiv 2511.15248).

    Published: a PI controller on the entropy error sets a coefficient alpha that re-weights the loss of
    positive and negative samples, acting on high-probability positive tokens (whose reinforcement drives
    entropy down) and sparing low-probability negative ones. The exact released formula was not available
    here, so this is OUR rule, stated fully:
        e_t = H* - H_t;  I_t = I_{t-1} + e_t;  alpha_t = clip(kp e_t + ki I_t, -alpha_max, alpha_max)
        token weight w = 1 - alpha_t  on valid tokens with (A > 0 and p_old >= high_prob) or
                                      (A < 0 and p_old <= low_prob);   w = 1 elsewhere
    (p_old = exp(old_logp), the sampled token's probability under the rollout policy). Entropy below the
    target -> alpha > 0 -> those tokens weigh less -> entropy falls more slowly; above -> they weigh more.
    The integral is clamped so that ki * I stays within +-alpha_max (anti-windup).
    """

    name = "entropic"

    def __init__(self, target: float = 0.0, target_ratio: float = 0.0, kp: float = 1.0, ki: float = 0.1,
                 alpha_max: float = 0.5, high_prob: float = 0.9, low_prob: float = 0.1):
        super().__init__(target, target_ratio)
        if not 0 < alpha_max <= 1 or not 0 <= low_prob < high_prob <= 1:
            raise ValueError(f"entropic: need 0 < alpha_max <= 1 and 0 <= low_prob < high_prob <= 1, got "
                             f"{alpha_max}, {low_prob}, {high_prob}")
        self.kp, self.ki, self.alpha_max = float(kp), float(ki), float(alpha_max)
        self.high_prob, self.low_prob = float(high_prob), float(low_prob)
        self.integral, self.alpha = 0.0, 0.0

    def observe(self, mean_entropy: float) -> None:
        target = self._observe_target(mean_entropy)
        error = target - self.last_entropy
        self.integral += error
        if self.ki > 0:
            limit = self.alpha_max / self.ki
            self.integral = min(max(self.integral, -limit), limit)
        self.alpha = min(max(self.kp * error + self.ki * self.integral, -self.alpha_max), self.alpha_max)

    def token_weights(self, advantages: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        p = torch.exp(old_logp.detach())
        chosen = ((advantages > 0) & (p >= self.high_prob)) | ((advantages < 0) & (p <= self.low_prob))
        return torch.where(chosen & (mask > 0), 1.0 - self.alpha, 1.0).to(old_logp.dtype)

    def metrics(self):
        return {"entropic/alpha": self.alpha, "entropic/integral": self.integral}

    def state_dict(self) -> dict[str, Any]:
        return {"integral": self.integral, "alpha": self.alpha, "h0": self.h0, "last_entropy": self.last_entropy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.integral, self.alpha = float(state["integral"]), float(state["alpha"])
        self.h0, self.last_entropy = state["h0"], state["last_entropy"]
