"""A vLLM logits processor that makes a fixed set of tokens impossible for every request of an engine.

The backend bans image/video placeholders, vision markers and LM-head rows beyond the tokenizer this way
(-inf before sampling, so the processed log-probs renormalise over the rest). Per-request
`allowed_token_ids` would do the same but costs a vocabulary-sized index per request (0.16 s per sample at
Qwen's 151,936 rows, measured on a loaded 2-core machine) and is capped at 1,024 ids by vLLM's V2 model
runner; this processor costs one `index_fill_` per decoding step. It is the V1 runner's interface, so the
backend pins that runner (`VLLM_USE_V2_MODEL_RUNNER=0`). Imported only with vLLM installed.
"""

from __future__ import annotations

import torch
from vllm.v1.sample.logits_processor import LogitsProcessor

# Where the banned ids travel to the engine: `LLM(additional_config={CONFIG_KEY: [...]})`.
CONFIG_KEY = "uec_vlm_banned_token_ids"


class BanTokens(LogitsProcessor):
    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        ids = sorted((vllm_config.additional_config or {}).get(CONFIG_KEY, []))
        self.banned = torch.tensor(ids, dtype=torch.long, device=device)

    def is_argmax_invariant(self) -> bool:
        return False  # a banned token can be the argmax

    def update_state(self, batch_update) -> None:
        pass  # the same tokens for every request

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if self.banned.numel():
            logits.index_fill_(-1, self.banned, float("-inf"))
        return logits
