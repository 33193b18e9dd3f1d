"""Generation: HFBackend's shared prefill against naive expansion (each prompt repeated n times, n = 1).

Run as a child (`python bench/generation.py JSON`) it measures every (n, image tokens) cell in one process
and prints one JSON line; `section` renders the table.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PeakRSS, Workload, emit, model_dir, table  # noqa: E402
from workload import workload_examples  # noqa: E402

NS = (1, 4, 8, 16)
IMAGE_TOKENS = (16, 64, 256)


def measure(a: dict) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from uec_vlm.models.loading import load_policy
    from uec_vlm.prompts import ImageBudget, build_prompt
    from uec_vlm.rollout import SamplingParams
    from uec_vlm.rollout.hf import HFBackend

    model, processor = load_policy(model_dir(a["size"]))
    backend = HFBackend(model, processor, prompt_batch_size=64)
    cells = []
    warm = build_prompt(workload_examples(Workload(prompts=1, image_tokens=16))[0], processor, template="direct")
    backend.generate([warm], SamplingParams(n=2, max_new_tokens=4, seed=0))  # first-call set-up, not measured
    for tokens in IMAGE_TOKENS:
        w = Workload(prompts=a["prompts"], image_tokens=tokens)
        budget = ImageBudget(3136, max(3136, w.image_px ** 2))
        prompts = [build_prompt(ex, processor, template="direct", image_budget=budget)
                   for ex in workload_examples(w)]
        for n in NS:
            row = {"image_tokens": tokens, "n": n}
            for mode in ("shared", "naive"):
                batch = prompts if mode == "shared" else [p for p in prompts for _ in range(n)]
                params = SamplingParams(n=n if mode == "shared" else 1, max_new_tokens=a["new_tokens"], seed=0)
                with PeakRSS() as mem:
                    # CPU seconds of this thread (torch runs its 1 intra-op thread here; the RSS sampler's
                    # thread is not counted): the loaded machine stretches wall seconds far more.
                    t0 = time.thread_time()
                    out = backend.generate(batch, params)
                    dt = time.thread_time() - t0
                row[f"{mode}_s"] = dt
                row[f"{mode}_tok_s"] = sum(len(c.token_ids) for g in out for c in g) / dt
                row[f"{mode}_rss_mb"] = mem.peak_mb
            cells.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    return {"cells": cells, "params": sum(p.numel() for p in model.parameters())}


def section(result: dict, a: dict) -> str:
    rows = [[c["image_tokens"], c["n"], c["shared_s"], c["naive_s"], f"**{c['shared_s'] / c['naive_s']:.2f}**",
             c["shared_tok_s"], c["naive_tok_s"], c["shared_rss_mb"], c["naive_rss_mb"]] for c in result["cells"]]
    head = ["image tokens", "n", "shared prefill CPU s", "naive CPU s", "shared / naive", "shared tok/CPU s",
            "naive tok/CPU s",
            "shared peak RSS MB", "naive peak RSS MB"]
    return (f"{a['prompts']} prompts, {a['new_tokens']} new tokens, the {a['size']} model "
            f"({result['params'] / 1e6:.2f}M params), one process at 1 thread, cells run in sequence, times in CPU "
            "seconds of the generating thread (peak RSS is the "
            "process's, sampled during the call). Naive expansion = every prompt repeated n times and "
            "generated with n = 1: n prefills and n image encodings per prompt, which is what "
            "`generate(num_return_sequences=n)`-style trainers do for the prefill.\n\n" + table(head, rows))


if __name__ == "__main__":
    emit(measure(json.loads(sys.argv[1])))
