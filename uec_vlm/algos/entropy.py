"""Entropy controls: one object per run, built by name from ``ENTROPY_CONTROLS``.

Contract (the trainer calls, in this order; ``actor_loss`` in ``objective.py`` does steps 2-4):

1. once per training step, before the update: ``control.observe(mean_entropy)`` with the token-mean
   full-vocabulary entropy of the step's rollout batch (AER, Skywork and EntroPIC use it; the trainer
   averages it over ranks so every rank's controller state is identical);
2. per micro-batch: ``advantages = control.shape_advantages(advantages [N, T], entropy [N, T], mask)``
   (Entropy-Adv changes advantages; the rest return them unchanged);
3. the per-token loss comes from ``POLICY_LOSSES[control.policy_loss]`` called with
   ``**control.policy_loss_kwargs()`` (KL-Cov and Clip-Cov replace the PPO-clip token loss), then is
   multiplied by ``control.token_weights(advantages, old_logp, mask)`` when that is not None (EntroPIC);
4. ``loss = loss - control.bonus(entropy, mask, pass_rate=..., agg=...)`` (fixed bonus and AER add an
   entropy term; ``entropy`` must then carry gradient, i.e. be computed from the policy logits).

State that must survive a resume is in ``state_dict``/``load_state_dict`` (AER's alpha and H0).
A user control subclasses ``EntropyControl`` and registers with ``@ENTROPY_CONTROLS.register("name")``.
"""

from __future__ import annotations

from typing import Any

import torch

from .aggregate import aggregate, check_token_shapes
from .registry import Registry

ENTROPY_CONTROLS = Registry("entropy control")


