"""The training loop end to end on a tiny real model: logging, checkpoints, resume, edge cases, bad steps."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from uec_vlm.trainer.checkpoint import latest_checkpoint, list_checkpoints
from uec_vlm.trainer.loop import Trainer
from uec_vlm.trainer.run_dir import read_metrics


def _weights(ckpt) -> dict:
    out = {}
    for f in sorted(ckpt.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


def _stable(rows):
    """Metrics minus wall-clock measurements, which legitimately differ between runs."""
    return [{k: v for k, v in r.items() if not k.startswith(("time/", "perf/"))} for r in rows]


def test_grpo_run_logs_checkpoints_and_loads_as_hf(make_cfg, tmp_path):
    cfg = make_cfg("grpo", "algo.kl_coef=0.01", "trainer.save_every=1", "trainer.keep_last=1")
    summary = Trainer(cfg).train()
    assert summary["steps"] == 2 and summary["optimizer_updates"] == 2
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("reward/overall", "reward/accuracy", "entropy/mean", "entropy/p10", "entropy/p90",
                "actor/kl", "actor/grad_norm", "actor/lr", "actor/clip_frac_low", "actor/clip_frac_high",
                "response/length_mean", "response/truncation_rate", "time/rollout", "time/update",
                "perf/tokens_per_s", "perf/peak_mem_gb", "uec/bucket/hard/count"):
        assert key in rows[-1], key
    assert rows[-1]["actor/lr"] == pytest.approx(1e-3)
    assert rows[0]["uec/bucket/hard/count"] + rows[0]["uec/bucket/regular/count"] + rows[0]["uec/bucket/solved/count"] == 2
    assert [s for s, _ in list_checkpoints(tmp_path / "run")] == [2]  # keep_last=1 pruned step 1
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(latest_checkpoint(tmp_path / "run"))
    assert sum(p.numel() for p in model.parameters()) > 0
    assert (tmp_path / "run" / "config.yaml").read_text().count("kl_coef: 0.01") == 1
    assert "optimizer_updates" in (tmp_path / "run" / "summary.md").read_text()


def test_uec_resume_gives_identical_parameters(make_cfg, tmp_path):
    uec = ("uec", "uec.replay.freq=1", "uec.replay.threshold=0.5", "trainer.save_every=2")
    straight = Trainer(make_cfg(*uec, "trainer.steps=4", out=tmp_path / "straight")).train()
    Trainer(make_cfg(*uec, "trainer.steps=2", out=tmp_path / "halves")).train()
    resumed = Trainer(make_cfg(*uec, "trainer.steps=4", out=tmp_path / "halves"))
    assert resumed.s.start_step == 2
    resumed.train()
    a = _weights(latest_checkpoint(tmp_path / "straight"))
    b = _weights(latest_checkpoint(tmp_path / "halves"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows_a = _stable(read_metrics(tmp_path / "straight" / "metrics.jsonl"))
    rows_b = _stable(read_metrics(tmp_path / "halves" / "metrics.jsonl"))
    assert rows_a == rows_b
    assert straight["optimizer_updates"] >= 0


def test_no_hard_prompts_and_empty_retention_do_not_update(make_cfg):
    """A reward that marks everything correct: every prompt is solved, A = 0, nothing is retained."""
    from uec_vlm.rewards import register_reward

    @register_reward("always_right_for_test")
    def always_right(completions, examples, *, truncated=None):
        return [{"overall": 1.0, "accuracy": 1.0, "format": 1.0} for _ in completions]

    cfg = make_cfg("uec", "reward.name=always_right_for_test", "reward.weights={}")
    trainer = Trainer(cfg)
    before = {k: v.clone() for k, v in trainer.s.model.state_dict().items()}
    m = trainer.train_step(1)
    assert m["uec/hard_prompts"] == 0 and m["uec/bucket/solved/count"] == 2
    assert m["uec/retained"] == 0 and m["uec/dropped"] == 6
    assert m["actor/updated"] == 0.0 and m["uec/explore_success"] is None
    assert all(torch.equal(before[k], v) for k, v in trainer.s.model.state_dict().items())


def test_hard_prompts_get_exploration_groups_of_their_own(make_cfg):
    """A reward that marks everything wrong: every prompt is hard and gets G' samples at t' in new groups."""
    from uec_vlm.rewards import register_reward

    @register_reward("always_wrong_for_test")
    def always_wrong(completions, examples, *, truncated=None):
        return [{"overall": 0.0, "accuracy": 0.0, "format": 1.0} for _ in completions]

    trainer = Trainer(make_cfg("uec", "reward.name=always_wrong_for_test", "reward.weights={}"))
    m = trainer.train_step(1)
    assert m["uec/hard_prompts"] == 2 and m["uec/explore_samples"] == 6
    assert m["uec/explore_success"] == 0.0
    # 2 regular groups (ids 0, 1) then 2 exploration groups (ids 2, 3): distinct, never merged.
    assert trainer.s.group_counter == 4


def test_non_finite_gradients_skip_steps_then_stop(make_cfg, tmp_path):
    cfg = make_cfg("grpo", "trainer.steps=3", "trainer.max_bad_steps=1", "trainer.save_every=1")
    trainer = Trainer(cfg)
    p = next(p for p in trainer.s.model.parameters() if p.requires_grad)
    p.register_hook(lambda g: g * float("nan"))
    before = {k: v.clone() for k, v in trainer.s.model.state_dict().items()}
    m = trainer.train_step(1)
    assert m["actor/skipped_steps"] == 1 and m["actor/optimizer_steps"] == 0
    assert all(torch.equal(before[k], v) for k, v in trainer.s.model.state_dict().items())
    with pytest.raises(FloatingPointError, match="max_bad_steps"):
        trainer.train_step(2)


def test_resolved_config_and_bad_configs(make_cfg, tmp_path):
    from uec_vlm.config import ConfigError

    with pytest.raises(ConfigError, match=r"eval.ks \[8\]"):
        make_cfg("eval.n=4", "eval.ks=[1,8]")
    with pytest.raises(ConfigError, match="explore_temperature"):
        make_cfg("uec", "uec.explore_temperature=0")
    with pytest.raises(ConfigError, match="uec.n0=10000 is not reachable"):
        make_cfg("uec", "uec.n0=10000")
    with pytest.raises(ConfigError, match="unknown config key.*trainer.stepz"):
        make_cfg("trainer.stepz=3")
    cfg = make_cfg("dapo", "algo.overlong.buffer=4")  # the preset's 512 exceeds this test's 6 new tokens
    assert cfg.algo.clip_high == pytest.approx(0.28) and cfg.algo.dynamic_sampling
    assert json.loads(json.dumps({"ok": 1}))["ok"] == 1
