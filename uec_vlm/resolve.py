"""Resolve every name a config refers to before anything slow happens (model load, first rollout).

Names go through the same registries the run uses later (advantages, entropy controls, rewards, templates,
dataset adapters), so a plugged-in name resolves here exactly when it would resolve at use. A typo fails
in seconds with a ConfigError naming the key, instead of a traceback minutes into a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from uec_vlm.config import Config, ConfigError


def _check_spec(key: str, spec: str, adapter_modules) -> str | None:
    """Parse a dataset spec and find its adapter and split without reading any record."""
    from data_zoo.example import DataError
    from data_zoo.registry import resolve_spec

    try:
        resolve_spec(spec, adapter_modules)
    except DataError as e:
        return f"{key}: {e}"
    return None


def _check_model_path(path: str) -> str | None:
    looks_local = path.startswith((".", "/", "~")) or os.path.exists(path) or path.count("/") > 1
    if looks_local and not (Path(path).expanduser() / "config.json").is_file():
        return (f"model.path={path!r}: no such model directory (no config.json there); give a checkpoint folder "
                "or a hub id such as Qwen/Qwen2.5-VL-3B-Instruct")
    return None


def _check_attention(name: str) -> str | None:
    """The attention kernels transformers knows (`paged|eager` style names and hub kernels `org/name` pass)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    known = {"eager", *ALL_ATTENTION_FUNCTIONS.keys()}
    if name in known or "/" in name or name.split("|")[-1] in known:
        return None
    return f"model.attn_implementation={name!r}: unknown attention kernel; use one of {sorted(known)}"


def _check_extras(cfg: Config) -> str | None:
    """Optional packages a config asks for, found before anything is loaded."""
    import importlib.util

    needs = {"rollout.backend=vllm": (cfg.rollout.backend == "vllm", "vllm", "vllm"),
             "trainer.wandb=true": (cfg.trainer.wandb, "wandb", "logging")}
    for key, (wanted, module, extra) in needs.items():
        if wanted and importlib.util.find_spec(module) is None:
            cpu = " on GPUs, `make setup-vllm` on CPU" if module == "vllm" else ""
            return f"{key} needs the {module} package: pip install 'uec-vlm[{extra}]'{cpu} (or turn it off)"
    return None


def _check_resume(mode: str) -> str | None:
    if mode in ("auto", "never"):
        return None
    from uec_vlm.trainer.checkpoint import COMPLETE_MARKER

    if not (Path(mode) / COMPLETE_MARKER).is_file():
        return (f"trainer.resume={mode!r}: not a complete checkpoint folder (no {COMPLETE_MARKER} marker); "
                "use auto, never, or RUN/checkpoints/step_N")
    return None


def _registry_problem(key: str, registry, name: str) -> str | None:
    try:
        registry.get(name)
    except KeyError as e:
        return f"{key}: {e.args[0]}"
    return None


AUTO_VAL_SPLITS = ("validation", "val", "dev")
AUTO_VAL_MAX_N = 100  # synthgeo generates as many as asked: validate on at most this many


def resolve_val_spec(val: str, train: str | list[str], adapter_modules=()) -> tuple[str, str]:
    """(validation spec or "", a sentence saying what validates and why) for `data.val` = SPEC, "" or "auto".

    auto: the held-out split of the training data's own adapter (validation, val or dev; never test), with
    the same options and root (synthgeo's `n` capped at 100); off, saying so, when it has none.
    """
    if val != "auto":
        return val, f"{val} (data.val)" if val else "off (data.val is empty)"
    if isinstance(train, list):
        return "", "off: data.val=auto and data.train is a mixture; set data.val=SPEC to validate during training"
    from urllib.parse import urlencode

    from data_zoo.example import DataError
    from data_zoo.registry import adapters
    from data_zoo.spec import parse_spec

    table = adapters(adapter_modules)
    try:
        spec = parse_spec(train, frozenset(table))
    except DataError:  # loading data.train reports it
        spec = None
    split = next((s for s in AUTO_VAL_SPLITS if spec and spec.kind == "adapter" and s in table[spec.name].splits),
                 None)
    if split is None:
        return "", (f"off: data.val=auto and {train} has no validation split of its own; "
                    "set data.val=SPEC to validate during training")
    options = dict(spec.options)
    if spec.name == "synthgeo":
        options["n"] = str(min(int(options.get("n", AUTO_VAL_MAX_N)), AUTO_VAL_MAX_N))
    chosen = f"{spec.name}:{split}" + (f"?{urlencode(options)}" if options else "") + (f"@{spec.root}" if spec.root else "")
    return chosen, f"{chosen} (data.val=auto: the validation split of data.train)"


