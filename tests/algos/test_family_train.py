"""The new family members inside the real trainer: one tiny run each, and a controller surviving resume."""

from __future__ import annotations

import math

import pytest

from uec_vlm.trainer.loop import Trainer
from uec_vlm.trainer.run_dir import read_metrics

# The shared tiny-run config (tests/conftest.py) with groups large enough for Pass@k and CISPO's token selection.
FAMILY = ("rollout.n=4", "rollout.max_new_tokens=5", "trainer.micro_batch_size=8", "uec.explore_n=4", "uec.n0=8",
          "trainer.save_every=1")


@pytest.fixture
def family_cfg(make_cfg):
    return lambda *args, out=None: make_cfg(*FAMILY, *args, out=out)


def _step_metrics(trainer, step):
    return [m for m in read_metrics(trainer.s.run_dir.root / "metrics.jsonl") if m["step"] == step][-1]


@pytest.mark.parametrize("args, key", [
    (["gspo"], "actor/seq_ratio_mean"),
    (["cispo", "algo.top_entropy_quantile=0.2"], "actor/selected_token_frac"),
    (["passk", "algo.params.passk.k=2", "uec.enabled=true"], "uec/hard_prompts"),
    (["noisy_rollout", "algo.noisy_rollout.n_noisy=2", "algo.params={}"], "reward/pass_rate"),
    (["papo", "algo.papo.eta_full=0.03", "algo.papo.eta_masked=0.03"], "actor/papo_kl"),
])
def test_family_member_trains(family_cfg, args, key):
    trainer = Trainer(family_cfg(*args, "trainer.steps=1"))
    trainer.train()
    step = _step_metrics(trainer, 1)
    assert key in step and math.isfinite(step[key]), sorted(step)
    assert step.get("actor/skipped_steps", 0.0) == 0.0


def test_entropic_state_is_restored_on_resume(family_cfg, tmp_path):
    args = ["entropic"]
    straight = Trainer(family_cfg(*args, "trainer.steps=2", out=tmp_path / "a"))
    straight.train()
    Trainer(family_cfg(*args, "trainer.steps=1", out=tmp_path / "b")).train()
    resumed = Trainer(family_cfg(*args, "trainer.steps=2", out=tmp_path / "b"))
    assert resumed.s.control.h0 is not None  # restored from the step-1 checkpoint, not re-captured
    resumed.train()
    assert resumed.s.control.state_dict() == pytest.approx(straight.s.control.state_dict())
    assert straight.s.control.h0 > 0 and straight.s.control.alpha != 0.0


def test_token_budget_ends_the_run_and_a_resume_does_nothing(family_cfg, tmp_path):
    cfg = family_cfg("grpo", "trainer.steps=50", "trainer.rollout_token_budget=40", out=tmp_path / "budget")
    summary = Trainer(cfg).train()
    rows = read_metrics(tmp_path / "budget" / "metrics.jsonl")
    tokens = [r["perf/rollout_tokens"] for r in rows]
    # 2 prompts x 4 samples x <= 5 tokens = at most 40 tokens a step: the budget ends it within a few steps
    assert tokens[-1] >= 40 and all(t < 40 for t in tokens[:-1]) and summary["steps"] == rows[-1]["step"] < 50
    assert summary["rollout_tokens"] == tokens[-1]
    again = Trainer(cfg).train()  # resume=auto finds the budget spent: no further step
    assert again["steps"] == summary["steps"] and len(read_metrics(tmp_path / "budget" / "metrics.jsonl")) == len(rows)
