"""The vLLM rollout backend against the HF backend on CPU (needs vLLM: `make setup-vllm`).

Generation: the same prompts and images (4 prompts, one 64-token image each, 32 new tokens) at n = 1, 8, 16,
for the 3M, 20M and 100M tiny Qwen2.5-VL; one fresh process per (backend, size), engine start and first call
not timed. Training: GRPO steps of the vs-TRL workload at 3M with `rollout.backend` hf and vllm.

    python bench/vllm_vs_hf.py           # writes docs/bench_vllm.md and its section of docs/benchmarks.md
    python bench/vllm_vs_hf.py --quick   # the 3M model only
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT, Workload, emit, median, model_dir, run_child, table  # noqa: E402
from workload import workload_examples  # noqa: E402

DOC = ROOT / "docs" / "bench_vllm.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- vllm-vs-hf:start -->", "<!-- vllm-vs-hf:end -->"
NS = (1, 8, 16)
GEN = {"prompts": 4, "new_tokens": 32, "image_tokens": 64}
STEP = {"size": "3M", "prompts": 4, "n": 8, "new_tokens": 32, "image_tokens": 64, "steps": 2, "warmup": 1}


def measure(a: dict) -> dict:
    """Child: time `generate` of one backend at n in NS on the fixed prompts."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from uec_vlm.models.loading import load_policy
    from uec_vlm.prompts import ImageBudget, build_prompt
    from uec_vlm.rollout import SamplingParams, make_backend

    path = model_dir(a["size"])
    model, processor = load_policy(path)
    model.eval()
    w = Workload(prompts=a["prompts"], image_tokens=a["image_tokens"])
    budget = ImageBudget(3136, max(3136, w.image_px ** 2))
    prompts = [build_prompt(ex, processor, template="direct", image_budget=budget) for ex in workload_examples(w)]
    t0 = time.perf_counter()
    if a["backend"] == "vllm":
        from uec_vlm.rollout.vllm import EngineOptions

        backend = make_backend("vllm", model, processor, model_path=str(path),
                               options=EngineOptions(dtype="float32", max_model_len=1024))
    else:
        backend = make_backend("hf", model, processor, prompt_batch_size=64)
    start_s = time.perf_counter() - t0
    backend.generate(prompts[:1], SamplingParams(n=2, max_new_tokens=4, seed=0))  # first call: not timed
    cells = []
    for n in NS:
        t0 = time.perf_counter()
        out = backend.generate(prompts, SamplingParams(n=n, max_new_tokens=a["new_tokens"], seed=0))
        dt = time.perf_counter() - t0
        tokens = sum(len(c.token_ids) for g in out for c in g)
        cells.append({"n": n, "s": dt, "tokens": tokens, "tok_s": tokens / dt})
        print(json.dumps(cells[-1]), file=sys.stderr, flush=True)
    return {"cells": cells, "start_s": start_s, "params": sum(p.numel() for p in model.parameters())}


def _verdict(gen: dict) -> str:
    """Which backend wins per size (all n), and from which size on vLLM wins everywhere (the crossover)."""
    parts, crossover = [], None
    for size, by_backend in gen.items():
        ratios = [v["s"] / h["s"] for h, v in zip(by_backend["hf"]["cells"], by_backend["vllm"]["cells"], strict=True)]
        wins = sum(r < 1 for r in ratios)
        parts.append(f"{size}: vLLM faster in {wins} of {len(ratios)} cells (vLLM / HF {min(ratios):.2f}-{max(ratios):.2f})")
        if wins == len(ratios) and crossover is None:
            crossover = size
        elif wins < len(ratios):
            crossover = None
    where = (f"vLLM wins at every n from the {crossover} model on" if crossover else
             "no measured size where vLLM wins at every n")
    return "Verdict (computed from the table): " + "; ".join(parts) + f". Crossover: {where}."


