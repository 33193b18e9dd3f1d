"""What of bench/gpu_vllm_grpo_uec.py runs without a GPU: the 3B-size model config and the run's Config."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_script_builds_a_3b_config_and_a_valid_run_config(tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gpu_vllm_grpo_uec as script
    finally:
        sys.path.remove(str(ROOT / "bench"))
    from uec_vlm.models.tiny import build_tokenizer

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(script.model_config(build_tokenizer()), dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    assert 3.7e9 < params < 3.8e9  # Qwen2.5-VL-3B: 3.75B with tied embeddings
    cfg = script.train_config(tmp_path / "model", tmp_path / "run", script.parse_args([]), n0=32)
    assert (cfg.rollout.backend, cfg.rollout.vllm_sleep, cfg.uec.importance_correction) == ("vllm", True, True)
    assert (cfg.uec.explore_temperature, cfg.model.dtype, cfg.uec.n0) == (1.2, "bfloat16", 32)
