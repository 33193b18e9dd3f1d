"""`uec-vlm train`: GRPO / UEC / baselines from presets, YAML files and key=value overrides."""

from __future__ import annotations

import argparse

HELP = "Train a policy with GRPO-UEC or a baseline (presets: grpo, dapo, uec, aer, kl_cov, clip_cov, entropy_adv)."


EXAMPLES = """examples:
  uec-vlm train uec configs/models/qwen2_5_vl_3b.yaml configs/data/geometry3k.yaml trainer.output_dir=runs/geo_uec
  uec-vlm train grpo model.path=runs/demo/sft/model data.train='synthgeo:train?n=2000&difficulty=0' trainer.steps=50
  torchrun --nproc_per_node=8 -m uec_vlm.cli train uec configs/models/qwen2_5_vl_7b.yaml configs/data/geometry3k.yaml

every key with its default and meaning: uec-vlm config --fields; presets: uec-vlm config --presets;
the resolved config without training: uec-vlm config SOURCES...; docs/training.md, docs/algorithms.md"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("sources", nargs="+", metavar="CONFIG_OR_OVERRIDE",
                        help="preset names / YAML files, then key.sub=value overrides (applied left to right)")


def build_validation(cfg, processor):
    """The validation callback on data.val (composition root: the trainer never imports evals)."""
    from uec_vlm.resolve import resolve_val_spec

    spec, why = resolve_val_spec(cfg.data.val, cfg.data.train, cfg.data.adapter_modules)
    print(f"validation: {why}")
    if not spec:
        return None
    from evals.harness import benchmark_name, make_validation_fn
    from uec_vlm.trainer.setup import load_data

    val = load_data(cfg, spec)
    return make_validation_fn(cfg, processor, list(val), name=benchmark_name(spec))


def train(cfg) -> dict:
    from uec_vlm.report import embed_plots
    from uec_vlm.trainer import distributed as dist_utils
    from uec_vlm.trainer.loop import Trainer

    trainer = Trainer(cfg)
    trainer.validate_fn = build_validation(cfg, trainer.s.processor)
    summary = trainer.train()
    if dist_utils.is_main():
        embed_plots(summary["run"])
    return summary


def run(args) -> int:
    from uec_vlm.config_loader import load_config, split_cli_args

    sources, overrides = split_cli_args(args.sources)
    cfg = load_config(sources, overrides)
    summary = train(cfg)
    print(f"run folder: {summary['run']}  (summary.md with plots/, metrics.jsonl, events/, checkpoints/)")
    return 0
