"""The trainer's weights in the form a vLLM engine loads: HF checkpoint names, LoRA deltas merged in.

vLLM serves the base architecture only (no peft modules), so a LoRA policy is pushed as merged weights
W + scale * B @ A, computed without touching the trainer's model (no merge/unmerge round trip, which
would perturb the base weights by float rounding every push).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch


def _base_module(model):
    model = getattr(model, "module", model)  # DistributedDataParallel
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _lora_deltas(base) -> dict[str, torch.Tensor]:
    """'<module>.weight' -> the sum of the active adapters' delta weights, for every peft LoRA layer."""
    deltas: dict[str, torch.Tensor] = {}
    for name, module in base.named_modules():
        if not (hasattr(module, "get_delta_weight") and hasattr(module, "base_layer")):
            continue
        if getattr(module, "merged", False) or getattr(module, "disable_adapters", False):
            continue
        for adapter in module.active_adapters:
            if adapter in getattr(module, "lora_A", {}):
                delta = module.get_delta_weight(adapter).detach()
                key = f"{name}.weight"
                deltas[key] = deltas[key] + delta if key in deltas else delta
    return deltas


@torch.no_grad()
def policy_weights(model) -> Iterator[tuple[str, torch.Tensor]]:
    """(checkpoint name, tensor) for every weight of `model` (plain, DDP-wrapped or peft LoRA).

    Names are the ones `save_pretrained` writes (what vLLM's loader maps); LoRA factors are folded in.
    FSDP2-sharded models must be gathered first (not handled here).
    """
    base = _base_module(model)
    deltas = _lora_deltas(base)
    for key, value in base.state_dict().items():
        if ".lora_" in key:
            continue
        key = key.replace(".base_layer.", ".")
        if key in deltas:
            value = value + deltas[key].to(value.dtype)
        yield key, value.detach()


def write_weights(model, directory: str | Path, processor) -> Path:
    """Write `policy_weights(model)` as one `model.safetensors` in `directory`, with the config and processor
    files (a `weights_path` reload re-points the engine's model path there, and vLLM re-reads them).

    Tensors sharing storage (tied embeddings) are cloned: safetensors refuses shared storage.
    """
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "config.json").exists():
        base = _base_module(model)
        base.config.save_pretrained(out)
        if getattr(base, "generation_config", None) is not None:
            base.generation_config.save_pretrained(out)
        processor.save_pretrained(out)
    seen: set[int] = set()
    tensors = {}
    for key, value in policy_weights(model):
        value = value.to("cpu").contiguous()
        ptr = value.untyped_storage().data_ptr()
        tensors[key] = value.clone() if ptr in seen else value
        seen.add(ptr)
    tmp = out / "model.safetensors.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(out / "model.safetensors")
    return out
