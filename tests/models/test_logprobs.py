import pytest
import torch

BUDGET = dict(min_pixels=16 * 28 * 28, max_pixels=64 * 28 * 28)


def _prompts(processor, examples):
    from uec_vlm.prompts import ImageBudget, build_prompt

    return [build_prompt(e, processor, image_budget=ImageBudget(**BUDGET)) for e in examples]


def _generate_reference(model, prompt, max_new_tokens=6):
    """Greedy tokens from HF generate and their log-probs from generate's own scores."""
    out = model.generate(**prompt.inputs, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=None,
                         output_scores=True, return_dict_in_generate=True)
    tokens = out.sequences[0, prompt.num_prompt_tokens:]
    logps = torch.stack([torch.log_softmax(s[0].float(), -1)[t] for s, t in zip(out.scores, tokens)])
    return tokens.tolist(), logps


@pytest.fixture(scope="module")
def qwen2_vl_policy(tiny_qwen2_vl_dir):
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_vl_dir)
    return model.eval(), processor


@pytest.mark.parametrize("policy", ["tiny_policy", "qwen2_vl_policy"])
def test_batch_equals_singles_and_generate_scores(policy, request, synthetic_examples):
    from uec_vlm.logprobs import compute_logprobs

    model, processor = request.getfixturevalue(policy)
    pad = processor.tokenizer.pad_token_id
    prompts = _prompts(processor, synthetic_examples)
    refs = [_generate_reference(model, p) for p in prompts]
    completions = [refs[0][0], refs[1][0][:3], refs[2][0]]  # different lengths -> right padding
    batch_lp, batch_ent = compute_logprobs(model, prompts, completions, pad_token_id=pad, micro_batch_size=3,
                                           with_entropy=True)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        single_lp, single_ent = compute_logprobs(model, [p], [c], pad_token_id=pad, with_entropy=True)
        assert batch_lp[i].shape == (len(c),)
        torch.testing.assert_close(batch_lp[i], single_lp[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(batch_ent[i], single_ent[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(batch_lp[i], refs[i][1][:len(c)], atol=1e-5, rtol=0)


def test_entropy_is_full_vocabulary_and_gradient_flows(tiny_qwen2_5_vl_dir, synthetic_examples):
    from uec_vlm.logprobs import collate, forward_logprobs
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    prompt = _prompts(processor, synthetic_examples[:1])[0]
    completion = [5, 17, 300]
    batch = collate([prompt], [completion], processor.tokenizer.pad_token_id)
    logp, ent, mask = forward_logprobs(model, batch, temperature=0.5)
    assert mask.tolist() == [[1.0, 1.0, 1.0]]
    # Reference: the full forward's logits at the positions before each completion token.
    full = model(**{k: v for k, v in prompt.inputs.items()} | {
        "input_ids": torch.cat([prompt.inputs["input_ids"], torch.tensor([completion[:-1]])], 1),
        "attention_mask": torch.ones(1, prompt.num_prompt_tokens + 2, dtype=torch.long),
        "mm_token_type_ids": torch.cat([prompt.inputs["mm_token_type_ids"], torch.zeros(1, 2, dtype=torch.long)], 1),
    }).logits[0, -3:].float() / 0.5
    ref_logp = torch.log_softmax(full, -1)
    torch.testing.assert_close(logp[0], ref_logp[torch.arange(3), completion], atol=1e-5, rtol=0)
    torch.testing.assert_close(ent[0], -(ref_logp.exp() * ref_logp).sum(-1), atol=1e-5, rtol=0)
    (logp.sum() + ent.sum()).backward()
    assert model.lm_head.weight.grad is not None and model.model.visual.patch_embed.proj.weight.grad.abs().sum() > 0


def test_prefix_shared_forward_encodes_images_once_and_matches(tiny_policy, synthetic_examples, monkeypatch):
    from uec_vlm.logprobs import collate, forward_logprobs, forward_prefix_shared

    model, processor = tiny_policy
    pad = processor.tokenizer.pad_token_id
    prompt = _prompts(processor, synthetic_examples[1:2])[0]
    completions = [[5, 6, 7, 8], [9, 10], [11]]
    calls = []
    visual_forward = model.model.visual.forward
    monkeypatch.setattr(model.model.visual, "forward", lambda *a, **k: calls.append(1) or visual_forward(*a, **k))
    logp, ent, mask = forward_prefix_shared(model, [prompt], [0, 0, 0], completions, pad)
    assert len(calls) == 1
    ref_logp, ref_ent, ref_mask = forward_logprobs(model, collate([prompt] * 3, completions, pad))
    assert len(calls) == 2  # the plain path encodes the repeated pixel_values in one (3x larger) call
    assert mask.tolist() == ref_mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]
    torch.testing.assert_close(logp * mask, ref_logp * ref_mask, atol=1e-5, rtol=0)
    torch.testing.assert_close(ent * mask, ref_ent * ref_mask, atol=1e-5, rtol=0)


def test_collate_layout(tiny_policy, synthetic_examples):
    from uec_vlm.logprobs import collate

    _, processor = tiny_policy
    pad = processor.tokenizer.pad_token_id
    a, b = _prompts(processor, [synthetic_examples[0], synthetic_examples[2]])
    batch = collate([a, b], [[7, 8], [9]], pad)
    p_len = max(a.num_prompt_tokens, b.num_prompt_tokens)
    assert batch.prompt_length == p_len
    assert batch.completion_ids.tolist() == [[7, 8], [9, pad]]
    assert batch.completion_mask.tolist() == [[1, 1], [1, 0]]
    short = p_len - b.num_prompt_tokens
    assert batch.attention_mask[1, :short].sum() == 0 and batch.attention_mask[1, short:].sum() == p_len - short + 1
    assert batch.image_grid_thw.tolist() == [[1, 8, 10]]
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        collate([a, b], [[1]], pad)
