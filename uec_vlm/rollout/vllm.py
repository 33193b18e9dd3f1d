"""vLLM generation backend: `rollout.backend: vllm`.

Install: GPU users `pip install 'uec-vlm[vllm]'`; CPU users and CI `make setup-vllm` (vLLM's CPU build into the
project environment, see docs/vllm.md). Imported only when asked for.

Semantics (tested on CPU in tests/vllm/, docs/vllm.md):
- Prompts: the chat-rendered text with ONE placeholder per image plus the already-resized images; vLLM's
  processor (the checkpoint's own) expands placeholders and its resize is the identity, so rollout sees the
  pixels and image tokens the training forward sees.
- n samples of a prompt are one request (prompt prefilled and images encoded once, prefix caching on);
  each prompt of a call gets its own seed, derived from `SamplingParams.seed` and its index.
- Image/video placeholders, vision markers and LM-head rows beyond the tokenizer can never be sampled (an
  engine-wide logits processor sets them to -inf, however large their logits: `vllm_mask.BanTokens`).
- `Completion.logprobs` are the log-probs of the distribution each token was actually sampled from
  (vLLM `logprobs_mode="processed_logprobs"`): softmax(logits / T) over the non-banned tokens, renormalised
  over the kept ones when top-k / top-p truncate. The importance-corrected UEC variant divides by exactly
  these. The trainer's old log-probs (temperature 1, full vocabulary) always come from its own forward.
- Weights: `update_weights` pushes the trainer's weights (LoRA merged) after every optimizer update, either
  as tensors in-process (`collective_rpc("reload_weights", weights_iterator=...)`) or through a safetensors
  file (`weights_path`, for an engine in another process), then resets the prefix and encoder caches.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Literal

from uec_vlm.prompts import PromptInputs
from uec_vlm.rollout.base import Completion, SamplingParams, banned_token_ids, stop_token_ids

INSTALL_HINT = (
    "the vLLM rollout backend needs vLLM, which is not installed. On a CUDA machine: "
    "`pip install 'uec-vlm[vllm]'`; on CPU: `make setup-vllm` (vLLM's CPU build, see docs/vllm.md); "
    "or set `rollout.backend: hf`."
)

# CPU-build settings that work on small shared machines (docs/vllm.md); a value already in the
# environment wins.
CPU_ENV_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}


@dataclass(frozen=True)
class EngineOptions:
    """How the engine is built (config keys `rollout.vllm_*`)."""

    gpu_memory_utilization: float = 0.5
    max_model_len: int = 4096
    tensor_parallel_size: int = 1
    dtype: str = "auto"
    sleep: bool = False
    weight_sync: Literal["tensors", "path"] = "tensors"
    max_images_per_prompt: int = 8
    seed: int = 0

    def __post_init__(self):
        if self.tensor_parallel_size < 1:
            raise ValueError(f"rollout.vllm_tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError("rollout.vllm_gpu_memory_utilization must be in (0, 1], got "
                             f"{self.gpu_memory_utilization}")
        if self.weight_sync not in ("tensors", "path"):
            raise ValueError(f"rollout.vllm_weight_sync must be 'tensors' or 'path', got {self.weight_sync!r}")
        if self.tensor_parallel_size > 1 and self.weight_sync == "tensors":
            raise ValueError("rollout.vllm_tensor_parallel_size > 1 runs engine workers in other processes: "
                             "set rollout.vllm_weight_sync: path (tensors cannot be handed to them)")


def engine_kwargs(model_path: str, opts: EngineOptions, banned_ids: list[int], *, on_gpu: bool) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` (pure: unit-tested without vLLM). `banned_ids` are never sampled."""
    if opts.sleep and not on_gpu:
        raise ValueError("rollout.vllm_sleep needs a GPU (vLLM's sleep mode frees GPU memory); set it to false")
    kwargs: dict[str, Any] = {
        "model": str(model_path),
        "dtype": opts.dtype,
        "max_model_len": opts.max_model_len,
        "tensor_parallel_size": opts.tensor_parallel_size,
        "limit_mm_per_prompt": {"image": opts.max_images_per_prompt, "video": 0},
        "enable_prefix_caching": True,
        "logprobs_mode": "processed_logprobs",
        "seed": opts.seed,
        "logits_processors": ["uec_vlm.rollout.vllm_mask:BanTokens"],
        "additional_config": {"uec_vlm_banned_token_ids": list(banned_ids)},
    }
    if opts.tensor_parallel_size == 1:
        kwargs["distributed_executor_backend"] = "uni"  # the worker lives in this process: tensor pushes work
    if on_gpu:
        kwargs["gpu_memory_utilization"] = opts.gpu_memory_utilization
        kwargs["enable_sleep_mode"] = opts.sleep
    else:
        kwargs["enforce_eager"] = True  # the CPU build has no graph capture worth its compile time here
    return kwargs


def _import_vllm(in_process: bool):
    import torch

    if not torch.cuda.is_available():
        for key, value in CPU_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
    if in_process:
        # The engine core in this process: weight tensors reach the worker without pickling.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # The placeholder ban (uec_vlm.rollout.vllm_mask) is a V1-runner logits processor.
    os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")
    try:
        import vllm
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return vllm


def build_request(prompt: PromptInputs, tokenizer) -> dict[str, Any]:
    """A vLLM TokensPrompt dict for one prompt.

    Token ids are the chat-rendered text tokenised WITHOUT image-token expansion (one <|image_pad|> per
    image): vLLM's own multimodal processor expands each to the image's token count. The images are the
    already-resized ones, and `mm_processor_kwargs.size` brackets exactly their pixel counts so vLLM's
    resize is the identity: rollout sees the same pixels as training.
    """
    ids = tokenizer(prompt.text, add_special_tokens=False)["input_ids"]
    request: dict[str, Any] = {"prompt_token_ids": list(ids)}
    if prompt.images:
        pixels = [im.width * im.height for im in prompt.images]
        request["multi_modal_data"] = {"image": list(prompt.images)}
        request["mm_processor_kwargs"] = {"size": {"shortest_edge": min(pixels), "longest_edge": max(pixels)}}
    return request


