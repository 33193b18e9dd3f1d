"""Per-token KL estimators between the policy and the reference model (Schulman, "Approximating KL")."""

from __future__ import annotations

import torch

from .aggregate import check_token_shapes
from .registry import Registry

KL_ESTIMATORS = Registry("KL estimator")


@KL_ESTIMATORS.register("k1")
def kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """logp - ref_logp (unbiased, high variance, can be negative). [N, T] -> [N, T]."""
    return logp - ref_logp


@KL_ESTIMATORS.register("k2")
def kl_k2(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """0.5 * (logp - ref_logp)^2. [N, T] -> [N, T]."""
    return 0.5 * (logp - ref_logp).square()


@KL_ESTIMATORS.register("k3")
def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """"low_var_kl": exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10]. [N, T] -> [N, T].

    ref - logp is first clamped to [-20, 20] (as verl/EasyR1) so exp cannot overflow.
    """
    d = (ref_logp - logp).clamp(min=-20.0, max=20.0)
    return (torch.exp(d) - d - 1.0).clamp(min=-10.0, max=10.0)


KL_ESTIMATORS["low_var_kl"] = kl_k3


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, kind: str = "k3") -> torch.Tensor:
    """Per-token KL estimate of policy vs reference; logp, ref_logp [N, T] -> [N, T] (unmasked)."""
    check_token_shapes(logp, ref_logp=ref_logp)
    return KL_ESTIMATORS.get(kind)(logp, ref_logp)
