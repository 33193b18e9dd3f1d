"""`uec-vlm demo`: the CPU quickstart. Tiny VLM -> SFT warm start -> eval -> GRPO-UEC -> eval -> report.

Every stage is an ordinary command's code path (make-tiny-model, sft, eval, train, eval compare, report)
and is skipped when its output already exists, so re-running resumes.
"""

from __future__ import annotations

import argparse

HELP = "Run the CPU demo: tiny VLM, warm start, GRPO-UEC on synthgeo, held-out eval before/after, report."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides of configs/demo.yaml")
    parser.add_argument("--out", default="runs/demo", help="demo folder (default runs/demo)")
    parser.add_argument("--arch", default="qwen2_5_vl", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])


def _stage(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def run(args) -> int:
    import json
    import time
    from pathlib import Path

    from evals.compare import compare_runs, format_comparison
    from evals.harness import run_eval
    from uec_vlm.commands.sft import sft
    from uec_vlm.commands.train import train
    from uec_vlm.config_loader import load_config
    from uec_vlm.models.tiny import make_tiny_model
    from uec_vlm.report import plot_run
    from uec_vlm.trainer.checkpoint import latest_checkpoint

    t0 = time.perf_counter()
    out = Path(args.out)
    base = ["demo", *args.overrides]

    def cfg_with(*extra):
        from uec_vlm.config_loader import split_cli_args

        sources, overrides = split_cli_args([*base, *extra])
        return load_config(sources, overrides)

    _stage("1/6 build a tiny random-initialised VLM")
    model_dir = out / "tiny_model"
    if not (model_dir / "config.json").exists():
        make_tiny_model(args.arch, model_dir, hidden_size=128, num_layers=2, vision_depth=1, seed=0)
    print(f"model: {model_dir}")

    _stage("2/6 supervised warm start (sft)")
    sft_model = out / "sft" / "model"
    if not (sft_model / "config.json").exists():
        sft(cfg_with(f"model.path={model_dir}", f"trainer.output_dir={out / 'sft'}"))

    _stage("3/6 held-out eval BEFORE RL")
    run_eval(cfg_with(f"model.path={sft_model}", f"eval.output_dir={out / 'eval_before'}"))

    _stage("4/6 GRPO-UEC")
    summary = train(cfg_with(f"model.path={sft_model}", f"trainer.output_dir={out / 'train'}"))
    final = latest_checkpoint(out / "train")

    _stage("5/6 held-out eval AFTER RL")
    run_eval(cfg_with(f"model.path={final}", f"eval.output_dir={out / 'eval_after'}"))

    _stage("6/6 report")
    plots, notes = plot_run(out / "train")
    cmp = compare_runs(out / "eval_before", out / "eval_after", ks=(1, 4), n_boot=10_000)
    (out / "comparison.json").write_text(json.dumps(cmp, indent=2))
    table = format_comparison(cmp)
    minutes = (time.perf_counter() - t0) / 60
    report = [
        "# uec-vlm CPU demo", "",
        f"Tiny Qwen-VL ({args.arch}, random init) warm-started on {cfg_with().data.train}, then trained with GRPO-UEC for "
        f"{summary['steps']} steps ({summary['optimizer_updates']} updates). Held-out synthgeo test, Pass@k from 4 "
        "samples per problem at temperature 1.0; paired bootstrap over problems (after - before). "
        "Why this data and what to expect: docs/demo.md.", "",
        table, "Plots:", *[f"- {p}" for p in plots], "", f"Wall time: {minutes:.1f} min.", "",
    ]
    (out / "REPORT.md").write_text("\n".join(report))
    print(table)
    print(f"report: {out / 'REPORT.md'}  (plots in {out / 'train' / 'plots'})")
    return 0
