"""PAPO (Wang et al., arXiv 2507.06448): an implicit perception loss from a masked-image forward.

Each trained response is scored twice by the policy: on its prompt as sampled and on a copy whose image has
random vision patches blackened. PAPO MAXIMISES the per-token KL between the two (k3 / low_var_kl, as the
official verl implementation; the k3 clamp at 10 bounds how far that term can be pushed, the "KL_prcp
hacking" the paper reports), optionally with a Double Entropy Loss that keeps both views' entropies down:

    loss += -gamma * agg(k3(logp, logp_masked)) + eta_full * agg(H_full) + eta_masked * agg(H_masked)

Both forwards carry gradient and run as ONE training-forward call (the masked rows appended to the batch), so
DDP/FSDP see one forward per backward. The official code blackens 14-px squares of the image with
probability 0.6, one mask per prompt; here a Qwen-VL vision patch (14 px for Qwen2/2.5-VL, 16 for Qwen3-VL)
is blackened with probability ``mask_ratio``, one mask per prompt and policy update, seeded from the prompt
uid so every rank masks a prompt the same way. Text-only prompts have no masked view (their term is 0).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import torch

from uec_vlm.prompts import with_pixel_values

from .aggregate import aggregate, check_token_shapes, local_scale
from .kl import kl_penalty
from .rules import config_rule


@dataclass
class PAPOSettings:
    """The update's PAPO settings (from algo.papo and the processor's normalisation constants)."""

    gamma: float
    eta_full: float
    eta_masked: float
    mask_ratio: float
    image_mean: tuple[float, ...]
    image_std: tuple[float, ...]


def mask_pixel_values(pixel_values: torch.Tensor, ratio: float, *, image_mean, image_std,
                      generator: torch.Generator) -> torch.Tensor:
    """Qwen-VL patch rows [P, C*rest] (normalised: (x - mean_c) / std_c) -> the same with each row (one
    vision patch) independently set to black (x = 0) with probability ``ratio``. Channel c occupies the
    c-th block of each row."""
    rows, width = pixel_values.shape
    channels = len(image_mean)
    if width % channels:
        raise ValueError(f"pixel_values width {width} is not a multiple of {channels} channels")
    black = torch.tensor([-m / s for m, s in zip(image_mean, image_std, strict=True)], dtype=pixel_values.dtype)
    drop = torch.rand(rows, generator=generator) < ratio
    out = pixel_values.clone()
    out.view(rows, channels, width // channels)[drop] = black[:, None]
    return out


def masked_prompt(prompt, settings: PAPOSettings, seed: int):
    """A copy of an encoded prompt (``PromptInputs``) with masked ``pixel_values``; the mask depends only on
    (seed, prompt.uid). Text-only prompts are returned as they are."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(prompt.uid.encode())) % (2**63))
    return with_pixel_values(prompt, lambda pv: mask_pixel_values(
        pv, settings.mask_ratio, image_mean=settings.image_mean, image_std=settings.image_std, generator=g))


def papo_loss(logp: torch.Tensor, logp_masked: torch.Tensor, entropy: torch.Tensor | None,
              entropy_masked: torch.Tensor | None, mask: torch.Tensor, *, gamma: float, eta_full: float = 0.0,
              eta_masked: float = 0.0, agg: str = "token-mean", **agg_kw) -> tuple[torch.Tensor, dict]:
    """PAPO's terms of one micro-batch: (loss to ADD to the policy loss, metrics).

    Shapes: logp, logp_masked, entropy, entropy_masked, mask [N, T]. loss = -gamma * agg(k3(logp,
    logp_masked)) + eta_full * agg(entropy) + eta_masked * agg(entropy_masked), every term aggregated like
    the policy loss (same mode, same global denominators ``agg_kw``). Metrics (detached, this micro-batch's
    own values): papo_kl, papo_entropy_masked (when given).
    """
    check_token_shapes(mask, logp=logp, logp_masked=logp_masked, entropy=entropy, entropy_masked=entropy_masked)
    if (eta_full and entropy is None) or (eta_masked and entropy_masked is None):
        raise ValueError("papo_loss: eta_full / eta_masked need the per-token entropy of that view [N, T]")
    kl = aggregate(kl_penalty(logp, logp_masked, "k3"), mask, agg, **agg_kw)
    loss = -gamma * kl
    local = local_scale(mask, agg, **agg_kw)
    metrics = {"papo_kl": kl.detach() * local}
    if eta_full:
        loss = loss + eta_full * aggregate(entropy, mask, agg, **agg_kw)
    if entropy_masked is not None:
        h_masked = aggregate(entropy_masked, mask, agg, **agg_kw)
        loss = loss + eta_masked * h_masked
        metrics["papo_entropy_masked"] = h_masked.detach() * local
    return loss, metrics


def settings_from_config(cfg, processor) -> PAPOSettings | None:
    """PAPOSettings from algo.papo and the processor's image normalisation, or None when PAPO is off."""
    p = cfg.algo.papo
    if not p.enabled:
        return None
    ip = processor.image_processor
    return PAPOSettings(gamma=p.gamma, eta_full=p.eta_full, eta_masked=p.eta_masked, mask_ratio=p.mask_ratio,
                        image_mean=tuple(ip.image_mean), image_std=tuple(ip.image_std))


@config_rule("papo")
def _papo_rule(cfg) -> list[str]:
    p = cfg.algo.papo
    if not p.enabled:
        return []
    out = []
    if not 0.0 < p.mask_ratio <= 1.0:
        out.append(f"algo.papo.mask_ratio={p.mask_ratio} must be in (0, 1]")
    for key in ("gamma", "eta_full", "eta_masked"):
        if getattr(p, key) < 0:
            out.append(f"algo.papo.{key}={getattr(p, key)} must be >= 0")
    if p.gamma == 0 and p.eta_full == 0 and p.eta_masked == 0:
        out.append("algo.papo.enabled=true with gamma, eta_full and eta_masked all 0 only doubles the update's "
                   "cost; set algo.papo.gamma (paper: 0.02 with GRPO, 0.01 with DAPO)")
    return out
