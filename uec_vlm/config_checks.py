"""Range, finiteness and cross-field rules for every config field, checked when a config is loaded.

Each rule names the key, the value and what would fix it. `problems(cfg)` is pure and cheap (no torch):
`config.validate` calls it. Names that live in registries (advantages, rewards, templates, dataset specs,
adapter modules) are checked separately, by `uec_vlm.resolve`, because resolving them imports code.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?|xpu(:\d+)?)$")

# key -> (predicate, what the value must be). `None` values of Optional fields are skipped.
Rule = tuple[Callable[[Any], bool], str]


def _ge(lo):
    return (lambda v: v >= lo), f">= {lo}"


def _gt(lo):
    return (lambda v: v > lo), f"> {lo}"


def _in(lo, hi, lo_open=False, hi_open=False):
    def ok(v):
        return (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return ok, f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


RULES: dict[str, Rule] = {
    "model.lora_rank": _ge(0), "model.lora_alpha": _gt(0), "model.lora_dropout": _in(0, 1, hi_open=True),
    "model.device": ((lambda v: bool(_DEVICE.match(v))), "auto, cpu, cuda, cuda:N, mps or xpu[:N]"),
    "data.max_train_examples": _ge(0),
    "prompt.min_pixels": _ge(1), "prompt.max_pixels": _ge(1), "prompt.max_prompt_length": _ge(1),
    "rollout.top_p": _in(0, 1, lo_open=True),
    "rollout.top_k": _ge(0), "rollout.max_new_tokens": _ge(1), "rollout.prompts_per_batch": _ge(1),
    "rollout.vllm_gpu_memory_utilization": _in(0, 1, lo_open=True), "rollout.vllm_tensor_parallel_size": _ge(1),
    "reward.timeout_s": _gt(0), "reward.workers": _ge(1), "reward.correct_threshold": _in(0, 1, lo_open=True),
    "algo.clip_low": _in(0, 1, hi_open=True), "algo.clip_high": _ge(0), "algo.dual_clip": _gt(1),
    "algo.kl_coef": _ge(0), "algo.entropy_coef": _ge(0), "algo.max_resample_rounds": _ge(0),
    "algo.aer.tau": _ge(0), "algo.aer.eta": _ge(0), "algo.aer.alpha_init": _ge(0), "algo.aer.alpha_max": _ge(0),
    "algo.aer.rho": _in(0, 1, lo_open=True),
    "algo.kl_cov.ratio": _in(0, 1, lo_open=True), "algo.kl_cov.beta": _ge(0),
    "algo.clip_cov.ratio": _in(0, 1),
    "algo.entropy_adv.alpha": _ge(0), "algo.entropy_adv.kappa": _gt(0),
    "algo.overlong.buffer": _ge(1), "algo.overlong.factor": _ge(0),
    "algo.top_entropy_quantile": _in(0, 1, lo_open=True), "algo.noisy_rollout.n_noisy": _ge(0),
    "algo.noisy_rollout.noise_std": _in(0, 1), "algo.noisy_rollout.anneal_steps": _ge(0),
    "trainer.rollout_token_budget": _ge(0),
    "uec.hard_max_pass_rate": _in(0, 1), "uec.solved_min_pass_rate": _in(0, 1),
    "uec.explore_n": _ge(0), "uec.regular_min_abs_adv": _ge(0), "uec.n0": _ge(0),
    "uec.replay.size_factor": _gt(0), "uec.replay.freq": _ge(1), "uec.replay.threshold": _ge(0),
    "optim.lr": _gt(0), "optim.weight_decay": _ge(0), "optim.grad_clip": _gt(0), "optim.warmup_steps": _ge(0),
    "sft.steps": _ge(0), "sft.lr": _gt(0), "sft.batch_size": _ge(1),
    "trainer.steps": _ge(1), "trainer.ppo_epochs": _ge(1), "trainer.mini_batch_size": _ge(0),
    "trainer.seed": _ge(0), "data.overlap_threshold": _in(0, 1),
    "trainer.save_every": _ge(0), "trainer.keep_last": _ge(1), "trainer.val_every": _ge(0),
    "trainer.val_n": _ge(1), "trainer.val_temperature": _ge(0), "trainer.max_bad_steps": _ge(0),
    "eval.n": _ge(1), "eval.temperature": _ge(0), "eval.top_p": _in(0, 1, lo_open=True),
    "eval.max_new_tokens": _ge(1), "eval.batch_prompts": _ge(1), "eval.bootstrap": _ge(1), "eval.seed": _ge(0),
}
NON_EMPTY = ("data.train", "prompt.template", "algo.advantage", "trainer.output_dir",
             "trainer.resume", "eval.output_dir")


def leaves(obj, prefix: str = ""):
    """(dotted key, value) for every leaf field of a config dataclass."""
    for fl in dataclasses.fields(obj):
        key = f"{prefix}.{fl.name}" if prefix else fl.name
        value = getattr(obj, fl.name)
        if dataclasses.is_dataclass(value):
            yield from leaves(value, key)
        else:
            yield key, value


def _non_finite(value, key: str):
    """(key, value) pairs of every NaN/inf float inside a value (lists and dicts searched too)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield key, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_finite(v, f"{key}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite(v, f"{key}.{k}")


def _field_problems(cfg) -> list[str]:
    out = []
    for key, value in leaves(cfg):
        bad = list(_non_finite(value, key))
        if bad:
            out += [f"{k}={v} is not a finite number; give a finite value" for k, v in bad]
            continue
        if key in NON_EMPTY and not str(value).strip():
            out.append(f"{key} is empty; give a value (see `uec-vlm config --fields`)")
        rule = RULES.get(key)
        if rule is not None and value is not None and not rule[0](value):
            out.append(f"{key}={value!r} is out of range: must be {rule[1]}")
    return out


def _cross_problems(cfg) -> list[str]:
    out = []
    a, r, t, o = cfg.algo, cfg.rollout, cfg.trainer, cfg.optim
    if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
        out.append(f"optim.betas={o.betas}: need two values in [0, 1)")
    if a.aer.alpha_init > a.aer.alpha_max:
        out.append(f"algo.aer.alpha_init ({a.aer.alpha_init}) > algo.aer.alpha_max ({a.aer.alpha_max})")
    if not a.clip_cov.lb < a.clip_cov.ub:
        out.append(f"algo.clip_cov.lb ({a.clip_cov.lb}) must be < algo.clip_cov.ub ({a.clip_cov.ub})")
    if a.overlong.enabled and a.overlong.buffer > r.max_new_tokens:
        out.append(f"algo.overlong.buffer ({a.overlong.buffer}) must be <= rollout.max_new_tokens "
                   f"({r.max_new_tokens}) when algo.overlong.enabled")
    if a.entropy_control == "bonus" and a.entropy_coef == 0:
        out.append("algo.entropy_control=bonus with algo.entropy_coef=0 does nothing; set entropy_coef > 0")
    if o.warmup_steps >= t.steps and o.warmup_steps:
        out.append(f"optim.warmup_steps ({o.warmup_steps}) >= trainer.steps ({t.steps}): the LR never reaches "
                   "optim.lr; lower warmup_steps")
    from uec_vlm.trainer.mixture import train_specs

    try:  # a mixture's specs and weights (the trainer uses the same parser)
        train_specs(cfg.data.train, cfg.data.train_weights)
    except ValueError as e:
        out.append(str(e))
    return out


def problems(cfg) -> list[str]:
    """Every range/finiteness/cross-field problem of `cfg`, one line each (empty when it is fine)."""
    return _field_problems(cfg) + _cross_problems(cfg)
