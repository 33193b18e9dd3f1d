"""Load a policy (image-text-to-text model + its processor) from a local directory or a hub id."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ModelLoadError(RuntimeError):
    """A model or processor that cannot be loaded; the message says what to download and where to point."""


def _offline_message(path_or_id: str, err: Exception) -> str:
    local = Path(path_or_id.split("/")[-1])
    return (
        f"cannot load model {path_or_id!r}: it is not a local directory and the hub is unreachable ({err}). "
        f"Download it on a machine with internet: `huggingface-cli download {path_or_id} --local-dir {local}` "
        f"(copy the folder here if needed) and set the config key `model.path` to that directory."
    )


def _vision_module(model):
    inner = getattr(model, "model", model)
    for name in ("visual", "vision_tower", "vision_model"):
        if hasattr(inner, name):
            return getattr(inner, name)
    raise ModelLoadError(f"freeze_vision: {type(model).__name__} has no visual / vision_tower module")


def load_policy(
    path_or_hub_id: str | Path,
    *,
    dtype: str = "float32",
    device: str = "cpu",
    attn_implementation: str = "sdpa",
    gradient_checkpointing: bool = False,
    lora: dict[str, Any] | None = None,
    freeze_vision: bool = False,
    trust_remote_code: bool = False,
):
    """Return `(model, processor)` loaded with AutoModelForImageTextToText + AutoProcessor.

    `dtype` is a torch dtype name ("float32", "bfloat16", "float16"); `lora` holds peft `LoraConfig`
    arguments (e.g. {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}); `freeze_vision`
    stops gradients into the vision tower (and merger). The processor keeps the checkpoint's left padding.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    source = str(path_or_hub_id)
    if not hasattr(torch, dtype) or not isinstance(getattr(torch, dtype), torch.dtype):
        raise ModelLoadError(f"model.dtype: unknown dtype {dtype!r} (use float32, bfloat16 or float16)")
    is_local = Path(source).is_dir()
    # A hub id is `owner/name`; anything else that is not a directory is a mistyped local path.
    if not is_local and (source.startswith((".", "/", "~")) or source.count("/") != 1):
        raise ModelLoadError(f"model.path: directory {source!r} does not exist")
    try:
        processor = AutoProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
        model = AutoModelForImageTextToText.from_pretrained(
            source,
            dtype=getattr(torch, dtype),
            attn_implementation=attn_implementation,
            trust_remote_code=trust_remote_code,
        )
    except OSError as e:
        if is_local:
            raise ModelLoadError(f"model.path: {source!r} is not a loadable checkpoint directory ({e})") from e
        raise ModelLoadError(_offline_message(source, e)) from e
    # Left padding is what batched generation and the log-prob collator assume.
    processor.tokenizer.padding_side = "left"
    model.to(device)
    if freeze_vision:
        for p in _vision_module(model).parameters():
            p.requires_grad_(False)
    if gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
        if freeze_vision or lora:
            # Checkpointed blocks need an input that requires grad when the embeddings are frozen.
            model.enable_input_require_grads()
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(**lora))
    return model, processor
