from pathlib import Path

import pytest
import yaml

from uec_vlm.algos import ADVANTAGES, AGG_MODES, KL_ESTIMATORS, EntropyControl, build_entropy_control
from uec_vlm.uec.selection import RULES

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "algo"
NAMES = ["grpo", "dapo", "uec", "aer", "kl_cov", "clip_cov", "entropy_adv"]


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_complete_and_builds(name):
    cfg = yaml.safe_load((PRESETS / f"{name}.yaml").read_text())
    assert _keys(cfg) == _keys(yaml.safe_load((PRESETS / "grpo.yaml").read_text()))
    algo, uec = cfg["algo"], cfg["uec"]
    assert algo["advantage"] in ADVANTAGES and algo["loss_agg"] in AGG_MODES and algo["kl_kind"] in KL_ESTIMATORS
    assert uec["explore_rule"] in RULES and uec["replay"]["rule"] in RULES
    control = algo["entropy_control"]
    params = {"none": {}, "bonus": {"coef": algo["entropy_coef"]}}.get(control, algo.get(control))
    assert isinstance(build_entropy_control(control, **params), EntropyControl)
    assert control == {"aer": "aer", "kl_cov": "kl_cov", "clip_cov": "clip_cov", "entropy_adv": "entropy_adv"}.get(name, "none")


def test_released_uec_and_dapo_values():
    uec = yaml.safe_load((PRESETS / "uec.yaml").read_text())
    assert uec["uec"]["enabled"] and uec["uec"]["batch_buffer"] and uec["uec"]["replay"]["enabled"]
    assert (uec["uec"]["explore_n"], uec["uec"]["explore_temperature"], uec["rollout"]["n"]) == (20, 1.2, 5)
    dapo = yaml.safe_load((PRESETS / "dapo.yaml").read_text())["algo"]
    assert (dapo["clip_high"], dapo["kl_coef"], dapo["reward_scale"], dapo["dynamic_sampling"]) == (0.28, 0.0, "pm1", True)
