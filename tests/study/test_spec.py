"""Study configs: validation errors name the culprit; run configs put shared settings over presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from uec_vlm.config import ConfigError
from uec_vlm.config_loader import load_config
from uec_vlm.study.spec import flatten_overrides, load_study, parse_study


def _study(**kw) -> dict:
    base = {"output_dir": "out/s", "model": {"path": "M"}, "dataset": "synthgeo:train?n=8&seed=0", "seeds": [0, 1],
            "baseline": "grpo", "methods": {"grpo": ["grpo"], "uec_small": ["uec", "rollout.n=3"]},
            "common": {"rollout": {"n": 8}, "eval": {"suite": ["synthgeo:test?n=5&seed=0"]}}}
    base.update(kw)
    return base


def test_flatten_overrides_json_values():
    assert flatten_overrides({"a": {"b": 1, "c": {"d": False}}, "e": ["x:y?n=1&s=0"], "f": {}}) == [
        'a.b=1', 'a.c.d=false', 'e=["x:y?n=1&s=0"]', 'f={}']


def test_run_config_order_presets_then_common_then_method_items():
    spec = parse_study(_study())
    grpo = spec.plan("grpo", 1, "ckpt/model")
    cfg = load_config(grpo.sources, grpo.overrides)
    assert cfg.rollout.n == 8  # common wins over the grpo preset's n = 5
    assert cfg.algo.kl_coef == 0.01 and not cfg.uec.enabled
    assert (cfg.model.path, cfg.trainer.seed, cfg.eval.seed, cfg.trainer.resume) == ("ckpt/model", 1, 1, "auto")
    assert grpo.run_dir == Path("out/s/runs/grpo/seed1") and cfg.eval.output_dir == "out/s/runs/grpo/seed1/eval"
    assert cfg.data.train == "synthgeo:train?n=8&seed=0" and cfg.eval.suite == ["synthgeo:test?n=5&seed=0"]
    small = spec.plan("uec_small", 0, "m")
    cfg = load_config(small.sources, small.overrides)
    assert cfg.rollout.n == 3 and cfg.uec.enabled  # the method's own item wins over common
    assert [p.key for p in spec.plans({0: "m0", 1: "m1"})] == ["grpo/seed0", "grpo/seed1", "uec_small/seed0",
                                                                "uec_small/seed1"]
    assert spec.report_dir == Path("out/s/report")


@pytest.mark.parametrize(("change", "message"), [
    ({"baseline": "dapo"}, "baseline 'dapo' is not one of methods"),
    ({"seeds": [0, 0]}, "seeds has duplicates"),
    ({"seeds": []}, "seeds must be a non-empty list of integers"),
    ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
    ({"warm_start": "twice"}, "warm_start 'twice'"),
    ({"model": {"path": "a", "tiny": {}}}, "model needs exactly one of"),
    ({"model": {"tiny": {"layers": 2}}}, "model.tiny must be a mapping with keys among"),
    ({"methods": {"grpo": ["grpo", "uec.nope=1"]}}, "method 'grpo': unknown config key"),
    ({"methods": {"grpo": []}}, "methods.grpo must be a non-empty list"),
])
def test_bad_study_configs_name_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_study(_study(**change), "s.yaml")


def test_checked_in_study_loads_with_overrides():
    spec = load_study("synthgeo", ["seeds=[0]", "common.trainer.steps=3"])
    assert list(spec.methods) == ["grpo", "dapo", "uec", "uec_no_explore", "uec_no_retention", "uec_no_replay"]
    assert spec.baseline == "grpo" and spec.seeds == [0] and spec.report_dir == Path("runs/study/synthgeo/report")
    plan = spec.plan("uec_no_replay", 0, "m")
    cfg = load_config(plan.sources, plan.overrides)
    assert cfg.trainer.steps == 3 and cfg.uec.enabled and not cfg.uec.replay.enabled and cfg.rollout.n == 8
    with pytest.raises(ConfigError, match="study config 'nope' not found"):
        load_study("nope")
