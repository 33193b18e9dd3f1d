"""vLLM generation backend (optional GPU extra: `pip install uec-vlm[vllm]`).

Imported only when `rollout.backend: vllm` is asked for. Request construction (`build_request`,
`to_vllm_sampling_kwargs`) is plain Python and unit-tested without vLLM; running it needs a GPU and is not
exercised by the CPU test suite (see docs/models.md).
"""

from __future__ import annotations

from typing import Any

from uec_vlm.prompts import PromptInputs
from uec_vlm.rollout.base import Completion, SamplingParams, banned_token_ids, stop_token_ids

INSTALL_HINT = (
    "the vLLM rollout backend needs vLLM, which is not installed. On a CUDA machine: "
    "`pip install 'uec-vlm[vllm]'` (vLLM pins its own torch; install it in a separate environment if the "
    "pins clash), or set `rollout.backend: hf`."
)


def _import_vllm():
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


def to_vllm_sampling_kwargs(params: SamplingParams, stop_ids: list[int], banned_ids: list[int]) -> dict:
    """Keyword arguments for `vllm.SamplingParams` equivalent to `params`."""
    kwargs = {
        "n": params.n,
        "temperature": 0.0 if params.greedy else params.temperature,
        "top_p": 1.0 if params.greedy else params.top_p,
        "top_k": -1 if params.greedy or params.top_k == 0 else params.top_k,
        "max_tokens": params.max_new_tokens,
        "seed": params.seed,
        "logprobs": 0,  # the sampled token's log-prob only
        "stop_token_ids": list(stop_ids),
        "skip_special_tokens": True,
    }
    if banned_ids:
        kwargs["logit_bias"] = {int(i): -100.0 for i in banned_ids}
    return kwargs


class VLLMBackend:
    """Generation through a `vllm.LLM` built from the policy checkpoint directory."""

    def __init__(self, model, processor, *, model_path: str, gpu_memory_utilization: float = 0.5,
                 max_model_len: int = 4096, **llm_kwargs):
        vllm = _import_vllm()
        self._vllm = vllm
        self.processor = processor
        self.llm = vllm.LLM(model=str(model_path), gpu_memory_utilization=gpu_memory_utilization,
                            max_model_len=max_model_len, limit_mm_per_prompt={"image": 8}, **llm_kwargs)
        vocab = model.get_output_embeddings().weight.shape[0]
        self.stops = stop_token_ids(processor, model)
        self.banned = banned_token_ids(processor, vocab)

    def update_weights(self, model) -> None:
        """Push the trainer's weights into the vLLM engine (unverified without a GPU; vLLM-version specific)."""
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        weights = [(k, v.detach()) for k, v in base.state_dict().items()]
        self.llm.apply_model(lambda m: m.load_weights(weights))

    def generate(self, prompts: list[PromptInputs], params: SamplingParams) -> list[list[Completion]]:
        requests = [build_request(p, self.processor.tokenizer) for p in prompts]
        sp = self._vllm.SamplingParams(**to_vllm_sampling_kwargs(params, self.stops, self.banned))
        outputs = self.llm.generate(requests, sp, use_tqdm=False)
        groups = []
        for out in outputs:
            group = []
            for o in out.outputs:
                ids = list(o.token_ids)
                lps = [entry[t].logprob for entry, t in zip(o.logprobs or [], ids)]
                reason = "stop" if o.finish_reason == "stop" else "length"
                group.append(Completion(ids, o.text, lps, reason))
            groups.append(group)
        return groups
