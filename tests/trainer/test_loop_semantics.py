"""Loop semantics as released, on exact indices and values: shares, replay trigger, LR schedule, DAPO's
accuracy filter, pre-update old log-probs in the replay buffer."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from uec_vlm.trainer.distributed import block, shard_rows
from uec_vlm.trainer.schedule import ProgressLR
from uec_vlm.uec.buffers import replay_due


def test_shares_have_equal_counts_and_balanced_tokens():
    # longest first, each to the share with fewest tokens that still has room (cap = ceil(N / world))
    assert shard_rows([5, 1, 4, 2, 3], 2) == [[0, 1, 3], [2, 4]]  # 8 and 7 tokens
    assert shard_rows([5, 1, 4, 2, 3], 3) == [[0], [1, 2], [3, 4]]  # 5, 5, 5
    assert shard_rows([7], 3) == [[0], [], []]  # the empty shares are padded by the caller
    assert shard_rows([], 2) == [[], []]
    assert [list(block(7, 3, r)) for r in range(3)] == [[0, 1, 2], [3, 4], [5, 6]]


def test_replay_trigger_counts_rollout_steps_as_released():
    assert [s for s in range(1, 26) if replay_due(s, 0, 5)] == [5, 10, 15, 20, 25]  # whether or not s updated
    # "every N updates": only right after the update that makes the count a multiple of freq
    assert replay_due(7, 10, 5, "updates", updated=True) and not replay_due(7, 10, 5, "updates", updated=False)
    assert not replay_due(10, 9, 5, "updates", updated=True)
    with pytest.raises(ValueError, match="uec.replay.trigger"):
        replay_due(5, 5, 5, "epochs")


def test_progress_lr_warms_up_in_optimizer_steps_and_ends_with_training():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = ProgressLR(opt, schedule="cosine", warmup_steps=2)
    lrs = [opt.param_groups[0]["lr"]]
    sched.begin(0.0, 0.5, 2)  # step 1 of 2: two optimizer steps
    for _ in range(2):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    sched.begin(1.0, 1.0, 1)  # (step 2 skipped its update) a replay at the end holds p = 1
    lrs.append(opt.param_groups[0]["lr"])
    cos = [0.5 * (1 + math.cos(math.pi * p)) for p in (0.0, 0.25, 0.5, 1.0)]
    assert lrs == pytest.approx([0.5 * cos[0], 1.0 * cos[1], cos[2], cos[3]], abs=1e-12)
    linear = ProgressLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0), schedule="linear")
    linear.begin(0.5, 0.75, 1)
    linear.step()
    assert linear.get_last_lr() == pytest.approx([0.5])
    with pytest.raises(ValueError, match="optim.schedule"):
        ProgressLR(opt, schedule="step")


def _sample(gid, n_tokens, correct):
    from uec_vlm.trainer.samples import Sample

    acc = float(correct)
    return Sample(prompt=None, example=None, completion_ids=[5] * n_tokens, text="", rollout_logprobs=[0.0] * n_tokens,
                  finish_reason="stop", group_id=gid, temperature=1.0, correct=correct,
                  rewards={"overall": acc, "accuracy": acc})


def test_dapo_dynamic_sampling_keeps_groups_by_accuracy_not_by_shaped_reward(make_cfg):
    """All-wrong group with one response in the overlong zone: its shaped rewards differ (-1, -1, -2), but
    it carries no accuracy signal and is dropped; the mixed group is kept."""
    from uec_vlm.algos.dapo import informative_groups
    from uec_vlm.trainer.loop import Trainer

    trainer = Trainer(make_cfg("dapo", "algo.max_resample_rounds=0", "algo.overlong.buffer=4",
                               "trainer.prompts_per_step=2"))
    samples = [_sample(0, 2, False), _sample(0, 2, False), _sample(0, 6, False),
               _sample(1, 2, True), _sample(1, 2, False), _sample(1, 2, False)]
    trainer._shape_rewards(samples)
    rewards, _, gids = trainer._tensors(samples)
    assert rewards.tolist() == [-1.0, -1.0, -2.0, 1.0, -1.0, -1.0]
    assert informative_groups(rewards, gids).tolist()[:3] == [True] * 3  # what filtering by reward would keep
    kept, rounds = trainer._dynamic_sampling([], samples, 2)
    assert [x.group_id for x in kept] == [1, 1, 1] and rounds == 0


def test_replay_without_buffer_stores_pre_update_old_logprobs(make_cfg):
    from uec_vlm.rewards import register_reward
    from uec_vlm.rewards.registry import REWARDS
    from uec_vlm.trainer.loop import Trainer
    from uec_vlm.trainer.update import fill_logprobs

    def parity(completions, examples, *, truncated=None):  # mixed outcomes on the random tiny model
        acc = [float(sum(c.encode()) % 3 == 0) for c in completions]
        return [{"overall": a, "accuracy": a, "format": 0.0} for a in acc]

    if "text_parity_for_semantics_test" not in REWARDS:
        register_reward("text_parity_for_semantics_test")(parity)

    cfg = make_cfg("grpo", "reward.name=text_parity_for_semantics_test", "reward.weights={}",
                   "uec.enabled=true", "uec.explore=false", "uec.retention=false", "uec.batch_buffer=false",
                   "uec.replay.enabled=true", "uec.replay.threshold=0.0", "uec.replay.freq=100", "trainer.mini_batch_size=0",
                   "trainer.prompts_per_step=4")
    trainer = Trainer(cfg)
    before = copy.deepcopy(trainer.s.model).eval()
    m = trainer.train_step(1)
    stored = list(trainer.s.replay_buffer.items)
    assert m["actor/updated"] == 1.0 and m["actor/optimizer_steps"] == 1.0 and stored
    pad = trainer.s.pad_token_id
    fresh = [copy.copy(x) for x in stored]
    for x in fresh:
        x.old_logp = None
    fill_logprobs(before, fresh, pad_token_id=pad, micro_batch_size=4)
    after = [copy.copy(x) for x in fresh]
    for x in after:
        x.old_logp = None
    fill_logprobs(trainer.s.model.eval(), after, pad_token_id=pad, micro_batch_size=4)
    for x, pre in zip(stored, fresh, strict=True):
        torch.testing.assert_close(x.old_logp, pre.old_logp, rtol=0, atol=1e-5)
    assert max(float((x.old_logp - post.old_logp).abs().max()) for x, post in zip(stored, after)) > 1e-4
