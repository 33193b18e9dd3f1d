"""The vLLM backend inside the trainer and the eval harness (tiny Qwen2.5-VL, vLLM's CPU build):
a 10-step UEC run with importance-corrected exploration at t' = 1.2, exact weight sync after a real update,
and eval results equal to the HF backend's under greedy decoding."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest
import torch

from uec_vlm.rollout import SamplingParams


def _odd_length_reward(completions, examples, *, truncated=None):
    """Right iff the response has an odd number of characters: a signal a random tiny policy can get,
    with all-wrong groups often enough that UEC explores."""
    return [{"overall": float(len(c) % 2), "accuracy": float(len(c) % 2), "format": 1.0} for c in completions]


@pytest.fixture(scope="module")
def run(vllm_tiny_dir, tmp_path_factory, masked_logprobs, max_abs_diff):
    """A 10-step uec run with rollout.backend=vllm. Recorded: every importance_weights call of its updates,
    and for every exploration rollout the largest difference between the log-probs vLLM returned and the
    trainer's log-probs at t' of the same tokens under the weights they were sampled with."""
    import uec_vlm.trainer.update as update
    from uec_vlm.config_loader import load_config, split_cli_args
    from uec_vlm.rewards import register_reward
    from uec_vlm.trainer.loop import Trainer

    register_reward("odd_length_for_vllm_test")(_odd_length_reward)
    out = tmp_path_factory.mktemp("vllm_run") / "run"
    sources, overrides = split_cli_args([
        "uec", f"model.path={vllm_tiny_dir('qwen2_5_vl')}", f"trainer.output_dir={out}", "trainer.steps=10",
        "trainer.prompts_per_step=2", "rollout.n=4", "rollout.max_new_tokens=8", "rollout.backend=vllm",
        "rollout.prompts_per_batch=2", "rollout.top_p=1.0", "data.train=synthgeo:train?n=8&seed=0", "data.val=",
        "trainer.tensorboard=false", "trainer.console=false", "optim.lr=1e-3", "algo.kl_coef=0",
        "prompt.template=direct", "prompt.max_prompt_length=512", "reward.name=odd_length_for_vllm_test",
        "reward.weights={accuracy: 1.0}", "trainer.micro_batch_size=8", "uec.explore_n=6", "uec.n0=8",
        "uec.hard_max_pass_rate=0.25", "uec.explore_rule=pos", "uec.explore_threshold=0",
        "uec.drop_truncated_positive=false", "uec.explore_temperature=1.2", "uec.importance_correction=true", "uec.replay.freq=2",
        "uec.replay.threshold=0.5",
    ])
    cfg = load_config(sources, overrides)
    calls = []
    real = update.importance_weights

    def recording(logp_t1, logp_tprime, mask, **kw):
        w = real(logp_t1, logp_tprime, mask, **kw)
        calls.append((mask.clone(), w.clone()))
        return w

    update.importance_weights = recording
    try:
        trainer = Trainer(cfg)
        backend, explore_checks = trainer.s.backend, []
        generate = backend.generate

        def checked(prompts, params):
            groups = generate(prompts, params)
            if params.temperature != cfg.rollout.temperature:
                flat = [(p, c) for p, g in zip(prompts, groups, strict=True) for c in g]
                ref = masked_logprobs(trainer.s.model, trainer.s.processor, [p for p, _ in flat],
                                      [c.token_ids for _, c in flat], temperature=params.temperature)
                explore_checks.append((params.temperature, max_abs_diff([c for _, c in flat], ref)))
            return groups

        backend.generate = checked
        summary = trainer.train()
        backend.generate = generate
    finally:
        update.importance_weights = real
    yield SimpleNamespace(trainer=trainer, summary=summary, calls=calls, explore_checks=explore_checks, cfg=cfg,
                          out=out)
    if trainer.s.backend.llm is not None:
        trainer.s.backend.close()


def test_uec_run_with_vllm_rollout_corrects_exploration_samples(run):
    from uec_vlm.trainer.run_dir import read_metrics

    assert run.summary["steps"] == 10 and run.summary["optimizer_updates"] >= 2
    rows = read_metrics(run.out / "metrics.jsonl")
    assert sum(r.get("uec/explore_samples") or 0 for r in rows) > 0
    assert sum(r.get("uec/replayed") or 0 for r in rows) > 0  # replay updates happened (and were pushed)
    # The exploration samples' log-probs are those of the distribution they were drawn from (t' = 1.2)...
    assert run.explore_checks and all(t == 1.2 and diff < 1e-5 for t, diff in run.explore_checks)
    # ...so their tokens are weighted by pi_1 / pi_1.2, away from 1 (equal only where the two happen to
    # cross); samples drawn at T = 1 are not weighted.
    assert run.calls, "no update batch held an exploration sample"
    explore_tokens = torch.cat([w[mask > 0] for mask, w in run.calls])
    regular_tokens = torch.cat([w[mask == 0] for mask, w in run.calls])
    assert explore_tokens.numel() > 20
    assert float(((explore_tokens - 1).abs() > 1e-3).float().mean()) > 0.9
    assert bool((regular_tokens == 1).all())


@pytest.fixture(scope="module")
def synced(run, tmp_path_factory):
    """A real policy update after the run, pushed into the run's engine, compared with a fresh engine on the
    checkpoint saved right after it. The prompt's image was encoded by the engine before the update."""
    from uec_vlm.prompts import build_prompt
    from uec_vlm.rollout.vllm import EngineOptions, VLLMBackend
    from uec_vlm.trainer.samples import make_samples
    from uec_vlm.trainer.update import policy_update

    s = run.trainer.s
    example = next(ex for ex in s.train_set.examples if ex.images)
    prompt = build_prompt(example, s.processor, template=run.cfg.prompt.template, image_budget=s.image_budget)
    params = SamplingParams(n=4, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=11)
    before = s.backend.generate([prompt], params)
    samples = make_samples([prompt], [example], before, first_group_id=10_000, temperature=1.0)
    for i, smp in enumerate(samples):
        smp.advantage = 1.0 if i % 2 == 0 else -1.0
    policy_update(s.train_model, s.optimizer, s.scheduler, samples, settings=s.update_settings, control=s.control,
                  pad_token_id=s.pad_token_id, rng=random.Random(0), generator=torch.Generator().manual_seed(0),
                  on_policy=True)
    s.backend.update_weights(s.model)
    after = s.backend.generate([prompt], params)
    s.backend.close()
    ckpt = tmp_path_factory.mktemp("vllm_ckpt") / "after_update"
    s.model.save_pretrained(ckpt)
    s.processor.save_pretrained(ckpt)
    fresh = VLLMBackend(s.model, s.processor, model_path=str(ckpt),
                        options=EngineOptions(dtype="float32", max_model_len=1024))
    yield SimpleNamespace(before=before[0], after=after[0], fresh=fresh, prompt=prompt, params=params, ckpt=ckpt,
                          model=s.model, processor=s.processor, cfg=run.cfg)
    fresh.close()


