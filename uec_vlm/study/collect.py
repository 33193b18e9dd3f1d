"""Finished study runs on disk -> `build_study` -> the report files (`report_study(spec)`)."""

from __future__ import annotations

import json
from pathlib import Path

from uec_vlm.study.aggregate import build_study
from uec_vlm.study.report import write_study_report
from uec_vlm.study.results import load_run_result
from uec_vlm.study.runner import RUN_TIMES_FILE
from uec_vlm.study.spec import StudySpec


def difficulty_levels(suite: list[str], key: str, data_cfg) -> dict[str, dict[str, object]]:
    """{benchmark: {problem id: example.metadata[key]}} for the eval suite; benchmarks without the key are left out."""
    from data_zoo.registry import load_dataset
    from evals.harness import benchmark_name

    out = {}
    for spec in suite:
        ds = load_dataset(spec, on_error=data_cfg.on_error, adapter_modules=data_cfg.adapter_modules)
        levels = {str(ex.id): ex.metadata[key] for ex in ds if ex.metadata.get(key) is not None}
        if levels:
            out[benchmark_name(spec)] = levels
    return out


def header(spec: StudySpec, cfg, finished: int, total: int, minutes: float) -> list[str]:
    lines = [f"# Study `{spec.name}`", "",
             f"- config: `{spec.source}` (regenerate: `uec-vlm study {spec.source}`)",
             f"- training data: `{spec.dataset}`; held-out eval: {', '.join(f'`{s}`' for s in cfg.eval.suite)}, "
             f"{cfg.eval.n} samples per problem at temperature {cfg.eval.temperature}, top-p {cfg.eval.top_p}, "
             f"{cfg.eval.max_new_tokens} new tokens",
             f"- seeds: {spec.seeds}; baseline: `{spec.baseline}`; warm start: {spec.warm_start} SFT "
             f"({cfg.sft.steps} steps)" if spec.warm_start != "none" else f"- seeds: {spec.seeds}; baseline: "
             f"`{spec.baseline}`; no warm start",
             f"- runs finished: {finished}/{total}; compute: {minutes:.1f} min of training + eval (sum over runs)",
             "", "Methods (presets / overrides applied after the base config; `common` settings win over presets):",
             ""]
    lines += [f"- `{name}`: {' '.join(items)}" for name, items in spec.methods.items()]
    return lines + [""]


def report_study(spec: StudySpec, log=print) -> list[Path]:
    """Aggregate every finished run of the study and write the report into spec.report_dir."""
    from uec_vlm.config_loader import load_config

    plan = spec.plan(spec.baseline, spec.seeds[0], "unused")
    cfg = load_config(plan.sources, plan.overrides)
    n = 1 if cfg.eval.greedy else cfg.eval.n
    ks = sorted({k for k in cfg.eval.ks if k <= n}) or [1]
    results, missing, seconds = [], [], 0.0
    for method in spec.methods:
        for seed in spec.seeds:
            run_dir = spec.run_dir(method, seed)
            if not (run_dir / "eval" / "summary.json").is_file():
                missing.append(f"{method}/seed{seed}")
                continue
            results.append(load_run_result(run_dir, method, seed, ks))
            times = run_dir / RUN_TIMES_FILE
            if times.is_file():
                seconds += sum(json.loads(times.read_text()).values())
    if missing:
        log(f"not finished (left out of the report): {', '.join(missing)}")
    levels = difficulty_levels(cfg.eval.suite, spec.difficulty_key, cfg.data) if spec.difficulty_key else {}
    study = build_study(results, spec.baseline, levels=levels, n_boot=spec.n_boot)
    study["missing_runs"] = missing
    total = len(spec.methods) * len(spec.seeds)
    top = header(spec, cfg, len(results), total, seconds / 60)
    if missing:
        top += [f"**Not finished, left out: {', '.join(missing)}.**", ""]
    return write_study_report(study, spec.report_dir, header=top, notes=spec.notes)
