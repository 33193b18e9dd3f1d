"""RL algorithms as pure tensor functions: advantages, policy losses, KL, entropy controls, DAPO pieces.

Registries (add your own with ``@REGISTRY.register("name")``): ``ADVANTAGES``, ``POLICY_LOSSES``,
``KL_ESTIMATORS``, ``ENTROPY_CONTROLS``, and ``CONFIG_RULES`` for config-load checks. Every module of
this package is imported here, so a new algorithm is one new file (see README, "Add your own algorithm").
See docs/algorithms.md for the exact rules.
"""

import importlib
import pkgutil

from .advantages import ADVANTAGES, broadcast_to_tokens, compute_advantages, register_advantage
from .aggregate import AGG_MODES, aggregate, masked_mean
from .dapo import informative_groups, overlong_penalty, scale_binary_rewards
from .entropy import (
    ENTROPY_CONTROLS,
    AdaptiveEntropy,
    ClipCov,
    EntropyAdv,
    EntropyBonus,
    EntropyControl,
    KLCov,
    build_entropy_control,
    entropy_advantage,
)
from .groups import group_index
from .kl import KL_ESTIMATORS, kl_penalty
from .objective import actor_loss
from .policy_loss import (
    POLICY_LOSSES,
    clip_cov_token_loss,
    kl_cov_token_loss,
    ppo_clip_loss,
    ppo_clip_token_loss,
)
from .registry import Registry

# Every other module of this package registers its algorithms on import: a new algorithm is one new file.
for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = [
    "ADVANTAGES", "AGG_MODES", "ENTROPY_CONTROLS", "KL_ESTIMATORS", "POLICY_LOSSES", "AdaptiveEntropy",
    "ClipCov", "EntropyAdv", "EntropyBonus", "EntropyControl", "KLCov", "Registry", "actor_loss", "aggregate",
    "broadcast_to_tokens", "build_entropy_control", "clip_cov_token_loss", "compute_advantages",
    "entropy_advantage", "group_index", "informative_groups", "kl_cov_token_loss", "kl_penalty", "masked_mean",
    "overlong_penalty", "ppo_clip_loss", "ppo_clip_token_loss", "register_advantage", "scale_binary_rewards",
]
