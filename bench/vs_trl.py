"""Step time and peak RSS of uec-vlm against TRL's GRPOTrainer on identical work, runs alternated A B A B."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Workload, median, run_child, table  # noqa: E402


def compare(size: str, repeats: int, w: Workload, profile: str = "", checkpointing: bool = False,
            flops: bool = False, threads: str = "1") -> dict:
    """`checkpointing` = activation (gradient) checkpointing on BOTH sides. TRL's GRPOConfig turns it on by
    default and ours leaves it off, so it is always set explicitly: the two frameworks do identical work.
    The ratio is the median over pairs of (ours / TRL) of the pair's two processes, run back to back, in
    wall seconds and in CPU seconds of the step (`time.process_time`: what the step cost the machine, which a
    loaded machine inflates far less than wall time; with 1 thread per process it holds no spin-waiting)."""
    args = {"size": size, "prompts": w.prompts, "n": w.n, "new_tokens": w.new_tokens,
            "image_tokens": w.image_tokens, "images": w.images, "warmup": 0, "steps": 1, "lr": 1e-5,
            # Micro-batches of 16 rows (fewer when the step has fewer: TRL needs a whole number of them).
            "micro_batch_size": min(16, w.prompts * w.n), "gradient_checkpointing": checkpointing}
    runs: dict[str, list[dict]] = {"ours": [], "trl": []}
    for r in range(repeats):
        runs["ours"].append(run_child("worker_ours.py", dict(args, flops=flops and r == 0), timeout=3600,
                                      threads=threads))
        runs["trl"].append(run_child("worker_trl.py", args, timeout=3600, threads=threads))
        print(f"  {size} ckpt={checkpointing} run {r + 1}/{repeats}: ours {runs['ours'][-1]['step_s']} "
              f"(cpu {runs['ours'][-1]['cpu_s']}), trl {runs['trl'][-1]['step_s']} (cpu {runs['trl'][-1]['cpu_s']})",
              flush=True)
    out = {"size": size, "params": runs["ours"][0]["params"], "repeats": repeats, "checkpointing": checkpointing,
           "workload": asdict(w), "threads": threads}
    for name, rs in runs.items():
        out[f"{name}_step_s"] = median([t for r in rs for t in r["step_s"]])
        out[f"{name}_cpu_s"] = median([t for r in rs for t in r["cpu_s"]])
        out[f"{name}_rss_mb"] = median([r["peak_rss_mb"] for r in rs])
        out[f"{name}_tokens"] = median([t for r in rs for t in r["mean_completion_tokens"]])
    out["wall_ratio"] = median([o["step_s"][0] / t["step_s"][0] for o, t in zip(runs["ours"], runs["trl"])])
    out["ratio"] = median([o["cpu_s"][0] / t["cpu_s"][0] for o, t in zip(runs["ours"], runs["trl"])])
    out["rss_ratio"] = median([o["peak_rss_mb"] / t["peak_rss_mb"] for o, t in zip(runs["ours"], runs["trl"])])
    out["ours_phases"] = {k: median(v) for k, v in runs["ours"][0]["phases"].items()}
    if profile:  # an extra run under cProfile, not counted in the timings (the profiler slows Python down)
        out["profiled_phases"] = run_child("worker_ours.py", dict(args, profile=profile), timeout=3600,
                                           threads=threads)["phases"]
    if flops:
        out["flops"] = runs["ours"][0]["flops"]
    return out


def shape(wl: dict) -> str:
    return (f"{wl['prompts']}x{wl['n']}x{wl['new_tokens']}, {wl['images']}x{wl['image_tokens']} img tok")


def section(results: list[dict]) -> str:
    rows = [[r["size"], f"{r['params'] / 1e6:.2f}M", shape(r["workload"]), "on" if r["checkpointing"] else "off",
             r["repeats"], r["ours_cpu_s"], r["trl_cpu_s"], f"**{r['ratio']:.2f}**", r["ours_step_s"],
             r["trl_step_s"], f"{r['wall_ratio']:.2f}", r["ours_rss_mb"], r["trl_rss_mb"], f"{r['rss_ratio']:.2f}",
             f"{r['ours_tokens']:.1f} / {r['trl_tokens']:.1f}"] for r in results]
    head = ["model", "params", "prompts x n x new tokens, images", "activation checkpointing", "A/B pairs",
            "ours CPU s/step", "TRL CPU s/step", "ours / TRL, CPU s", "ours wall s/step", "TRL wall s/step",
            "ours / TRL, wall s", "ours peak RSS MB", "TRL peak RSS MB", "RSS ours / TRL",
            "mean new tokens ours / TRL"]
    threads = sorted({r.get("threads", "2") for r in results})
    return (f"{' / '.join(threads)} thread(s) per process. Workload per row as given (prompts x samples x max new "
            "tokens; images per prompt x tokens per image); no KL, one PPO epoch, one optimizer step per step (micro-batches of 16), lr 1e-5, "
            "temperature 1, top-p 1, top-k off; activation checkpointing set explicitly and identically on both "
            "sides (TRL's GRPOConfig default is on, ours off; both non-reentrant); each run a fresh process, "
            "ours and TRL alternated back to back, one timed step per process (the first: nothing is excluded "
            "on either side); the ratio columns are medians over pairs of the pair's ratio. CPU s = the step's "
            "`time.process_time()` (the headline: a loaded machine stretches wall seconds by whatever share of "
            "the cores it gives the process, which changes minute to minute, while the CPU seconds a step "
            "consumes move much less; 1 thread keeps OpenMP spin-waiting out of it). Peak RSS is the "
            "process's `ru_maxrss` (imports included).\n\n" + table(head, rows))
