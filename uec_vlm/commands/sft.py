"""`uec-vlm sft`: supervised warm start on gold answers (cold start before RL); saves an HF checkpoint."""

from __future__ import annotations

import argparse

HELP = "Supervised warm start on a dataset's gold answers (sft.* keys); writes OUTPUT_DIR/model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = """examples:
  uec-vlm sft demo model.path=runs/demo/tiny_model trainer.output_dir=runs/my_sft sft.steps=40
  uec-vlm sft configs/models/qwen2_5_vl_3b.yaml configs/data/geometry3k.yaml sft.steps=500 trainer.output_dir=runs/g3k_sft

keys: sft.steps, sft.lr, sft.batch_size, sft.response (uec-vlm config --fields); docs/training.md"""
    parser.add_argument("sources", nargs="+", metavar="CONFIG_OR_OVERRIDE",
                        help="preset names / YAML files, then key.sub=value overrides")


def sft(cfg) -> str:
    """Run cfg.sft on cfg.data.train from cfg.model.path; save to trainer.output_dir/model. Returns that path."""
    from pathlib import Path

    from uec_vlm.config import ConfigError
    from uec_vlm.config_loader import save_config
    from uec_vlm.prompts import ImageBudget
    from uec_vlm.report import embed_plots
    from uec_vlm.resolve import resolve_names
    from uec_vlm.trainer.metrics_log import MetricsLogger
    from uec_vlm.trainer.run_dir import RunDir
    from uec_vlm.trainer.setup import build_model, load_data, seed_everything
    from uec_vlm.trainer.sft import run_sft

    if cfg.sft.steps < 1:
        raise ConfigError("sft.steps must be >= 1 for `uec-vlm sft` (set sft.steps=N)")
    resolve_names(cfg, datasets=("data.train",))
    seed_everything(cfg.trainer.seed)
    model, processor = build_model(cfg)
    from uec_vlm.trainer.mixture import train_specs

    # SFT walks every example once per pass: a mixture's specs are concatenated (weights do not apply).
    data = [ex for spec, _ in train_specs(cfg.data.train, cfg.data.train_weights) for ex in load_data(cfg, spec)]
    run_dir = RunDir(cfg.trainer.output_dir)
    save_config(cfg, run_dir.config_path)
    logger = MetricsLogger(run_dir, total_steps=cfg.sft.steps, console=cfg.trainer.console,
                           tensorboard=cfg.trainer.tensorboard,
                           resume_step=0 if run_dir.last_step is not None else None)
    bad: list[tuple[str, str]] = []
    losses = run_sft(model, processor, list(data), steps=cfg.sft.steps, lr=cfg.sft.lr,
                     batch_size=cfg.sft.batch_size, micro_batch_size=cfg.trainer.micro_batch_size,
                     template=cfg.prompt.template,
                     image_budget=ImageBudget(cfg.prompt.min_pixels, cfg.prompt.max_pixels),
                     max_prompt_length=cfg.prompt.max_prompt_length, style=cfg.sft.response,
                     seed=cfg.trainer.seed, log=logger.log, bad=bad if cfg.data.on_error == "skip" else None)
    logger.close()
    for uid, reason in bad:
        print(f"data: skipped {uid} at use ({reason})")
    out = Path(cfg.trainer.output_dir) / "model"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    run_dir.write_summary({"sft_steps": cfg.sft.steps, "first_loss": losses[0], "last_loss": losses[-1],
                           "records_skipped_at_use": len(bad), "model": str(out)})
    embed_plots(run_dir.root)
    return str(out)


def run(args) -> int:
    from uec_vlm.config_loader import load_config, split_cli_args

    sources, overrides = split_cli_args(args.sources)
    out = sft(load_config(sources, overrides))
    print(f"warm-started model: {out}")
    return 0
