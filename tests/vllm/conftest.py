"""Fixtures for the vLLM backend tests: tiny checkpoints vLLM's CPU build can run (head_dim >= 32).

These tests run only where vLLM is importable: `make setup-vllm` installs its CPU build (.ci/run does).
Engines are expensive (10-40 s to start): each module shares its engines.
"""

from __future__ import annotations

import importlib.util

import pytest

NO_VLLM = "vLLM is not installed: `make setup-vllm` installs its CPU build (CI does), see docs/vllm.md"


@pytest.fixture(scope="session", autouse=True)
def _requires_vllm():
    """Every test here skips (before any engine fixture runs) where vLLM is not importable."""
    if importlib.util.find_spec("vllm") is None:
        pytest.skip(NO_VLLM)


@pytest.fixture(scope="session")
def vllm_tiny_dir(tmp_path_factory):
    """vllm_tiny_dir(arch) -> a tiny checkpoint with hidden 128 / 4 heads (vLLM's CPU attention needs
    head_dim >= 32), built once per session and arch."""
    from uec_vlm.models.tiny import make_tiny_model

    built = {}

    def get(arch: str):
        if arch not in built:
            built[arch] = make_tiny_model(arch, tmp_path_factory.mktemp("vllm_tiny") / arch, hidden_size=128,
                                          num_heads=4, seed=0)
        return built[arch]

    return get


@pytest.fixture(scope="session")
def masked_logprobs():
    """masked_logprobs(model, processor, prompts, completions, temperature=T) -> per-completion tensors: the
    trainer's compute_logprobs for the policy the backends sample from (placeholder tokens masked)."""
    return _masked_logprobs


@pytest.fixture(scope="session")
def max_abs_diff():
    """max_abs_diff(completions, reference) -> the largest |Completion.logprobs - reference| over all tokens."""
    return _max_abs_diff


def _masked_logprobs(model, processor, prompts, completions, *, temperature: float):
    import torch

    from uec_vlm.logprobs import compute_logprobs
    from uec_vlm.rollout.base import banned_token_ids

    head = model.get_output_embeddings()
    banned = torch.tensor(banned_token_ids(processor, head.weight.shape[0]))
    hook = head.register_forward_hook(lambda m, i, o: o.index_fill(-1, banned, float("-inf")))
    try:
        out, _ = compute_logprobs(model, prompts, completions, pad_token_id=processor.tokenizer.pad_token_id,
                                  temperature=temperature)
    finally:
        hook.remove()
    return out


def _max_abs_diff(completions, reference) -> float:
    return max(max((abs(a - b) for a, b in zip(c.logprobs, r.tolist(), strict=True)), default=0.0)
               for c, r in zip(completions, reference, strict=True))
