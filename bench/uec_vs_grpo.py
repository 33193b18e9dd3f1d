"""UEC against GRPO at equal prompt batch on synthgeo: seconds per step and per retained sample."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, run_child, table  # noqa: E402

DATA = "synthgeo:train?n=256&seed=0&size=224"


def compare(size: str, steps: int = 3) -> dict:
    out = {}
    for preset in ("grpo", "uec"):
        args = {"size": size, "preset": preset, "data": DATA, "prompts": 8, "n": 8, "new_tokens": 64,
                "warmup": 1, "steps": steps, "micro_batch_size": 16}
        out[preset] = run_child("worker_ours.py", args)
        print(f"  {preset}: {out[preset]['step_s']}", flush=True)
    return out


def section(out: dict, size: str) -> str:
    rows = []
    for preset, r in out.items():
        step = median(r["step_s"])
        per_sample = sum(r["step_s"]) / max(sum(r["retained"]), 1.0)
        rows.append([preset, step, sum(r["samples"]) / len(r["samples"]), sum(r["retained"]) / len(r["retained"]),
                     per_sample, r["peak_rss_mb"]])
    ratio = rows[1][1] / rows[0][1]
    return (f"The {size} model on `{DATA}` (one 224 px image = 64 image tokens per prompt), 8 prompts x 8 "
            f"samples x 64 tokens per step for both (equal prompt batch), the presets `grpo` and `uec` with "
            f"kl_coef 0; one warm-up step, then {len(out['grpo']['step_s'])} timed steps. The reward is the "
            "benchmark's length-based one (correct = reward 1, about 1 in 7 samples): a random-initialised "
            "model answers nothing right, and with the accuracy reward every prompt is hard, every advantage "
            "0 and UEC retains nothing. UEC's batch buffer makes some steps update-free, so its per-step "
            "time is a median over steps that do and do not update.\n\n"
            + table(["preset", "median s/step", "samples generated / step", "samples retained / step",
                     "s per retained sample", "peak RSS MB"], rows)
            + f"\n\nUEC / GRPO per step: **{ratio:.2f}** (the UEC-RL paper reports 0.79 on its GPU setup).")