def prompt_seed(seed: int | None, index: int) -> int | None:
    """The seed of the index-th prompt of a call (vLLM then gives its n samples seed, seed + 1, ...)."""
    if seed is None:
        return None
    return (seed * 1_000_003 + index * 7919) % (2**31)


def to_vllm_sampling_kwargs(params: SamplingParams, stop_ids: list[int]) -> dict:
    """Keyword arguments for `vllm.SamplingParams` equivalent to `params` (one prompt's seed applied later)."""
    return {
        "n": params.n,
        "temperature": 0.0 if params.greedy else params.temperature,
        "top_p": 1.0 if params.greedy else params.top_p,
        "top_k": -1 if params.greedy or params.top_k == 0 else params.top_k,
        "max_tokens": params.max_new_tokens,
        "seed": params.seed,
        "logprobs": 0,  # the sampled token's log-prob only
        "stop_token_ids": list(stop_ids),
        # Text is decoded here like the HF backend does (vLLM's incremental detokenizer holds back a trailing
        # partial UTF-8 sequence, so its text could differ from what the reward grades elsewhere).
        "detokenize": False,
    }


class VLLMBackend:
    """Generation through a `vllm.LLM` built from the policy checkpoint directory.

    `update_weights(model)` must be called after every change of the trainer's weights (the trainer does,
    after each policy update and each replay update).
    """

    def __init__(self, model, processor, *, model_path: str, options: EngineOptions | None = None,
                 sync_dir: str | None = None):
        import torch
        import torch.distributed as dist

        self.options = options or EngineOptions()
        self._vllm = _import_vllm(in_process=self.options.weight_sync == "tensors")
        self.processor = processor
        # The in-process engine creates a 1-process torch.distributed group unless one exists already.
        self._owns_dist_group = not (dist.is_available() and dist.is_initialized())
        vocab = model.get_output_embeddings().weight.shape[0]
        self.stops = stop_token_ids(processor, model)
        self.banned = banned_token_ids(processor, vocab)
        self.llm = self._vllm.LLM(**engine_kwargs(model_path, self.options, self.banned,
                                                  on_gpu=torch.cuda.is_available()))
        self._sync_dir = sync_dir
        self._sleeping = False
        self._sleep_if_colocated()

    # ---------------------------------------------------------------- colocation (GPU only)
    def _sleep_if_colocated(self) -> None:
        """Between rollouts the engine holds no GPU memory: weights go to host RAM, the KV cache is freed."""
        if self.options.sleep and not self._sleeping:
            self.llm.sleep(level=1)
            self._sleeping = True

    def _wake(self) -> None:
        if self._sleeping:
            self.llm.wake_up()
            self._sleeping = False

    # ---------------------------------------------------------------- weights
    def update_weights(self, model) -> None:
        """Load the trainer's current weights into the engine and drop every cache computed with the old ones."""
        from uec_vlm.rollout.vllm_weights import policy_weights, write_weights

        self._wake()
        if self.options.weight_sync == "tensors":
            self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": list(policy_weights(model))})
        else:
            if self._sync_dir is None:
                self._sync_dir = tempfile.mkdtemp(prefix="uec-vllm-weights-")
            self.load_weights_from(write_weights(model, self._sync_dir, self.processor))
        self.reset_caches()
        self._sleep_if_colocated()

    def load_weights_from(self, directory) -> None:
        """Reload the engine's weights from a checkpoint directory (a saved checkpoint, or `write_weights`'s).

        vLLM re-points its model path at `directory`: it must hold the config and processor files too."""
        self.llm.collective_rpc("reload_weights", kwargs={"weights_path": str(directory)})
        self.reset_caches()

    def reset_caches(self) -> None:
        # Stale prefix KV would silently give old-policy tokens; a stale encoder-cache entry fails the request.
        self.llm.reset_prefix_cache()
        self.llm.llm_engine.reset_encoder_cache()

    # ---------------------------------------------------------------- generation
    def generate(self, prompts: list[PromptInputs], params: SamplingParams) -> list[list[Completion]]:
        if not prompts:
            return []
        requests = [build_request(p, self.processor.tokenizer) for p in prompts]
        base = to_vllm_sampling_kwargs(params, self.stops)
        per_prompt = [self._vllm.SamplingParams(**dict(base, seed=prompt_seed(params.seed, i)))
                      for i in range(len(prompts))]
        self._wake()
        try:
            outputs = self.llm.generate(requests, per_prompt, use_tqdm=False)
        finally:
            self._sleep_if_colocated()
        groups = []
        for out in outputs:
            group = []
            for o in out.outputs:
                ids = list(o.token_ids)
                lps = [entry[t].logprob for entry, t in zip(o.logprobs or [], ids)]
                reason = "stop" if o.finish_reason == "stop" else "length"
                text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
                group.append(Completion(ids, text, lps, reason))
            groups.append(group)
        return groups

    def close(self) -> None:
        """Shut the engine down and free its memory (a second engine in the same process needs this)."""
        import gc

        llm, self.llm = self.llm, None
        if llm is None:
            return
        llm.llm_engine.engine_core.shutdown()
        del llm
        if self._owns_dist_group:
            from vllm.distributed.parallel_state import (
                destroy_distributed_environment,
                destroy_model_parallel,
            )

            destroy_model_parallel()
            destroy_distributed_environment()
        gc.collect()
