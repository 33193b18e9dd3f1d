"""`uec-vlm make-tiny-model`: write a random-initialised tiny Qwen-VL checkpoint for tests and demos."""

from __future__ import annotations

import argparse

HELP = "build a random-initialised tiny Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint (offline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output directory")
    parser.add_argument("--arch", default="qwen2_5_vl", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--vision-depth", type=int, default=1)
    parser.add_argument("--vocab-size", type=int, default=1024, help="BPE vocabulary budget")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from uec_vlm.models.tiny import make_tiny_model

    path = make_tiny_model(
        args.arch, args.out, hidden_size=args.hidden_size, num_layers=args.num_layers,
        num_heads=args.num_heads, vision_depth=args.vision_depth, vocab_size=args.vocab_size, seed=args.seed,
    )
    print(f"wrote tiny {args.arch} model to {path}")
    return 0
