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
    parser.add_argument("--publish", default=None, metavar="DIR",
                        help="also copy REPORT.md and the images it shows into DIR (e.g. docs/demo)")


def _stage(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def run(args) -> int:
    import json
    import time
    from pathlib import Path

    from evals.compare import compare_runs, format_comparison
    from evals.harness import run_eval
    from evals.view import build_view
    from uec_vlm.commands.sft import sft
    from uec_vlm.commands.train import train
    from uec_vlm.config_loader import load_config
    from uec_vlm.models.tiny import make_tiny_model
    from uec_vlm.trainer.checkpoint import latest_checkpoint

    t0 = time.perf_counter()
    out = Path(args.out)
    fresh = not (out / "tiny_model" / "config.json").exists()  # every stage runs now: a wall time worth keeping
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
    cmp = compare_runs(out / "eval_before", out / "eval_after", ks=(1, 4), n_boot=10_000)
    (out / "comparison.json").write_text(json.dumps(cmp, indent=2))
    if fresh:
        import os

        (out / "wall_time.json").write_text(json.dumps({
            "minutes": (time.perf_counter() - t0) / 60, "load_average": os.getloadavg(),
            "threads_per_process": os.environ.get("OMP_NUM_THREADS"), "cpus": len(os.sched_getaffinity(0))}))
    report = demo_report(out, cmp, summary, train_spec=cfg_with().data.train, arch=args.arch)
    (out / "REPORT.md").write_text(report)
    for view_run in ("eval_before", "eval_after"):
        build_view(out / view_run)
    if args.publish:
        publish_report(out / "REPORT.md", Path(args.publish))
    print(format_comparison(cmp, labels=("before", "after")))
    print(f"report: {out / 'REPORT.md'}  (samples: uec-vlm eval view {out / 'eval_after'})")
    return 0


def publish_report(report, dest) -> None:
    """Copy a Markdown report and every local image it embeds into `dest`, keeping relative paths."""
    import re
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    text = report.read_text()
    for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report.parent / rel, dest / rel)
    (dest / report.name).write_text(text)


def _template_rows(before: dict, after: dict) -> list[str]:
    """Markdown rows: Pass@1 before / after per subset value of every benchmark the two summaries share."""
    rows = []
    for name, b in before["benchmarks"].items():
        a = after["benchmarks"].get(name, {"subsets": {}})
        for key, values in b["subsets"].items():
            if len(values) < 2:  # one value (difficulty = 0 only) repeats the overall row
                continue
            for value, m in values.items():
                m2 = a["subsets"].get(key, {}).get(value)
                if m2 is None:
                    continue
                p1, p2 = 100 * m["pass@1"]["value"], 100 * m2["pass@1"]["value"]
                rows.append(f"| {name} | {key} = {value} | {m['n_problems']} | {p1:.2f} | {p2:.2f} | {p2 - p1:+.2f} |")
    return rows


def demo_report(out, cmp: dict, summary: dict, *, train_spec: str, arch: str) -> str:
    """REPORT.md of a demo folder: before/after table, per-template breakdown, embedded plots."""
    import json

    from evals.compare import format_comparison
    from uec_vlm.report import plot_run, plots_markdown

    before = json.loads((out / "eval_before" / "summary.json").read_text())
    after = json.loads((out / "eval_after" / "summary.json").read_text())
    train_plots, _ = plot_run(out / "train")
    sft_plots, _ = plot_run(out / "sft")
    by_name = {p.stem: p for p in train_plots}
    held_out = [by_name.pop("validation")] if "validation" in by_name else []
    timing = "Wall time: not measured (the folder was started by an earlier run of another version)."
    if (out / "wall_time.json").is_file():
        w = json.loads((out / "wall_time.json").read_text())
        load = ", ".join(f"{x:.1f}" for x in w["load_average"])
        timing = (f"Wall time of the complete run: {w['minutes']:.1f} min on {w['cpus']} CPUs, "
                  f"{w['threads_per_process']} thread(s) per process, load average {load} (1, 5, 15 min) at its end; "
                  "a busy machine is slower (docs/benchmarks.md, busy machine).")
    lines = [
        "# uec-vlm CPU demo", "",
        f"Tiny Qwen-VL ({arch}, random init) warm-started on `{train_spec}` (sft), then trained with GRPO-UEC for "
        f"{summary['steps']} steps ({summary['optimizer_updates']} optimizer updates). **Before** = the warm-started "
        "model, **after** = the last RL checkpoint. Held-out synthgeo test problems, Pass@k from the samples per "
        "problem at temperature 1.0; paired bootstrap over problems (after - before). Why this data and what to "
        "expect: docs/demo.md.", "",
        "## Held-out test: before vs after RL", "",
        format_comparison(cmp, labels=("before", "after")),
        "## By template (held-out test, Pass@1 %)", "",
        "| benchmark | subset | problems | before | after | after - before |", "|---|---|---|---|---|---|",
        *_template_rows(before, after), "",
        "## Held-out validation during RL", "",
        *(plots_markdown(held_out, out) or ["(no validation: data.val is empty)"]), "",
        "## Pass@k after RL", "", *plots_markdown([out / "eval_after" / "pass_at_k.png"], out), "",
        "## Training curves", "", *plots_markdown(list(by_name.values()), out), "",
        "## Supervised warm start", "", *plots_markdown(sft_plots, out), "",
        "Every sample before and after, with its image: `eval_before/view.html`, `eval_after/view.html` next to "
        "this report in the demo folder (`uec-vlm eval view RUN`).", "",
        timing, "",
    ]
    return "\n".join(lines)
