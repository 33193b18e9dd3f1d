import pytest
import torch

BUDGET = dict(min_pixels=16 * 28 * 28, max_pixels=64 * 28 * 28)


@pytest.fixture(scope="module")
def prompts(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import ImageBudget, build_prompt

    _, processor = tiny_policy
    return [build_prompt(e, processor, image_budget=ImageBudget(**BUDGET)) for e in synthetic_examples]


def _naive(model, prompt, n, max_new_tokens, suppress):
    """The naive expanded batch: the prompt (and its images) repeated n times, HF greedy generate."""
    inputs = {k: (torch.cat([v] * n) if k in ("pixel_values", "image_grid_thw") else v.repeat(n, 1))
              for k, v in prompt.inputs.items()}
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, suppress_tokens=suppress,
                         output_scores=True, return_dict_in_generate=True)
    return out.sequences[:, prompt.num_prompt_tokens:], out.scores


def test_greedy_shared_prefill_equals_naive_expansion(tiny_policy, prompts):
    from uec_vlm.rollout import HFBackend, SamplingParams
    from uec_vlm.rollout.base import banned_token_ids

    model, processor = tiny_policy
    groups = HFBackend(model, processor).generate(prompts, SamplingParams(n=3, greedy=True, max_new_tokens=10))
    suppress = banned_token_ids(processor, model.config.text_config.vocab_size)
    assert len(groups) == 3 and all(len(g) == 3 for g in groups)
    for prompt, group in zip(prompts, groups):
        seqs, scores = _naive(model, prompt, 3, 10, suppress)
        for row, c in enumerate(group):
            assert c.finish_reason == "length" and c.token_ids == seqs[row].tolist()
            assert c.text == processor.tokenizer.decode(c.token_ids, skip_special_tokens=True)
            ref = [torch.log_softmax(s[row].float(), -1)[t].item() for s, t in zip(scores, c.token_ids)]
            assert c.logprobs == pytest.approx(ref, abs=1e-5)


def test_seeded_sampling_reproducible(tiny_policy, prompts):
    from uec_vlm.rollout import HFBackend, SamplingParams

    model, processor = tiny_policy
    backend = HFBackend(model, processor, prompt_batch_size=2)
    params = SamplingParams(n=4, temperature=1.2, top_p=0.9, top_k=40, max_new_tokens=8, seed=7)
    first = [[c.token_ids for c in g] for g in backend.generate(prompts, params)]
    again = [[c.token_ids for c in g] for g in backend.generate(prompts, params)]
    other = [[c.token_ids for c in g] for g in backend.generate(prompts, SamplingParams(
        n=4, temperature=1.2, top_p=0.9, top_k=40, max_new_tokens=8, seed=8))]
    assert first == again
    assert first != other
    assert len({tuple(t) for t in first[0]}) > 1  # the n samples of one prompt differ


def test_sampled_logprobs_match_recomputed(tiny_qwen2_5_vl_dir, prompts):
    """With placeholder tokens made impossible, recorded log-probs equal forward_logprobs at temperature T."""
    from uec_vlm.logprobs import compute_logprobs
    from uec_vlm.models.loading import load_policy
    from uec_vlm.rollout import HFBackend, SamplingParams
    from uec_vlm.rollout.base import banned_token_ids

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    banned = banned_token_ids(processor, model.lm_head.weight.shape[0])
    model.lm_head.register_forward_hook(lambda m, i, o: o.index_fill(-1, torch.tensor(banned), -1e9))
    groups = HFBackend(model, processor).generate(prompts[:2], SamplingParams(n=2, temperature=0.7,
                                                                               max_new_tokens=6, seed=1))
    flat = [(p, c) for p, g in zip(prompts, groups) for c in g]
    recomputed, _ = compute_logprobs(model, [p for p, _ in flat], [c.token_ids for _, c in flat],
                                     pad_token_id=processor.tokenizer.pad_token_id, temperature=0.7)
    for lp, (_, c) in zip(recomputed, flat):
        assert c.logprobs == pytest.approx(lp.tolist(), abs=1e-5)


def test_placeholders_never_sampled_and_stop_token(tiny_qwen2_5_vl_dir, prompts):
    from uec_vlm.models.loading import load_policy
    from uec_vlm.rollout import HFBackend, SamplingParams

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    tok = processor.tokenizer
    image_pad, im_end = tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|im_end|>")
    bias = torch.zeros(model.lm_head.weight.shape[0])
    bias[image_pad] = 1e4  # the model now "wants" the image placeholder above all
    hook = model.lm_head.register_forward_hook(lambda m, i, o: o + bias)
    backend = HFBackend(model, processor)
    groups = backend.generate(prompts[:1], SamplingParams(n=2, max_new_tokens=5, seed=0))
    assert all(image_pad not in c.token_ids for c in groups[0])
    hook.remove()
    bias[image_pad], bias[im_end] = 0.0, 1e4
    model.lm_head.register_forward_hook(lambda m, i, o: o + bias)
    groups = backend.generate(prompts[:1], SamplingParams(n=2, greedy=True, max_new_tokens=5))
    assert [(c.token_ids, c.text, c.finish_reason) for c in groups[0]] == [([im_end], "", "stop")] * 2
    assert groups[0][0].logprobs == pytest.approx([0.0], abs=1e-5)


def test_sampling_params_validation():
    from uec_vlm.rollout import SamplingParams

    with pytest.raises(ValueError, match="temperature must be > 0"):
        SamplingParams(temperature=0.0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        SamplingParams(n=0)
    assert SamplingParams(temperature=0.0, greedy=True).greedy
