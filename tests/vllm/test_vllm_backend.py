"""The vLLM backend on vLLM's CPU build, one engine per architecture: log-probs equal the trainer's, per-prompt
seeds, placeholders never sampled, and weight pushes (tensors, LoRA merged, safetensors path) are exact."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch

from uec_vlm.models.tiny import ARCHS
from uec_vlm.rollout import SamplingParams


@pytest.fixture(scope="module", params=ARCHS)
def engine(request, vllm_tiny_dir, synthetic_examples):
    from uec_vlm.models.loading import load_policy
    from uec_vlm.prompts import build_prompt
    from uec_vlm.rollout.vllm import EngineOptions, VLLMBackend

    path = vllm_tiny_dir(request.param)
    model, processor = load_policy(path)
    model.eval()
    backend = VLLMBackend(model, processor, model_path=str(path),
                          options=EngineOptions(dtype="float32", max_model_len=1024))
    # One image, two images in the text, text only.
    prompts = [build_prompt(ex, processor) for ex in synthetic_examples]
    yield SimpleNamespace(arch=request.param, model=model, processor=processor, backend=backend, prompts=prompts)
    backend.close()


def _flat(prompts, groups):
    pairs = [(p, c) for p, g in zip(prompts, groups, strict=True) for c in g]
    return [p for p, _ in pairs], [c for _, c in pairs]


@pytest.mark.parametrize("temperature", [1.0, 1.2])
def test_logprobs_equal_trainer_logprobs(engine, temperature, masked_logprobs, max_abs_diff):
    """Sampled tokens' log-probs == compute_logprobs of the same tokens (fp32, images included), at T=1 and
    at an exploration temperature; the n samples of a prompt differ."""
    params = SamplingParams(n=4, temperature=temperature, top_p=1.0, max_new_tokens=12, seed=3)
    groups = engine.backend.generate(engine.prompts, params)
    assert [len(g) for g in groups] == [4, 4, 4]
    prompts, completions = _flat(engine.prompts, groups)
    assert all(len(c.logprobs) == len(c.token_ids) > 0 for c in completions)
    assert all(len({tuple(c.token_ids) for c in g}) > 1 for g in groups)
    ref = masked_logprobs(engine.model, engine.processor, prompts, [c.token_ids for c in completions],
                          temperature=temperature)
    assert max_abs_diff(completions, ref) < 1e-5


def test_logprobs_under_top_k_are_renormalised_over_the_kept_tokens(engine, max_abs_diff):
    """With truncation the log-probs are those of the truncated distribution actually sampled from."""
    from uec_vlm.logprobs import compute_logprobs
    from uec_vlm.rollout.base import banned_token_ids

    params = SamplingParams(n=4, temperature=1.2, top_k=5, max_new_tokens=8, seed=8)
    prompts, completions = _flat(engine.prompts, engine.backend.generate(engine.prompts, params))
    head = engine.model.get_output_embeddings()
    banned = torch.tensor(banned_token_ids(engine.processor, head.weight.shape[0]))

    def top5(module, inputs, logits):  # the set of the 5 largest is the same before and after dividing by T
        logits = logits.index_fill(-1, banned, float("-inf"))
        kth = logits.topk(5, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, float("-inf"))

    hook = head.register_forward_hook(top5)
    try:
        ref, _ = compute_logprobs(engine.model, prompts, [c.token_ids for c in completions],
                                  pad_token_id=engine.processor.tokenizer.pad_token_id, temperature=1.2)
    finally:
        hook.remove()
    assert max_abs_diff(completions, ref) < 1e-5


def test_seeds_are_per_prompt_and_reproducible(engine):
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=8, seed=5)
    twice = [engine.prompts[0], engine.prompts[0]]
    first = [[c.token_ids for c in g] for g in engine.backend.generate(twice, params)]
    again = [[c.token_ids for c in g] for g in engine.backend.generate(twice, params)]
    assert first == again
    assert first[0] != first[1]  # two copies of one prompt in a call are sampled independently


def _biased_towards_placeholders(model, processor):
    """A copy of `model` whose next-token distribution puts ~all mass on the placeholder / vision tokens.

    Attention and MLP outputs are zeroed, so the last hidden state is the token embedding; every embedding
    gets +1 on dimension 0 and the final norm keeps only that dimension (h_0 > 0 always); the LM head reads
    dimension 0 into the banned tokens' logits only.
    """
    from uec_vlm.rollout.base import banned_token_ids

    biased = copy.deepcopy(model)
    lm = biased.model.language_model
    banned = banned_token_ids(processor, biased.lm_head.weight.shape[0])
    with torch.no_grad():
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        lm.embed_tokens.weight[:, 0] = 1.0
        lm.norm.weight.zero_()
        lm.norm.weight[0] = 1.0
        biased.lm_head.weight.zero_()
        biased.lm_head.weight[banned, 0] = 100.0
    return biased, banned


def test_placeholders_never_sampled_even_when_the_policy_wants_them(engine):
    biased, banned = _biased_towards_placeholders(engine.model, engine.processor)
    with torch.no_grad():  # the claim "biased" checked on the HF side: > 99.9% of the mass on banned tokens
        inputs = engine.prompts[0].inputs
        logits = biased(**inputs).logits[0, -1]
        assert torch.softmax(logits, -1)[banned].sum() > 0.999
    engine.backend.update_weights(biased)
    try:
        for params in (SamplingParams(n=8, temperature=1.0, max_new_tokens=8, seed=1),
                       SamplingParams(n=8, temperature=1.2, max_new_tokens=8, seed=2),
                       SamplingParams(greedy=True, max_new_tokens=8)):
            groups = engine.backend.generate(engine.prompts, params)
            tokens = [t for g in groups for c in g for t in c.token_ids]
            assert tokens and not set(tokens) & set(banned)
    finally:
        engine.backend.update_weights(engine.model)


def test_lora_policy_is_pushed_merged(engine, masked_logprobs, max_abs_diff):
    from peft import LoraConfig, get_peft_model

    lora = get_peft_model(copy.deepcopy(engine.model),
                          LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.eval()
    engine.backend.update_weights(lora)
    try:
        params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=4)
        prompts, completions = _flat(engine.prompts, engine.backend.generate(engine.prompts, params))
        ids = [c.token_ids for c in completions]
        ref = masked_logprobs(lora, engine.processor, prompts, ids, temperature=1.0)
        base = masked_logprobs(engine.model, engine.processor, prompts, ids, temperature=1.0)
        assert max_abs_diff(completions, base) > 1e-3  # the adapter matters...
        assert max_abs_diff(completions, ref) < 1e-5  # ...and the engine samples from base + adapter
    finally:
        engine.backend.update_weights(engine.model)


def test_weights_path_route_reloads_from_safetensors(engine, tmp_path, masked_logprobs, max_abs_diff):
    """The route for an engine in another process: weights written to a file, reloaded by path; an image
    the engine has encoded before is encoded again with the new weights."""
    from uec_vlm.rollout.vllm_weights import write_weights

    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=6)
    engine.backend.generate(engine.prompts, params)  # caches the images' encodings and the prompts' KV
    moved = copy.deepcopy(engine.model)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(0.05 * torch.randn_like(p))
    engine.backend.load_weights_from(write_weights(moved, tmp_path / "sync", engine.processor))
    try:
        prompts, completions = _flat(engine.prompts, engine.backend.generate(engine.prompts, params))
        ids = [c.token_ids for c in completions]
        assert max_abs_diff(completions, masked_logprobs(moved, engine.processor, prompts, ids, temperature=1.0)) < 1e-5
        assert max_abs_diff(completions, masked_logprobs(engine.model, engine.processor, prompts, ids,
                                                         temperature=1.0)) > 1e-3
    finally:
        engine.backend.update_weights(engine.model)
