"""Step time and peak RSS of uec-vlm against TRL's GRPOTrainer on identical work, runs alternated A B A B."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Workload, median, run_child, table  # noqa: E402

# Alternations per size: the middle size carries the goal (ours / TRL <= 0.5), so it gets the most.
REPEATS = {"0.2M": 1, "3M": 3, "20M": 1}


def compare(size: str, repeats: int, w: Workload, profile: str = "", checkpointing: bool = False) -> dict:
    """`checkpointing` = activation (gradient) checkpointing on BOTH sides. TRL's GRPOConfig turns it on by
    default and ours leaves it off, so it is always set explicitly: the two frameworks do identical work."""
    args = {"size": size, "prompts": w.prompts, "n": w.n, "new_tokens": w.new_tokens,
            "image_tokens": w.image_tokens, "images": w.images, "warmup": 0, "steps": 1, "lr": 1e-5,
            "micro_batch_size": 16, "gradient_checkpointing": checkpointing}
    runs: dict[str, list[dict]] = {"ours": [], "trl": []}
    for r in range(repeats):
        ours_args = dict(args, profile=profile if r == 0 else "")
        runs["ours"].append(run_child("worker_ours.py", ours_args))
        runs["trl"].append(run_child("worker_trl.py", args))
        print(f"  {size} run {r + 1}/{repeats}: ours {runs['ours'][-1]['step_s']}, trl {runs['trl'][-1]['step_s']}",
              flush=True)
    out = {"size": size, "params": runs["ours"][0]["params"], "repeats": repeats, "checkpointing": checkpointing}
    for name, rs in runs.items():
        out[f"{name}_step_s"] = median([t for r in rs for t in r["step_s"]])
        out[f"{name}_rss_mb"] = median([r["peak_rss_mb"] for r in rs])
        out[f"{name}_tokens"] = median([t for r in rs for t in r["mean_completion_tokens"]])
    out["ratio"] = out["ours_step_s"] / out["trl_step_s"]
    out["ours_phases"] = {k: median(v) for k, v in runs["ours"][0]["phases"].items()}
    return out


def section(results: list[dict], w: Workload) -> str:
    rows = [[r["size"], f"{r['params'] / 1e6:.2f}M", "on" if r["checkpointing"] else "off", r["repeats"], r["ours_step_s"], r["trl_step_s"],
             f"**{r['ratio']:.2f}**", r["ours_rss_mb"], r["trl_rss_mb"], r["ours_rss_mb"] / r["trl_rss_mb"],
             f"{r['ours_tokens']:.1f} / {r['trl_tokens']:.1f}"] for r in results]
    head = ["model", "params", "activation checkpointing", "A/B pairs", "ours s/step", "TRL s/step", "ours / TRL", "ours peak RSS MB",
            "TRL peak RSS MB", "RSS ours / TRL", "mean new tokens ours / TRL"]
    return (f"Workload: {w.prompts} prompts x {w.n} samples x {w.new_tokens} new tokens, one {w.image_px} px image "
            f"({w.image_tokens} image tokens) per prompt; no KL, one PPO epoch, one optimizer step per step "
            "(micro-batches of 16), lr 1e-5, temperature 1, top-p 1, top-k off; activation checkpointing set "
            "explicitly and identically on both sides (TRL's GRPOConfig default is on, ours off); each run a fresh process, "
            "ours and TRL alternated, one timed step per process (the first: nothing is excluded on either "
            "side), medians over runs. Peak RSS is the process's `ru_maxrss` (imports included).\n\n"
            + table(head, rows))