def test_weight_sync_after_update_equals_fresh_engine(synced):
    changed = max(abs(a - b) for x, y in zip(synced.before, synced.after, strict=True)
                  for a, b in zip(x.logprobs, y.logprobs))
    assert changed > 1e-4  # the update moved the policy on this prompt
    (fresh,) = synced.fresh.generate([synced.prompt], synced.params)
    assert [c.token_ids for c in fresh] == [c.token_ids for c in synced.after]
    for a, b in zip(fresh, synced.after, strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)


def test_eval_with_vllm_equals_hf_under_greedy(synced, tmp_path):
    from evals.harness import run_eval
    from uec_vlm.config_loader import load_config

    def evaluate(backend_name, backend):
        cfg = load_config([], [f"model.path={synced.ckpt}", f"eval.output_dir={tmp_path / backend_name}",
                               "eval.suite=[synthgeo:test?n=4&seed=0]", "eval.greedy=true",
                               "eval.max_new_tokens=16", "eval.bootstrap=10", "prompt.template=direct",
                               f"rollout.backend={backend_name}"])
        run_eval(cfg, model=synced.model, processor=synced.processor, backend=backend)
        lines = (tmp_path / backend_name / "samples.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    with_vllm = evaluate("vllm", synced.fresh)
    with_hf = evaluate("hf", None)
    assert len(with_vllm) == 4
    assert with_vllm == with_hf