class EntropyControl:
    """No control: the base class whose no-op hooks the other controls override."""

    policy_loss = "ppo_clip"

    def observe(self, mean_entropy: float) -> None:
        """Called once per training step with the rollout batch's token-mean entropy."""

    def shape_advantages(
        self, advantages: torch.Tensor, entropy: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        """advantages [N, T] -> [N, T]."""
        return advantages

    def policy_loss_kwargs(self) -> dict[str, Any]:
        return {}

    def token_weights(
        self, advantages: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor | None:
        """Per-token loss weights [N, T] (detached), or None for none (EntroPIC re-weights tokens)."""
        return None

    @property
    def needs_observation(self) -> bool:
        """True for controls that override ``observe``: the trainer then measures the batch entropy first."""
        return type(self).observe is not EntropyControl.observe

    def bonus(
        self,
        entropy: torch.Tensor | None,
        mask: torch.Tensor,
        *,
        pass_rate: torch.Tensor | None = None,
        agg: str = "token-mean",
        **agg_kwargs: Any,
    ) -> torch.Tensor:
        """Scalar SUBTRACTED from the loss (so the optimiser raises entropy). 0 here."""
        return torch.zeros((), device=mask.device)

    def metrics(self) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""


ENTROPY_CONTROLS["none"] = EntropyControl


def _need_entropy(entropy: torch.Tensor | None, mask: torch.Tensor, who: str) -> torch.Tensor:
    if entropy is None:
        raise ValueError(f"entropy control {who!r} needs per-token entropy [N, T], got None")
    check_token_shapes(mask, entropy=entropy)
    return entropy


@ENTROPY_CONTROLS.register("bonus")
class EntropyBonus(EntropyControl):
    """Fixed bonus: loss -= coef * agg(entropy) (same aggregation as the policy loss)."""

    def __init__(self, coef: float = 0.0):
        self.coef = float(coef)

    def bonus(self, entropy, mask, *, pass_rate=None, agg="token-mean", **agg_kwargs):
        entropy = _need_entropy(entropy, mask, "bonus")
        return self.coef * aggregate(entropy, mask, agg, **agg_kwargs)


@ENTROPY_CONTROLS.register("aer")
class AdaptiveEntropy(EntropyControl):
    """AER-style adaptive entropy regularisation (arXiv 2510.10959 has no public code; this is OUR rule).

    Per training step t, ``observe(H_t)`` with H_t the token-mean entropy of the rollout batch:
        H0 = H_1 (captured once, at the first observed step);  H* = tau * H0
        alpha <- clip(alpha + eta * (H* - H_t), 0, alpha_max)      (updated BEFORE this step's loss)
    Per sample i of a prompt with pass rate p_i (group accuracy):
        w_i = (1 - p_i) * [p_i < rho]      (rho = 1.0: linear in difficulty; rho < 1: only hard prompts)
    and the loss term is  loss -= alpha * agg(w_i * H_{i,t})  with the policy loss's aggregation.
    Starting at H_1 = H0 > H*, alpha shrinks to 0 and the bonus switches on only once entropy falls
    below tau * H0, holding entropy in a band below its initial level.
    """

    def __init__(
        self, tau: float = 0.4, eta: float = 0.01, alpha_init: float = 0.0, alpha_max: float = 0.01,
        rho: float = 1.0,
    ):
        if not 0 < tau:
            raise ValueError(f"aer.tau must be > 0, got {tau}")
        if not 0 <= alpha_init <= alpha_max:
            raise ValueError(f"need 0 <= aer.alpha_init <= aer.alpha_max, got {alpha_init}, {alpha_max}")
        self.tau, self.eta, self.alpha_max, self.rho = float(tau), float(eta), float(alpha_max), float(rho)
        self.alpha = float(alpha_init)
        self.h0: float | None = None
        self.last_entropy: float | None = None

    @property
    def target(self) -> float | None:
        return None if self.h0 is None else self.tau * self.h0

    def observe(self, mean_entropy: float) -> None:
        h = float(mean_entropy)
        if h != h:  # NaN would poison alpha forever
            raise ValueError("AER observed a NaN mean entropy")
        if self.h0 is None:
            self.h0 = h
        self.last_entropy = h
        self.alpha = min(max(self.alpha + self.eta * (self.tau * self.h0 - h), 0.0), self.alpha_max)

    def weights(self, pass_rate: torch.Tensor) -> torch.Tensor:
        """Per-sample pass rate of its prompt [N] in [0, 1] -> difficulty weight [N]."""
        p = pass_rate.to(torch.float32)
        return (1.0 - p) * (p < self.rho).to(torch.float32)

    def bonus(self, entropy, mask, *, pass_rate=None, agg="token-mean", **agg_kwargs):
        entropy = _need_entropy(entropy, mask, "aer")
        if pass_rate is None or pass_rate.shape != (mask.shape[0],):
            raise ValueError(f"AER needs pass_rate [N={mask.shape[0]}] (group accuracy per sample), got "
                             f"{None if pass_rate is None else tuple(pass_rate.shape)}")
        w = self.weights(pass_rate).to(entropy.dtype)[:, None]
        return self.alpha * aggregate(w * entropy, mask, agg, **agg_kwargs)

    def metrics(self):
        out = {"aer/alpha": self.alpha}
        if self.h0 is not None:
            out["aer/target_entropy"] = self.tau * self.h0
        return out

    def state_dict(self):
        return {"alpha": self.alpha, "h0": self.h0, "last_entropy": self.last_entropy}

    def load_state_dict(self, state):
        self.alpha, self.h0 = float(state["alpha"]), state["h0"]
        self.last_entropy = state.get("last_entropy")


@ENTROPY_CONTROLS.register("kl_cov")
class KLCov(EntropyControl):
    """Replaces the token loss with ``kl_cov_token_loss`` (see policy_loss.py)."""

    policy_loss = "kl_cov"

    def __init__(self, ratio: float = 2e-4, beta: float = 1.0):
        self.ratio, self.beta = float(ratio), float(beta)

    def policy_loss_kwargs(self):
        return {"ratio": self.ratio, "beta": self.beta}


@ENTROPY_CONTROLS.register("clip_cov")
class ClipCov(EntropyControl):
    """Replaces the token loss with ``clip_cov_token_loss`` (see policy_loss.py)."""

    policy_loss = "clip_cov"

    def __init__(self, ratio: float = 2e-4, lb: float = 1.0, ub: float = 5.0):
        self.ratio, self.lb, self.ub = float(ratio), float(lb), float(ub)

    def policy_loss_kwargs(self):
        return {"ratio": self.ratio, "lb": self.lb, "ub": self.ub}


def entropy_advantage(
    advantages: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor, *, alpha: float = 0.4, kappa: float = 2.0
) -> torch.Tensor:
    """Entropy-Adv (Cheng et al. 2506.14758): A_t + min(alpha * H_t, |A_t| / kappa), H_t detached.

    advantages, entropy, mask [N, T] -> [N, T] (0 on padding). With kappa >= 1 the sign of A never flips.
    """
    check_token_shapes(mask, advantages=advantages, entropy=entropy)
    if kappa <= 0:
        raise ValueError(f"entropy_adv.kappa must be > 0, got {kappa}")
    shaped = advantages + torch.minimum(alpha * entropy.detach(), advantages.abs() / kappa)
    return shaped * mask.to(shaped.dtype)


@ENTROPY_CONTROLS.register("entropy_adv")
class EntropyAdv(EntropyControl):
    """Shapes advantages with ``entropy_advantage``."""

    def __init__(self, alpha: float = 0.4, kappa: float = 2.0):
        self.alpha, self.kappa = float(alpha), float(kappa)

    def shape_advantages(self, advantages, entropy, mask):
        entropy = _need_entropy(entropy, mask, "entropy_adv")
        return entropy_advantage(advantages, entropy, mask, alpha=self.alpha, kappa=self.kappa)


def build_entropy_control(name: str, **params: Any) -> EntropyControl:
    """``build_entropy_control("aer", tau=0.4, ...)``; unknown parameters raise naming the control."""
    cls = ENTROPY_CONTROLS.get(name)
    try:
        return cls(**params)
    except TypeError as e:
        raise TypeError(f"entropy control {name!r}: bad parameters {sorted(params)}: {e}") from None
