"""NoisyRollout (Liu et al., arXiv 2504.13055): part of each group is sampled from a perturbed image.

Of the n rollouts of a prompt, n - n_noisy are generated from the clean image and n_noisy from a copy
whose pixels got Gaussian noise; all n form ONE group (shared advantages) and every sample is trained and
scored on the CLEAN prompt (the trainer keeps the clean prompt on each sample), as in the paper. The
noise std decays linearly to 0 over ``anneal_steps`` training steps (the paper anneals it too; its schedule
and its distortion are its own, ours is plain Gaussian pixel noise). UEC's exploration rollouts stay clean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from uec_vlm.prompts import with_pixel_values

from .rules import config_rule


def noise_std_at(step: int, std0: float, anneal_steps: int) -> float:
    """std0 * max(0, 1 - (step - 1) / anneal_steps) for training step ``step`` (from 1); constant if 0."""
    if anneal_steps <= 0:
        return float(std0)
    return float(std0) * max(0.0, 1.0 - (step - 1) / anneal_steps)


def perturb_pixel_values(pixel_values: torch.Tensor, std: float, *, image_mean, image_std,
                         generator: torch.Generator) -> torch.Tensor:
    """Qwen-VL patch rows [P, C*rest] (normalised: (x - mean_c) / std_c) -> the same with x + N(0, std^2)
    added in [0, 1] pixel space and clamped to [0, 1]. Channel c occupies the c-th block of each row."""
    rows, width = pixel_values.shape
    channels = len(image_mean)
    if width % channels:
        raise ValueError(f"pixel_values width {width} is not a multiple of {channels} channels")
    mean = torch.tensor(image_mean, dtype=torch.float32)[None, :, None]
    scale = torch.tensor(image_std, dtype=torch.float32)[None, :, None]
    x = pixel_values.float().reshape(rows, channels, -1) * scale + mean
    noise = torch.randn(x.shape, generator=generator) * std
    out = ((x + noise).clamp(0.0, 1.0) - mean) / scale
    return out.reshape(rows, width).to(pixel_values.dtype)


def perturb_prompt(prompt, std: float, *, image_mean, image_std, generator: torch.Generator):
    """A copy of an encoded prompt (``PromptInputs``) with noisy ``pixel_values``; text prompts unchanged."""
    if std <= 0:
        return prompt
    return with_pixel_values(prompt, lambda pv: perturb_pixel_values(pv, std, image_mean=image_mean,
                                                                     image_std=image_std, generator=generator))


def noisy_generate(generate: Callable, prompts: list, params, *, n_noisy: int, std: float, image_mean,
                   image_std) -> list[list]:
    """``generate(prompts, params)`` with n - n_noisy clean and n_noisy noisy completions per prompt
    (clean first). Seeded from params.seed, so a step is reproducible."""
    if not 1 <= n_noisy <= params.n:
        raise ValueError(f"algo.noisy_rollout.n_noisy={n_noisy} must be in [1, rollout.n={params.n}]")
    seed = 0 if params.seed is None else params.seed
    clean = generate(prompts, dataclasses.replace(params, n=params.n - n_noisy)) if params.n > n_noisy \
        else [[] for _ in prompts]
    g = torch.Generator().manual_seed(seed + 104729)
    noisy_prompts = [perturb_prompt(p, std, image_mean=image_mean, image_std=image_std, generator=g)
                     for p in prompts]
    noisy = generate(noisy_prompts, dataclasses.replace(params, n=n_noisy, seed=seed + 1))
    return [list(c) + list(x) for c, x in zip(clean, noisy, strict=True)]


def rollout_fn(backend, processor, cfg, step: int) -> Callable:
    """The generate function the trainer's rollout uses at ``step``: the backend's own, or the noisy mix."""
    nr = cfg.algo.noisy_rollout
    if not nr.enabled:
        return backend.generate
    ip = processor.image_processor
    std = noise_std_at(step, nr.noise_std, nr.anneal_steps)
    return lambda prompts, params: noisy_generate(backend.generate, prompts, params, n_noisy=nr.n_noisy,
                                                  std=std, image_mean=list(ip.image_mean),
                                                  image_std=list(ip.image_std))


@config_rule("noisy_rollout")
def _noisy_rule(cfg) -> list[str]:
    nr = cfg.algo.noisy_rollout
    if not nr.enabled:
        return []
    out = []
    if not 1 <= nr.n_noisy <= cfg.rollout.n:
        out.append(f"algo.noisy_rollout.n_noisy={nr.n_noisy} must be in [1, rollout.n={cfg.rollout.n}]")
    if nr.noise_std < 0 or nr.anneal_steps < 0:
        out.append(f"algo.noisy_rollout.noise_std ({nr.noise_std}) and anneal_steps ({nr.anneal_steps}) must be >= 0")
    if cfg.rollout.backend != "hf":
        out.append(f"algo.noisy_rollout perturbs the processor's pixel_values, which only rollout.backend=hf "
                   f"generates from (got rollout.backend={cfg.rollout.backend!r})")
    return out
