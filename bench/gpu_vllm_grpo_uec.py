"""GPU benchmark: GRPO-UEC steps on a 3B-size random-initialised Qwen2.5-VL with vLLM rollout colocated.

One command on a machine with one H100/H200 (< 10 minutes, about 2 of them building and saving the model):

    python bench/gpu_vllm_grpo_uec.py                 # or: --steps 4 --prompts 8 --n 8 --new-tokens 256

Needs: a CUDA machine with the GPU build of vLLM and the project in one environment, e.g. in a fresh venv
`pip install 'uec-vlm[vllm]'` from the repo (`pip install -e '.[vllm]'`; vLLM brings its own torch). No hub
access: the model is the Qwen2.5-VL-3B architecture at full size, randomly initialised, with the project's
small offline tokenizer (its LM head keeps 151,936 rows; the rows past the tokenizer are never sampled).

Prints one line per step and a JSON summary: tokens/s (rollout), s/step, MFU (model FLOPs of rollout and
update over the step time, against the GPU's dense bf16 peak), peak GPU memory (torch allocator and whole
device). UNVERIFIED: written and run on CPU-only machines up to the point of needing CUDA; no GPU run yet.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Dense bf16 peak (no sparsity) by device name; unknown devices report MFU against H100's.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}

# Qwen2.5-VL-3B-Instruct's shapes (config.json of the released checkpoint).
TEXT_3B = {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
           "num_attention_heads": 16, "num_key_value_heads": 2, "max_position_embeddings": 128000,
           "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
           "tie_word_embeddings": True}
VISION_3B = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "out_hidden_size": 2048,
             "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31], "patch_size": 14,
             "spatial_merge_size": 2, "temporal_patch_size": 2, "in_chans": 3, "hidden_act": "silu"}


def model_config(tok):
    """The Qwen2.5-VL-3B architecture with `tok`'s special-token ids."""
    from transformers import Qwen2_5_VLConfig

    ids = {name: tok.convert_tokens_to_ids(t) for name, t in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    text = dict(TEXT_3B, bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
                eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tok.pad_token_id)
    return Qwen2_5_VLConfig(text_config=text, vision_config=VISION_3B, tie_word_embeddings=True, **ids)


def train_config(path: Path, out: Path, args, n0: int):
    """The run's Config: UEC with importance-corrected exploration at t' = 1.2, vLLM rollout colocated."""
    from uec_vlm.config_loader import load_config

    return load_config(["uec"], [
        f"model.path={path}", "model.dtype=bfloat16", "model.device=cuda", "model.gradient_checkpointing=true",
        "data.train=synthgeo:train?n=512&seed=0", "data.val=", "prompt.template=math",
        "prompt.max_pixels=200704", "prompt.max_prompt_length=2048",
        "rollout.backend=vllm", f"rollout.n={args.n}", f"rollout.max_new_tokens={args.new_tokens}",
        f"rollout.prompts_per_batch={args.prompts}", f"rollout.vllm_gpu_memory_utilization={args.memory_fraction}",
        f"rollout.vllm_sleep={'false' if args.no_sleep else 'true'}",
        "reward.name=bench.common:bench_reward", "reward.weights={accuracy: 1.0}",
        "uec.explore_temperature=1.2", "uec.importance_correction=true", f"uec.n0={n0}",
        "uec.hard_max_pass_rate=0.2",
        f"trainer.prompts_per_step={args.prompts}", "trainer.micro_batch_size=8", "trainer.steps=1000",
        f"trainer.output_dir={out}", "trainer.resume=never", "trainer.console=false",
        "trainer.tensorboard=false", "optim.lr=1e-6",
    ])


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4, help="timed steps (after one warm-up step)")
    ap.add_argument("--prompts", type=int, default=8, help="prompts per step")
    ap.add_argument("--n", type=int, default=8, help="samples per prompt")
    ap.add_argument("--new-tokens", type=int, default=256, help="response length limit")
    ap.add_argument("--memory-fraction", type=float, default=0.35, help="rollout.vllm_gpu_memory_utilization")
    ap.add_argument("--no-sleep", action="store_true", help="keep the engine awake between rollouts")
    ap.add_argument("--model-dir", default="", help="reuse a checkpoint built by an earlier run")
    return ap.parse_args(argv)


