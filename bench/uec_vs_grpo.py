"""UEC against GRPO at equal prompt batch on synthgeo: seconds per step, per retained sample, and by phase."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, run_child, table  # noqa: E402

DATA = "synthgeo:train?n=256&seed=0&size=224"
# reward name -> what it stands for. The length-based one is the random model's row (nothing is ever right);
# the mixed one gives every prompt a pass rate spread over 0..1 (mean 0.5), as a warm-started policy has.
REWARDS = {"bench.common:bench_reward": "random model, length-based reward (about 1 in 7 samples correct)",
           "bench.common:mixed_reward": "warm-start pass-rate mix (per-prompt pass rate 0, 1/8, ..., 1; mean 0.5)"}


def compare(size: str, steps: int = 3, reward: str = "bench.common:bench_reward") -> dict:
    out = {}
    for preset in ("grpo", "uec"):
        args = {"size": size, "preset": preset, "data": DATA, "prompts": 8, "n": 8, "new_tokens": 64,
                "warmup": 1, "steps": steps, "micro_batch_size": 16, "reward": reward}
        out[preset] = run_child("worker_ours.py", args, threads="1", timeout=3600)
        print(f"  {preset} ({reward}): {out[preset]['step_s']}", flush=True)
    return {"reward": reward, "runs": out}


def section(results: list[dict], size: str) -> str:
    rows, phase_rows, ratios = [], [], []
    for res in results:
        label = REWARDS[res["reward"]]
        steps, cpus = {}, {}
        for preset, r in res["runs"].items():
            steps[preset], cpus[preset] = median(r["step_s"]), median(r["cpu_s"])
            per_sample = sum(r["cpu_s"]) / max(sum(r["retained"]), 1.0)
            rows.append([label, preset, cpus[preset], sum(r["cpu_s"]) / len(r["cpu_s"]), steps[preset],
                         sum(r["samples"]) / len(r["samples"]), sum(r["retained"]) / len(r["retained"]),
                         per_sample, r["peak_rss_mb"]])
            phases = {k: sum(v) / len(r["step_s"]) for k, v in r["phases"].items() if k != "step"}
            phase_rows.append([label, preset] + [phases.get(k, 0.0) for k in PHASES])
        ratios.append(f"{label}: **{cpus['uec'] / cpus['grpo']:.2f}** (median CPU s; mean CPU s "
                      f"{sum(res['runs']['uec']['cpu_s']) / sum(res['runs']['grpo']['cpu_s']):.2f}, median wall s "
                      f"{steps['uec'] / steps['grpo']:.2f})")
    n_steps = len(results[0]["runs"]["grpo"]["step_s"])
    return (f"The {size} model on `{DATA}` (one 224 px image = 64 image tokens per prompt), 8 prompts x 8 "
            f"samples x 64 tokens per step for both (equal prompt batch), the presets `grpo` and `uec` with "
            f"kl_coef 0, 1 thread per process; one warm-up step, then {n_steps} timed steps (CPU s = the step's "
            "`time.process_time()`, the headline on this loaded machine, as in section 1). Two rewards: the benchmark's "
            "length-based one (a random-initialised model answers nothing right, and with the accuracy reward "
            "every prompt is hard, every advantage 0 and UEC retains nothing), and a pass-rate mix standing in "
            "for a warm-started model (`bench.common.mixed_reward`: each prompt gets a pass rate 0, 1/8, ..., 1 "
            "from a hash of its id and each sample is correct with that probability, decided by a hash of the "
            "text; the model itself stays random, so generation lengths are a random model's). UEC's batch "
            "buffer makes some steps update-free, so its per-step time is a median over steps that do and do "
            "not update.\n\n"
            + table(["reward", "preset", "median CPU s/step", "mean CPU s/step", "median wall s/step",
                     "samples generated / step", "samples retained / step", "CPU s per retained sample",
                     "peak RSS MB"], rows)
            + "\n\nWall seconds by phase, averaged over the timed steps (the trainer's `time/*` metrics; a "
              "phase a step skips counts 0 for it):\n\n"
            + table(["reward", "preset"] + list(PHASES), phase_rows)
            + "\n\nUEC / GRPO per step: " + "; ".join(ratios) + " (the UEC-RL paper reports 0.79 on its GPU setup).")


def summary(results: list[dict]) -> str:
    out = []
    for res in results:
        cpu = {preset: median(r["cpu_s"]) for preset, r in res["runs"].items()}
        name = "pass-rate mix" if res["reward"].endswith("mixed_reward") else "random model"
        out.append(f"{name}: {cpu['uec'] / cpu['grpo']:.2f}")
    return "; ".join(out) + " (section 4)"


# The trainer's phases (`reward` runs inside `rollout` and `explore` and is not added to the step).
PHASES = ("sample", "rollout", "reward", "explore", "difficulty", "retention", "update", "replay")
