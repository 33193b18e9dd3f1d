from pathlib import Path

import pytest
import yaml

from uec_vlm.algos import ADVANTAGES, AGG_MODES, KL_ESTIMATORS, EntropyControl, build_entropy_control
from uec_vlm.config_loader import load_config
from uec_vlm.uec.selection import RULES

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "algo"
NAMES = sorted(p.stem for p in PRESETS.glob("*.yaml"))  # presets are discovered, not listed
CONTROLS = {"aer": "aer", "kl_cov": "kl_cov", "clip_cov": "clip_cov", "entropy_adv": "entropy_adv",
            "skywork": "skywork", "entropic": "entropic"}


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict) and prefix + k != "algo.params":  # algo.params holds the chosen algorithm's own
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
    params = algo["params"].get(control, params)
    assert isinstance(build_entropy_control(control, **params), EntropyControl)
    assert control == CONTROLS.get(name, "none")
    load_config([name])  # and the whole preset passes config validation


def test_every_registered_family_member_has_a_preset():
    # one preset per algorithm (configs/algo/<name>.yaml selects it)
    selected = set()
    for name in NAMES:
        algo = yaml.safe_load((PRESETS / f"{name}.yaml").read_text())["algo"]
        selected |= {algo["advantage"], algo["policy_loss"], algo["entropy_control"]}
        selected |= {"top_entropy"} if algo["top_entropy_quantile"] < 1 else set()
        selected |= {"noisy_rollout"} if algo["noisy_rollout"]["enabled"] else set()
        selected |= {"papo"} if algo["papo"]["enabled"] else set()
    for needed in ("gspo", "cispo", "ce_gppo", "reinforce_pp_baseline", "passk", "top_entropy", "skywork",
                   "entropic", "noisy_rollout", "papo", "aer", "kl_cov", "clip_cov", "entropy_adv"):
        assert needed in selected, needed


def test_released_uec_and_dapo_values():
    uec = yaml.safe_load((PRESETS / "uec.yaml").read_text())
    assert uec["uec"]["enabled"] and uec["uec"]["batch_buffer"] and uec["uec"]["replay"]["enabled"]
    assert (uec["uec"]["explore_n"], uec["uec"]["explore_temperature"], uec["rollout"]["n"]) == (20, 1.2, 5)
    dapo = yaml.safe_load((PRESETS / "dapo.yaml").read_text())["algo"]
    assert (dapo["clip_high"], dapo["kl_coef"], dapo["reward_scale"], dapo["dynamic_sampling"]) == (0.28, 0.0, "pm1", True)
