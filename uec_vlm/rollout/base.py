"""The generation backend interface: prompts in, n completions per prompt out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from uec_vlm.prompts import PromptInputs


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. top_k=0 and top_p=1.0 mean no truncation; greedy ignores temperature/top-k/top-p.

    A seed makes one `generate` call reproducible (same prompts, same params -> same completions).
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    greedy: bool = False
    seed: int | None = None

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}")
        if self.max_new_tokens < 1:
            raise ValueError(f"SamplingParams.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not self.greedy and self.temperature <= 0:
            raise ValueError(f"SamplingParams.temperature must be > 0 (or greedy=True), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"SamplingParams.top_k must be >= 0 (0 = off), got {self.top_k}")


@dataclass
class Completion:
    """One sampled response. token_ids include the stop token when finish_reason is "stop".

    logprobs[i] is log p(token_ids[i]) under the temperature-scaled distribution (before top-k/top-p
    truncation), i.e. what `uec_vlm.logprobs.forward_logprobs(temperature=T)` recomputes.
    """

    token_ids: list[int]
    text: str
    logprobs: list[float]
    finish_reason: Literal["stop", "length"]


class GenerationBackend(Protocol):
    def generate(self, prompts: list[PromptInputs], params: SamplingParams) -> list[list[Completion]]:
        """One list of `params.n` completions per prompt, in prompt order."""
        ...

    def update_weights(self, model) -> None:
        """Make the backend sample from `model`'s current weights (after an optimizer step)."""
        ...


def banned_token_ids(processor, vocab_size: int) -> list[int]:
    """Token ids a policy must never sample: image/video placeholders, vision markers, unused vocab rows."""
    tok = processor.tokenizer
    names = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>")
    ids = {tok.convert_tokens_to_ids(n) for n in names if n in tok.get_vocab()}
    # Real checkpoints pad the LM head beyond the tokenizer (151936 rows vs 151665 tokens).
    ids.update(range(len(tok), vocab_size))
    return sorted(i for i in ids if i is not None and 0 <= i < vocab_size)


def stop_token_ids(processor, model) -> list[int]:
    """eos ids from the generation config, the tokenizer, and <|im_end|> (chat turn end)."""
    tok = processor.tokenizer
    ids = set()
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos])
    ids.add(tok.eos_token_id)
    if "<|im_end|>" in tok.get_vocab():
        ids.add(tok.convert_tokens_to_ids("<|im_end|>"))
    return sorted(i for i in ids if i is not None)