def build_checkpoint(out: Path) -> Path:
    """Random-initialise the 3B-size model on the GPU in bf16 and save it with the offline processor."""
    import torch
    from transformers import AutoModelForImageTextToText

    from uec_vlm.models.tiny import _processor, build_tokenizer

    tok = build_tokenizer()
    config = model_config(tok)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = sorted({tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id})
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    _processor("qwen2_5_vl", tok, 4, 1024).save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    del model
    torch.cuda.empty_cache()
    print(f"built a random {n / 1e9:.2f}B-parameter Qwen2.5-VL in {out}", flush=True)
    return out


def peak_tflops() -> tuple[str, float]:
    import torch

    name = torch.cuda.get_device_name()
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return name, value
    return name, PEAK_BF16_TFLOPS["H100"]


def main() -> int:
    args = parse_args()
    import torch

    if not torch.cuda.is_available():
        print("this benchmark needs a CUDA GPU (see the module docstring)", file=sys.stderr)
        return 2
    from uec_vlm.trainer.loop import Trainer

    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="uec-gpu-bench-"))
    path = Path(args.model_dir) if args.model_dir else build_checkpoint(work / "qwen2_5_vl_3b_random")
    n0 = max(1, args.prompts * args.n // 2)  # samples per update: about one update per step after retention
    cfg = train_config(path, work / "run", args, n0)
    trainer = Trainer(cfg)
    params = sum(p.numel() for p in trainer.s.model.parameters())
    device, peak = peak_tflops()
    from uec_vlm.prompts import build_prompts

    sample_prompts, _ = build_prompts(trainer.s.train_set.examples[:16], trainer.s.processor,
                                      template=cfg.prompt.template, image_budget=trainer.s.image_budget)
    prompt_tokens = sum(p.num_prompt_tokens for p in sample_prompts) / max(len(sample_prompts), 1)
    print(f"set-up (model build + trainer + vLLM engine) {time.perf_counter() - t_start:.0f} s on {device}",
          flush=True)
    rows = []
    for step in range(1, args.steps + 2):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        m = trainer.train_step(step)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        free, total = torch.cuda.mem_get_info()
        gen_time = m.get("time/rollout", 0.0) + m.get("time/explore", 0.0)
        gen_tokens = m.get("perf/tokens_per_s", 0.0) * gen_time
        # Model FLOPs: 2N per generated token; 6N per trained token (prompt + response of the n0 samples of
        # an update; prompt length measured on the data, response length of this step's rollout). Attention
        # FLOPs, the old-log-prob pass and activation recomputation are left out: MFU is understated.
        trained = n0 * (prompt_tokens + m.get("response/length_mean", 0.0)) * m.get("actor/updated", 0.0)
        flops = 2 * params * gen_tokens + 6 * params * trained
        row = {"step": step, "s_per_step": dt, "rollout_s": gen_time, "update_s": m.get("time/update", 0.0),
               "tokens_per_s": m.get("perf/tokens_per_s", 0.0), "generated_tokens": gen_tokens,
               "mfu": flops / dt / (peak * 1e12), "device_used_gb": (total - free) / 2**30,
               "torch_peak_gb": torch.cuda.max_memory_allocated() / 2**30}
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    timed = rows[1:]

    def mean(key):
        return sum(r[key] for r in timed) / len(timed)

    summary = {"device": device, "params_b": params / 1e9, "timed_steps": len(timed), "s_per_step": mean("s_per_step"),
               "tokens_per_s": mean("tokens_per_s"), "mfu": mean("mfu"),
               "peak_torch_gb": max(r["torch_peak_gb"] for r in rows),
               "peak_device_used_gb": max(r["device_used_gb"] for r in rows),
               "total_s": time.perf_counter() - t_start}
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
