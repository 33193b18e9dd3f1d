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

    kw = to_vllm_sampling_kwargs(SamplingParams(n=5, temperature=1.0, top_p=0.99, max_new_tokens=64, seed=3), [2])
    assert kw == {"n": 5, "temperature": 1.0, "top_p": 0.99, "top_k": -1, "max_tokens": 64, "seed": 3,
                  "logprobs": 0, "stop_token_ids": [2], "detokenize": False}
    greedy = to_vllm_sampling_kwargs(SamplingParams(greedy=True, top_k=5, temperature=0.7), [])
    assert (greedy["temperature"], greedy["top_k"], greedy["top_p"]) == (0.0, -1, 1.0)
    sampled = to_vllm_sampling_kwargs(SamplingParams(top_k=5, temperature=1.2), [])
    assert (sampled["temperature"], sampled["top_k"]) == (1.2, 5)


def test_prompt_seeds():
    from uec_vlm.rollout.vllm import prompt_seed

    assert prompt_seed(None, 3) is None
    seeds = [prompt_seed(7, i) for i in range(4)]
    assert seeds == [(7 * 1_000_003 + i * 7919) % 2**31 for i in range(4)] and len(set(seeds)) == 4


def test_engine_kwargs_cpu_gpu_and_bad_options():
    from uec_vlm.rollout.vllm import EngineOptions, engine_kwargs

    cpu = engine_kwargs("/m", EngineOptions(dtype="float32", max_model_len=512), [7, 9], on_gpu=False)
    assert cpu == {"model": "/m", "dtype": "float32", "max_model_len": 512, "tensor_parallel_size": 1,
                   "limit_mm_per_prompt": {"image": 8, "video": 0}, "enable_prefix_caching": True,
                   "logprobs_mode": "processed_logprobs", "seed": 0, "distributed_executor_backend": "uni",
                   "enforce_eager": True, "logits_processors": ["uec_vlm.rollout.vllm_mask:BanTokens"],
                   "additional_config": {"uec_vlm_banned_token_ids": [7, 9]}}
    gpu = engine_kwargs("/m", EngineOptions(gpu_memory_utilization=0.3, sleep=True, tensor_parallel_size=2,
                                            weight_sync="path"), [], on_gpu=True)
    assert (gpu["gpu_memory_utilization"], gpu["enable_sleep_mode"], gpu["tensor_parallel_size"]) == (0.3, True, 2)
    assert "distributed_executor_backend" not in gpu and "enforce_eager" not in gpu
    with pytest.raises(ValueError, match="rollout.vllm_sleep needs a GPU"):
        engine_kwargs("/m", EngineOptions(sleep=True), [], on_gpu=False)
    with pytest.raises(ValueError, match="rollout.vllm_weight_sync: path"):
        EngineOptions(tensor_parallel_size=2)
    with pytest.raises(ValueError, match="rollout.vllm_gpu_memory_utilization"):
        EngineOptions(gpu_memory_utilization=1.5)


def test_policy_weights_merge_lora_without_touching_the_model(tiny_policy, tmp_path):
    import copy

    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file

    from uec_vlm.rollout.vllm_weights import policy_weights, write_weights

    model, processor = tiny_policy
    plain = dict(policy_weights(model))
    assert plain.keys() == model.state_dict().keys()
    lora = get_peft_model(copy.deepcopy(model), LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"],
                                                           init_lora_weights=False))
    before = {k: v.clone() for k, v in lora.state_dict().items()}
    merged = dict(policy_weights(lora))
    assert merged.keys() == plain.keys()
    name = next(k for k in plain if k.endswith("layers.0.self_attn.q_proj.weight"))
    layer = lora.base_model.model.model.language_model.layers[0].self_attn.q_proj
    expected = plain[name] + (layer.lora_B["default"].weight @ layer.lora_A["default"].weight) * 2.0
    assert torch.allclose(merged[name], expected, atol=1e-6) and not torch.equal(merged[name], plain[name])
    assert all(torch.equal(v, before[k]) for k, v in lora.state_dict().items())  # trainer's model untouched
    saved = load_file(str(write_weights(lora, tmp_path / "w", processor) / "model.safetensors"))
    assert saved.keys() == merged.keys() and torch.equal(saved[name], merged[name])
    assert (tmp_path / "w" / "config.json").exists() and (tmp_path / "w" / "processor_config.json").exists()


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_clear_message_without_vllm(tiny_policy):
    from uec_vlm.rollout import make_backend

    model, processor = tiny_policy
    with pytest.raises(ImportError, match=r"pip install 'uec-vlm\[vllm\]'.*make setup-vllm.*rollout.backend: hf"):
        make_backend("vllm", model, processor, model_path="unused")
