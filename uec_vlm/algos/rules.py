"""Config-load checks that belong to the algorithms: names, parameters, and combinations that make no sense.

`uec_vlm.config.validate` calls `check_algo_config(cfg)` once; everything algorithm-specific is decided here
or in a rule registered next to the algorithm it guards::

    @config_rule("gspo")
    def _gspo_rule(cfg) -> list[str]:   # one message per problem, naming the config keys
        ...

A new algorithm therefore adds its own rule in its own module; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from .registry import Registry

CONFIG_RULES = Registry("config rule")

# Arguments the trainer supplies itself; a user cannot set them through algo.params.
_SUPPLIED = {
    "advantage": {"rewards", "group_ids", "eps", "lengths"},
    "policy loss": {"logp", "old_logp", "advantages", "mask", "clip_low", "clip_high", "dual_clip", "generator"},
    "entropy control": {"self"},
}
# Controls whose parameters live in typed config sections (older than algo.params).
TYPED_CONTROLS = {"none": None, "bonus": "algo.entropy_coef", "aer": "algo.aer", "kl_cov": "algo.kl_cov",
                  "clip_cov": "algo.clip_cov", "entropy_adv": "algo.entropy_adv"}


def config_rule(name: str) -> Callable:
    """Decorator: ``@config_rule("mine") def rule(cfg) -> list[str]`` (problems naming the keys)."""
    return CONFIG_RULES.register(name)


def accepted_params(kind: str, target: Any) -> set[str]:
    """Keyword parameters a registered function (or a control class's __init__) accepts from algo.params."""
    sig = inspect.signature(target)
    names = {p.name for p in sig.parameters.values()
             if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    return names - _SUPPLIED[kind]


def import_modules(modules: list[str]) -> None:
    """Import user modules so that their algorithms and rules register. A module that fails to import is
    skipped here: `uec_vlm.resolve.resolve_names` reports it (with the other unresolvable names)."""
    for mod in modules:
        try:
            importlib.import_module(mod)
        except Exception:  # noqa: BLE001, S112 - reported by resolve_names, naming the module
            continue


def control_params(cfg) -> dict[str, Any]:
    """Constructor keywords of the selected entropy control: its typed section, or algo.params.<name>."""
    from dataclasses import asdict

    a = cfg.algo
    typed = {"none": {}, "bonus": {"coef": a.entropy_coef}, "aer": asdict(a.aer), "kl_cov": asdict(a.kl_cov),
             "clip_cov": asdict(a.clip_cov), "entropy_adv": asdict(a.entropy_adv)}
    return dict(typed.get(a.entropy_control, a.params.get(a.entropy_control, {})))


def _selected(cfg) -> list[tuple[str, str, Any]]:
    """(kind, name, registered object) of the advantage, policy loss and entropy control the config selects."""
    from .advantages import ADVANTAGES
    from .entropy import ENTROPY_CONTROLS
    from .policy_loss import POLICY_LOSSES

    a = cfg.algo
    return [("advantage", a.advantage, ADVANTAGES), ("policy loss", a.policy_loss, POLICY_LOSSES),
            ("entropy control", a.entropy_control, ENTROPY_CONTROLS)]


def check_algo_config(cfg) -> list[str]:
    """Every algorithm-level problem of ``cfg`` (empty list = fine). Called by ``config.validate``.

    Unknown names (and user modules that do not import) are left to `uec_vlm.resolve.resolve_names`, which
    reports every unresolvable name of a config together; what needs a name is checked once it resolves.
    """
    import_modules(list(cfg.algo.modules))
    problems: list[str] = []
    a = cfg.algo
    known: dict[str, tuple[str, Any]] = {}
    for kind, name, registry in _selected(cfg):
        if name in registry:
            known[name] = (kind, registry[name])
    for name, params in a.params.items():
        if name not in known:
            if name in (a.advantage, a.policy_loss, a.entropy_control):
                continue  # an unknown selected name: resolve_names reports it
            if name in TYPED_CONTROLS or name == "noisy_rollout":
                problems.append(f"algo.params.{name}: set these parameters in their own section, not algo.params")
            else:
                problems.append(f"algo.params.{name}: {name!r} is not the selected advantage, policy loss or "
                                f"entropy control ({a.advantage}, {a.policy_loss}, {a.entropy_control})")
            continue
        kind, target = known[name]
        if kind == "entropy control" and name in TYPED_CONTROLS:
            problems.append(f"algo.params.{name}: entropy control {name!r} takes its parameters from "
                            f"{TYPED_CONTROLS[name]}")
            continue
        allowed = accepted_params(kind, target)
        unknown = sorted(set(params) - allowed)
        if unknown:
            problems.append(f"algo.params.{name}: unknown key(s) {unknown}; {kind} {name!r} accepts "
                            f"{sorted(allowed) or 'no parameters'}")
    if not problems and a.entropy_control in known:
        try:  # bad parameter VALUES (e.g. a target of 0) fail now, not when training starts
            known[a.entropy_control][1](**control_params(cfg))
        except (TypeError, ValueError) as e:
            where = TYPED_CONTROLS.get(a.entropy_control) or f"algo.params.{a.entropy_control}"
            problems.append(f"{where}: {e}")
    if not 0.0 < a.top_entropy_quantile <= 1.0:
        problems.append(f"algo.top_entropy_quantile must be in (0, 1] (got {a.top_entropy_quantile})")
    for rule in CONFIG_RULES.values():
        problems.extend(rule(cfg))
    return problems


@config_rule("policy_loss_vs_control")
def _control_replaces_loss(cfg) -> list[str]:
    """KL-Cov and Clip-Cov replace the per-token loss; a second replacement has no defined meaning."""
    from .entropy import ENTROPY_CONTROLS

    a = cfg.algo
    control = ENTROPY_CONTROLS.get(a.entropy_control) if a.entropy_control in ENTROPY_CONTROLS else None
    own = getattr(control, "policy_loss", "ppo_clip")
    if own != "ppo_clip" and a.policy_loss != "ppo_clip":
        return [f"algo.entropy_control={a.entropy_control!r} replaces the PPO-clip token loss with {own!r}, so it "
                f"cannot be combined with algo.policy_loss={a.policy_loss!r}; use algo.policy_loss=ppo_clip"]
    return []


# What each ratio-dependent piece does when r = 1 on every token (printed by `single_pass_notes`).
_OFF_POLICY_ONLY = {  # (algo field, selected name) -> why it changes nothing at r = 1
    ("policy_loss", "cispo"): "CISPO's clipped importance weight is 1, so its gradient is GRPO's",
    ("policy_loss", "ce_gppo"): "CE-GPPO's clipped-token gradients never occur, so it is PPO-clip",
    ("entropy_control", "kl_cov"): "KL-Cov's penalty |logp - old_logp| is 0 with zero gradient, so it is "
                                   "unclipped policy gradient",
}


def single_pass_notes(cfg) -> list[str]:
    """Notes for settings that only act off-policy when every update is on-policy (one epoch, one mini-batch:
    r = exp(logp - old_logp) = 1 on every token). Printed at train start; not errors (replayed samples are
    off-policy, and a user may want the equivalence)."""
    t, a = cfg.trainer, cfg.algo
    if t.ppo_epochs != 1 or t.mini_batch_size != 0:
        return []
    found = [why for (field, name), why in _OFF_POLICY_ONLY.items() if getattr(a, field) == name]
    if a.clip_high != a.clip_low and a.policy_loss == "ppo_clip":
        found.append(f"clip-higher (algo.clip_high={a.clip_high}) never binds")
    return [f"note: trainer.ppo_epochs=1 and trainer.mini_batch_size=0 make every update on-policy (ratio 1 on "
            f"every token, replayed samples aside): {why}. Set trainer.mini_batch_size (e.g. a quarter of the "
            f"update batch, as EasyR1's 512 / 128) for it to act." for why in found]
