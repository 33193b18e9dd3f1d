"""`uec-vlm train`: GRPO / UEC / baselines from presets, YAML files and key=value overrides."""

from __future__ import annotations

import argparse

HELP = "Train a policy with GRPO-UEC or a baseline (presets: grpo, dapo, uec, aer, kl_cov, clip_cov, entropy_adv)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="CONFIG_OR_OVERRIDE",
                        help="preset names / YAML files, then key.sub=value overrides (applied left to right)")


def build_validation(cfg, processor):
    """The validation callback on data.val (composition root: the trainer never imports evals)."""
    if not cfg.data.val:
        return None
    from evals.harness import make_validation_fn
    from uec_vlm.trainer.setup import load_data

    val = load_data(cfg, cfg.data.val)
    return make_validation_fn(cfg, processor, list(val))


def train(cfg) -> dict:
    from uec_vlm.trainer.loop import Trainer

    trainer = Trainer(cfg)
    trainer.validate_fn = build_validation(cfg, trainer.s.processor)
    return trainer.train()


def run(args) -> int:
    from uec_vlm.config_loader import load_config, split_cli_args

    sources, overrides = split_cli_args(args.sources)
    cfg = load_config(sources, overrides)
    summary = train(cfg)
    print(f"run folder: {summary['run']}  (summary.md, metrics.jsonl, checkpoints/; plots: uec-vlm report {summary['run']})")
    return 0