def resolve_names(cfg: Config, *, datasets: tuple[str, ...] = ("data.train", "data.val"),
                  model: bool = True) -> Config:
    """Check every name `cfg` refers to; raises one ConfigError listing all that do not resolve.

    datasets: which spec keys to resolve (`data.train`, `data.val`, `eval.suite`); model: also check that a
    local model.path exists (off for commands that get a model another way).
    """
    import importlib

    from uec_vlm.algos import ADVANTAGES, ENTROPY_CONTROLS, POLICY_LOSSES
    from uec_vlm.prompts import check_template
    from uec_vlm.rewards import build_reward

    problems: list[str | None] = []
    for module in getattr(cfg.algo, "modules", ()):  # user algorithms register on import
        try:
            importlib.import_module(module)
        except Exception as e:
            problems.append(f"algo.modules: cannot import {module!r}: {type(e).__name__}: {e}")
    mods = list(cfg.data.adapter_modules)
    if mods:
        from data_zoo.example import DataError
        from data_zoo.registry import adapters

        try:
            adapters(mods)
        except DataError as e:
            problems.append(f"data.adapter_modules: {e}")
            mods = []
    train = cfg.data.train if isinstance(cfg.data.train, list) else [cfg.data.train]  # a list is a mixture
    val = resolve_val_spec(cfg.data.val, cfg.data.train, mods)[0] if cfg.data.val == "auto" else cfg.data.val
    specs = {"data.train": train, "data.val": [val] if val else [],
             "eval.suite": list(cfg.eval.suite)}
    for key in datasets:
        for i, spec in enumerate(specs[key]):
            listed = key == "eval.suite" or (key == "data.train" and isinstance(cfg.data.train, list))
            problems.append(_check_spec(f"{key}[{i}]" if listed else key, spec, mods))
    problems.append(_registry_problem("algo.advantage", ADVANTAGES, cfg.algo.advantage))
    problems.append(_registry_problem("algo.entropy_control", ENTROPY_CONTROLS, cfg.algo.entropy_control))
    if hasattr(cfg.algo, "policy_loss"):
        problems.append(_registry_problem("algo.policy_loss", POLICY_LOSSES, cfg.algo.policy_loss))
    if cfg.algo.advantage in ADVANTAGES:
        need = getattr(ADVANTAGES[cfg.algo.advantage], "min_group_size", 2)
        if cfg.rollout.n < need and "data.train" in datasets:
            problems.append(f"rollout.n={cfg.rollout.n}: algo.advantage={cfg.algo.advantage} compares the samples "
                            f"of one prompt, so groups smaller than {need} get advantage 0 and nothing trains; "
                            f"set rollout.n >= {need}")
    try:
        check_template(cfg.prompt.template)
    except ValueError as e:
        problems.append(f"prompt.template: {e}")
    try:
        build_reward(cfg.reward.name, weights=dict(cfg.reward.weights), timeout_s=cfg.reward.timeout_s)
    except ValueError as e:
        problems.append(f"reward.name: {e}")
    if model and cfg.model.path:
        problems.append(_check_model_path(cfg.model.path))
    if model:
        problems.append(_check_attention(cfg.model.attn_implementation))
    problems.append(_check_extras(cfg))
    if "data.train" in datasets:
        problems.append(_check_resume(cfg.trainer.resume))
    found = [p for p in problems if p]
    if found:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(found))
    return cfg
