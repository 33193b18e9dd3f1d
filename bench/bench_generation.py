"""Shared-prefill generation (HFBackend) vs the naive expanded batch (prompt + images repeated n times).

Usage: python bench/bench_generation.py [--out table.md] [--model DIR] [--max-new-tokens 16]
Without --model a tiny random Qwen2.5-VL (hidden 128, 4 layers) is built in a temporary folder. Both paths
decode greedily for the same number of tokens, so the difference is the prefill and the image encoding.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

SIDES = {16: 112, 64: 224, 256: 448}  # image tokens -> square image side (28 px per merged token)


def _prompt(processor, side: int):
    import io

    from PIL import Image

    from data_zoo.example import Example, ImageRef
    from uec_vlm.prompts import ImageBudget, build_prompt

    buf = io.BytesIO()
    Image.new("RGB", (side, side), (120, 40, 200)).save(buf, "PNG")
    ex = Example(id=str(side), source="bench", split="test", question="<image>Find the area of the shape.",
                 answer="1", images=[ImageRef(data=buf.getvalue())])
    return build_prompt(ex, processor, image_budget=ImageBudget(side * side, side * side))


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the markdown table to this file")
    parser.add_argument("--model", help="checkpoint directory (default: a tiny random Qwen2.5-VL)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from uec_vlm.models.loading import load_policy
    from uec_vlm.models.tiny import make_tiny_model
    from uec_vlm.rollout import HFBackend, SamplingParams
    from uec_vlm.rollout.base import banned_token_ids

    torch.set_num_threads(2)
    path = args.model or make_tiny_model("qwen2_5_vl", tempfile.mkdtemp(), hidden_size=128, num_layers=4,
                                         vision_depth=2, max_image_tokens=256)
    model, processor = load_policy(path)
    model.eval()
    backend = HFBackend(model, processor)
    suppress = banned_token_ids(processor, model.get_output_embeddings().weight.shape[0])
    lines = ["| image tokens | n | shared prefill (s) | naive expansion (s) | speed-up |", "|---|---|---|---|---|"]
    for tokens, side in SIDES.items():
        prompt = _prompt(processor, side)
        for n in (1, 4, 8, 16):
            params = SamplingParams(n=n, greedy=True, max_new_tokens=args.max_new_tokens)
            expanded = {k: (torch.cat([v] * n) if k in ("pixel_values", "image_grid_thw") else v.repeat(n, 1))
                        for k, v in prompt.inputs.items()}
            shared = _time(lambda: backend.generate([prompt], params), args.repeats)  # noqa: B023
            with torch.no_grad():
                naive = _time(lambda: model.generate(  # noqa: B023
                    **expanded, max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens,  # noqa: B023
                    do_sample=False, suppress_tokens=suppress), args.repeats)
            lines.append(f"| {tokens} | {n} | {shared:.3f} | {naive:.3f} | {naive / shared:.2f}x |")
            print(lines[-1], file=sys.stderr)
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