def section(gen: dict, steps: dict, meta: dict) -> str:
    rows = []
    for size, by_backend in gen.items():
        hf, vl = by_backend["hf"], by_backend["vllm"]
        for c_hf, c_vl in zip(hf["cells"], vl["cells"], strict=True):
            rows.append([f"{size} ({hf['params'] / 1e6:.1f}M params)", c_hf["n"], c_hf["s"], c_vl["s"],
                         f"**{c_vl['s'] / c_hf['s']:.2f}**", c_hf["tok_s"], c_vl["tok_s"]])
    verdict = _verdict(gen)
    starts = ", ".join(f"{s}: hf {b['hf']['start_s']:.1f} s, vLLM {b['vllm']['start_s']:.1f} s" for s, b in gen.items())
    step_rows = [[name, median(r["step_s"]), median(r["phases"].get("rollout", [float("nan")])),
                  median(r["phases"].get("update", [float("nan")]))] for name, r in steps.items()]
    return f"""Written by `python bench/vllm_vs_hf.py` ({meta['minutes']:.1f} min of measuring, {meta['date']}); machine:
{meta['machine']}; 1-minute load average after each measurement: {meta['loads']}. **The machine was shared
and heavily loaded while this ran: read the ratios, not the seconds, and even those loosely** (the two
backends' `update s` below run the same code and should be equal: their gap is the noise).

Generation: {GEN['prompts']} prompts with one {GEN['image_tokens']}-token image each, {GEN['new_tokens']} new
tokens, sampled at T = 1 with the same seeds; the same prompt objects go to both backends. One process per
(backend, size); backend start (vLLM: engine build, a few seconds of it importing vLLM) and the first call are
not timed. Backend start: {starts}.

{table(["model", "n", "HF s", "vLLM s", "vLLM / HF", "HF tok/s", "vLLM tok/s"], rows)}

{verdict}

One GRPO step (the vs-TRL workload: {STEP['prompts']} prompts x {STEP['n']} samples x {STEP['new_tokens']}
tokens, {STEP['size']} model, median of {STEP['steps']} steps after one warm-up step):

{table(["rollout.backend", "step s", "rollout s", "update s"], step_rows)}

With vLLM the update also pushes the weights into the engine (part of `update s`)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the 3M model only")
    ap.add_argument("--resume", action="store_true", help="reuse the children already measured by a cut run")
    args = ap.parse_args()
    import platform

    meta = {"date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, 2 threads per process, fp32"}
    # Each child's result is kept as soon as it exists: a failure later does not lose the earlier ones,
    # and `--resume` measures only what is missing.
    partial = CACHE / "vllm_vs_hf.partial.json"
    done = json.loads(partial.read_text()) if args.resume and partial.exists() else {}

    def child(key: str, script: str, child_args: dict) -> dict:
        if key not in done:
            print(key, flush=True)
            done[key] = run_child(script, child_args, timeout=1800)
            done[key]["load_after"] = os.getloadavg()[0]
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(done))
        return done[key]

    gen = {size: {b: child(f"generation {size} {b}", "vllm_vs_hf.py", dict(GEN, size=size, backend=b))
                  for b in ("hf", "vllm")}
           for size in (["3M"] if args.quick else ["3M", "20M", "100M"])}
    steps = {b: child(f"training step {b}", "worker_ours.py", dict(STEP, overrides=[f"rollout.backend={b}"]))
             for b in ("hf", "vllm")}
    children = [r for by_b in gen.values() for r in by_b.values()] + list(steps.values())
    loads = [r["load_after"] for r in children if "load_after" in r]
    meta.update(minutes=sum(r["process_s"] for r in children) / 60,
                loads=f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not recorded")
    body = section(gen, steps, meta)
    DOC.write_text("# vLLM backend against the HF backend (CPU)\n\n" + body + "\n")
    (CACHE / "vllm_vs_hf.json").write_text(json.dumps({"gen": gen, "steps": steps, "meta": meta}))
    if BENCHMARKS.exists():
        text = BENCHMARKS.read_text()
        block = f"{START}\n## 6. vLLM backend against the HF backend (CPU)\n\n{body}\n{END}"
        if START in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        BENCHMARKS.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("{"):
        emit(measure(json.loads(sys.argv[1])))
    else:
        raise SystemExit(main())
