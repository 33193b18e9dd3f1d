"""The policy update's entropy handling: the gradient flows through entropy only when a control uses it."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import torch

from uec_vlm.algos.entropy import EntropyBonus, EntropyControl
from uec_vlm.trainer.update import UpdateSettings, policy_update

_spec = importlib.util.spec_from_file_location("dist_update_worker", Path(__file__).with_name("dist_update_worker.py"))
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


def _update(model_dir, control) -> tuple[dict, dict, dict]:
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(model_dir)
    samples = worker.fixed_samples(processor)
    for s in samples:
        s.advantage = 0.0  # no policy-gradient signal: only an entropy term can move the weights
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    metrics = policy_update(model, opt, None, samples, settings=UpdateSettings(micro_batch_size=4),
                            control=control, pad_token_id=int(processor.tokenizer.pad_token_id),
                            rng=random.Random(0), generator=torch.Generator().manual_seed(0), on_policy=True)
    return before, model.state_dict(), metrics


def test_entropy_bonus_gets_a_gradient_and_no_control_does_not(tiny_qwen2_5_vl_dir):
    before, after, m = _update(tiny_qwen2_5_vl_dir, EntropyBonus(coef=0.5))
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(moved) > 10 and m["actor/entropy_bonus"] > 0
    before, after, m = _update(tiny_qwen2_5_vl_dir, EntropyControl())
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert m["entropy/mean"] > 0 and m["actor/entropy_bonus"] == 0.0


def test_importance_weights_only_touch_exploration_tokens():
    import math

    from uec_vlm.trainer.samples import Sample
    from uec_vlm.trainer.update import _token_weights

    explore = Sample(prompt=None, example=None, completion_ids=[1, 2, 3], text="", rollout_logprobs=[-1.0, -2.0, -0.5],
                     finish_reason="stop", group_id=0, temperature=1.2, is_exploration=True,
                     old_logp=torch.tensor([-0.5, -3.0, -0.5]))
    regular = Sample(prompt=None, example=None, completion_ids=[1, 2], text="", rollout_logprobs=[-1.0, -1.0],
                     finish_reason="stop", group_id=1, temperature=1.0)
    w = _token_weights([explore, regular], 4, True)
    expected = torch.tensor([[math.exp(0.5), math.exp(-1.0), 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    torch.testing.assert_close(w, expected)
    assert _token_weights([explore, regular], 4, False) is None
