"""Generation backends. `HFBackend` (transformers) is the default; `VLLMBackend` lives in
`uec_vlm.rollout.vllm` and is imported only when asked for (vLLM is an optional GPU extra)."""

from uec_vlm.rollout.base import Completion, GenerationBackend, SamplingParams
from uec_vlm.rollout.hf import HFBackend

__all__ = ["Completion", "GenerationBackend", "HFBackend", "SamplingParams", "make_backend"]


def make_backend(name: str, model, processor, **options) -> GenerationBackend:
    """`hf` or `vllm` backend by name (config key `rollout.backend`)."""
    if name == "hf":
        return HFBackend(model, processor, **options)
    if name == "vllm":
        from uec_vlm.rollout.vllm import VLLMBackend

        return VLLMBackend(model, processor, **options)
    raise ValueError(f"rollout.backend: unknown backend {name!r} (use 'hf' or 'vllm')")
