import importlib.util

import pytest


def test_request_has_unexpanded_ids_and_resized_images(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import ImageBudget, build_prompt
    from uec_vlm.rollout.vllm import build_request

    _, processor = tiny_policy
    prompt = build_prompt(synthetic_examples[1], processor, image_budget=ImageBudget(16 * 784, 64 * 784))
    req = build_request(prompt, processor.tokenizer)
    ids = req["prompt_token_ids"]
    image_pad = processor.image_token_id
    assert ids.count(image_pad) == 2  # one per image: vLLM expands them itself
    expanded = prompt.inputs["input_ids"][0].tolist()
    assert [t for t in expanded if t != image_pad] == [t for t in ids if t != image_pad]
    assert req["multi_modal_data"]["image"] == prompt.images
    assert req["mm_processor_kwargs"] == {"size": {"shortest_edge": 112 * 112, "longest_edge": 224 * 224}}
    text_only = build_request(build_prompt(synthetic_examples[2], processor), processor.tokenizer)
    assert set(text_only) == {"prompt_token_ids"}


def test_sampling_kwargs():
    from uec_vlm.rollout import SamplingParams
    from uec_vlm.rollout.vllm import to_vllm_sampling_kwargs

    kw = to_vllm_sampling_kwargs(SamplingParams(n=5, temperature=1.0, top_p=0.99, max_new_tokens=64, seed=3),
                                 [2], [12, 13])
    assert kw == {"n": 5, "temperature": 1.0, "top_p": 0.99, "top_k": -1, "max_tokens": 64, "seed": 3,
                  "logprobs": 0, "stop_token_ids": [2], "skip_special_tokens": True,
                  "logit_bias": {12: -100.0, 13: -100.0}}
    greedy = to_vllm_sampling_kwargs(SamplingParams(greedy=True, top_k=5), [], [])
    assert (greedy["temperature"], greedy["top_k"], "logit_bias" in greedy) == (0.0, -1, False)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_clear_message_without_vllm(tiny_policy):
    from uec_vlm.rollout import make_backend

    model, processor = tiny_policy
    with pytest.raises(ImportError, match=r"pip install 'uec-vlm\[vllm\]'.*rollout.backend: hf"):
        make_backend("vllm", model, processor, model_path="unused")
