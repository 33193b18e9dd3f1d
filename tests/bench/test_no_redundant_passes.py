"""No redundant passes: count the model's forwards and the images its vision tower encodes in one trainer step.

Step under test: 2 prompts (one 112 px synthgeo image each = 16 image tokens) x n = 4 samples x 4 new
tokens, one micro-batch of 8. Expected, by hand:
  rollout   one shared prefill of 2 rows (each image encoded once, not once per sample), then decodes of 8
            one-token rows;
  training  one prompt pass of the 2 distinct prompts (each image encoded once, prompt tokens run once)
            and one completion pass of the 8 rows attending to that cache; on-policy (one epoch, one
            mini-batch) there is NO separate old-log-prob pass.
"""

from __future__ import annotations

import pytest


def _trainer(model_dir, out_dir, *overrides):
    from uec_vlm.config_loader import load_config
    from uec_vlm.trainer.loop import Trainer

    cfg = load_config(["grpo"], [
        f"model.path={model_dir}", "data.train=synthgeo:train?n=8&seed=0", "data.val=", "prompt.template=direct",
        "rollout.n=4", "rollout.max_new_tokens=4", "rollout.top_p=1.0", "reward.name=accuracy",
        "reward.weights={accuracy: 1.0}", "algo.kl_coef=0.0", "trainer.prompts_per_step=2",
        "trainer.micro_batch_size=8", f"trainer.output_dir={out_dir}", "trainer.resume=never",
        "trainer.console=false", "trainer.tensorboard=false", *overrides,
    ])
    return Trainer(cfg)


def _count(trainer):
    """Run one step; return (full-sequence forwards as (rows, is_prefill)), images encoded per vision call)."""
    model = trainer.s.model
    forwards, encoded = [], []

    def on_forward(module, args, kwargs):
        ids = kwargs["input_ids"]
        if ids.shape[1] > 1:  # decode steps feed one token per row
            forwards.append((int(ids.shape[0]), bool(kwargs.get("use_cache"))))

    def on_visual(module, args, kwargs, output):
        grid = kwargs.get("grid_thw", args[1] if len(args) > 1 else None)
        encoded.append(int(grid.shape[0]))

    hooks = [model.register_forward_pre_hook(on_forward, with_kwargs=True),
             model.model.visual.register_forward_hook(on_visual, with_kwargs=True)]
    try:
        metrics = trainer.train_step(1)
    finally:
        for h in hooks:
            h.remove()
    trainer.s.logger.close()
    return forwards, encoded, metrics


@pytest.mark.parametrize("checkpointing", ["false", "true"])
def test_on_policy_step_has_no_old_logprob_pass_and_encodes_each_image_once(tiny_qwen2_5_vl_dir, tmp_path,
                                                                          checkpointing):
    # Activation checkpointing keeps the prefix-shared training forward (replay-safe caches in logprobs.py).
    forwards, encoded, metrics = _count(_trainer(tiny_qwen2_5_vl_dir, tmp_path,
                                                 f"model.gradient_checkpointing={checkpointing}"))
    assert metrics["actor/optimizer_steps"] == 1.0
    # (rows, use_cache): the rollout prefill of 2 prompts, then the training forward: its prompt pass over
    # the 2 distinct prompts and its completion pass over the 8 samples.
    assert forwards == [(2, True), (2, True), (8, True)]
    # 2 images at rollout (not 8) and 2 in the training forward (not 8).
    assert encoded == [2, 2]


def test_two_epochs_need_the_old_logprob_pass(tiny_qwen2_5_vl_dir, tmp_path):
    forwards, encoded, metrics = _count(_trainer(tiny_qwen2_5_vl_dir, tmp_path, "trainer.ppo_epochs=2"))
    assert metrics["actor/optimizer_steps"] == 2.0
    # prefill, the no-grad old-log-prob pass, then one forward per epoch (each: prompt pass + completion pass).
    assert forwards == [(2, True)] + [(2, True), (8, True)] * 3
    assert encoded == [2, 2, 2, 2]


def test_shared_image_encoding_gives_the_plain_path_log_probs(tiny_policy, synthetic_examples):
    """fill_logprobs (each distinct prompt prefilled once) == compute_logprobs (every row's full sequence)."""
    import torch

    from uec_vlm.logprobs import compute_logprobs
    from uec_vlm.prompts import build_prompt
    from uec_vlm.trainer.samples import Sample
    from uec_vlm.trainer.update import fill_logprobs

    model, processor = tiny_policy
    pad = processor.tokenizer.pad_token_id
    # A one-image prompt, a two-image prompt and a text-only prompt, interleaved across rows.
    prompts = [build_prompt(ex, processor, template="direct") for ex in synthetic_examples]
    rows = [(0, [5, 6, 7]), (1, [9]), (0, [11, 12]), (2, [13, 14, 15, 16]), (1, [17, 18])]
    samples = [Sample(prompt=prompts[p], example=None, completion_ids=c, text="", rollout_logprobs=[],
                      finish_reason="length", group_id=p, temperature=1.0) for p, c in rows]
    fill_logprobs(model, samples, pad_token_id=pad, micro_batch_size=8)
    ref, _ = compute_logprobs(model, [prompts[p] for p, _ in rows], [c for _, c in rows], pad_token_id=pad)
    for s, r in zip(samples, ref):
        assert s.old_logp.shape == (s.num_tokens,)
        torch.testing.assert_close(s.old_logp, r, atol=1e-5, rtol=0)


@pytest.mark.parametrize("lengths,expected", [
    # (prompt index, length) -> group of the longest completion first, rows by length inside a group.
    ([(0, 2), (1, 5), (0, 3), (1, 1)], [(1, 5), (1, 1), (0, 3), (0, 2)]),
    ([(0, 4), (1, 4), (0, 1)], [(0, 4), (0, 1), (1, 4)]),
])
def test_group_major_order(lengths, expected):
    from uec_vlm.trainer.samples import Sample
    from uec_vlm.trainer.update import group_major

    prompts = [object(), object()]
    samples = [Sample(prompt=prompts[p], example=None, completion_ids=[0] * n, text="", rollout_logprobs=[],
                      finish_reason="stop", group_id=p, temperature=1.0) for p, n in lengths]
    out = group_major(samples)
    assert [(prompts.index(s.prompt), s.num_tokens) for s in out] == expected
