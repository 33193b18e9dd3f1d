"""Run a study: base model -> warm start(s) -> every (method, seed) training run -> held-out eval of each.

Every stage is skipped when its output exists, so re-running the same command resumes: a finished run
(its `eval/summary.json` exists) is not redone, an interrupted one resumes from its latest checkpoint
(trainer.resume=auto) and its eval from the samples already on disk.

With `workers > 1` the runs are spread over that many child processes (`uec-vlm study ... --run KEY`),
the i-th child pinned to `devices[i % len(devices)]` through CUDA_VISIBLE_DEVICES when devices are given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from uec_vlm.study.spec import RunPlan, StudySpec, flatten_overrides

Log = Callable[[str], None]
RUN_TIMES_FILE = "study_run.json"


def is_done(plan: RunPlan) -> bool:
    return (plan.eval_dir / "summary.json").is_file()


def changed_keys(plan: RunPlan) -> list[str]:
    """Config keys where a run's saved config.yaml differs from what the study now asks for. The saved file
    is read through the config loader, so a key a newer version added, at its default, is no change."""
    from uec_vlm.config_loader import load_config, to_dict

    saved = set(flatten_overrides(to_dict(load_config([str(plan.run_dir / "config.yaml")]))))
    wanted = set(flatten_overrides(to_dict(load_config(plan.sources, plan.overrides))))
    return sorted({item.split("=", 1)[0] for item in saved ^ wanted})


def prepare_model(spec: StudySpec, log: Log = print) -> str:
    """The study's starting checkpoint: `model.path`, or a tiny random-initialised model built once."""
    if "path" in spec.model:
        return str(spec.model["path"])
    from uec_vlm.models.tiny import make_tiny_model

    tiny = dict(spec.model["tiny"])
    out = spec.output_dir / "tiny_model"
    if not (out / "config.json").is_file():
        log(f"building tiny model {tiny} -> {out}")
        make_tiny_model(tiny.pop("arch", "qwen2_5_vl"), out, **tiny)
    return str(out)


def warm_start(spec: StudySpec, base_model: str, log: Log = print) -> str | dict[int, str]:
    """SFT warm start(s) from `base_model`: one shared by all runs, one per seed, or none (the base model).

    Every method at a given seed starts from the same weights, so the comparison isolates the RL method.
    """
    from uec_vlm.commands.sft import sft
    from uec_vlm.config_loader import load_config

    if spec.warm_start == "none":
        return base_model
    seeds = [spec.seeds[0]] if spec.warm_start == "shared" else spec.seeds
    out: dict[int, str] = {}
    for seed in seeds:
        folder = spec.output_dir / ("warm_start" if spec.warm_start == "shared" else f"warm_start/seed{seed}")
        model = folder / "model"
        if not (model / "config.json").is_file():
            log(f"warm start (sft, seed {seed}) -> {model}")
            sft(load_config(*spec.shared_config_args(base_model, folder, seed)))
        out[seed] = str(model)
    return out[seeds[0]] if spec.warm_start == "shared" else out


def budget_spent(run_dir: Path, cfg, step: int) -> bool:
    """True when the run stopped at `step` because trainer.rollout_token_budget was reached (its last metrics)."""
    from uec_vlm.trainer.run_dir import read_metrics

    budget = cfg.trainer.rollout_token_budget
    if not budget or not (run_dir / "metrics.jsonl").is_file():
        return False
    rows = [m for m in read_metrics(run_dir / "metrics.jsonl") if m["step"] == step]
    return bool(rows) and rows[-1].get("perf/rollout_tokens", 0.0) >= budget


def execute(plan: RunPlan, log: Log = print) -> Path:
    """Train one run (unless its final checkpoint exists), then evaluate that checkpoint. Returns eval_dir."""
    from evals.harness import run_eval
    from uec_vlm.commands.train import train
    from uec_vlm.config_loader import load_config
    from uec_vlm.trainer.checkpoint import list_checkpoints

    cfg = load_config(plan.sources, plan.overrides)
    times_path = plan.run_dir / RUN_TIMES_FILE
    times = json.loads(times_path.read_text()) if times_path.is_file() else {}
    found = list_checkpoints(plan.run_dir) if plan.run_dir.is_dir() else []
    if not found or (found[-1][0] < cfg.trainer.steps and not budget_spent(plan.run_dir, cfg, found[-1][0])):
        log(f"[{plan.key}] training ({cfg.trainer.steps} steps) in {plan.run_dir}")
        t0 = time.perf_counter()
        train(cfg)
        times["train_s"] = times.get("train_s", 0.0) + time.perf_counter() - t0
        found = list_checkpoints(plan.run_dir)
    step, final = found[-1]
    if step != cfg.trainer.steps and not budget_spent(plan.run_dir, cfg, step):
        raise RuntimeError(f"[{plan.key}] latest checkpoint {final} is step {step}, expected trainer.steps="
                           f"{cfg.trainer.steps}; delete {plan.run_dir} or restore the steps setting")
    log(f"[{plan.key}] held-out eval of {final}")
    t0 = time.perf_counter()
    cfg.model.path = str(final)
    run_eval(cfg)
    times["eval_s"] = times.get("eval_s", 0.0) + time.perf_counter() - t0
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    times_path.write_text(json.dumps(times, indent=2) + "\n")
    return plan.eval_dir


def _spawn(plans: list[RunPlan], spec: StudySpec, relaunch: list[str], log: Log) -> None:
    """Run `plans` in at most spec.workers child processes; raises naming the runs that failed."""
    waiting, running, failed = list(plans), [], []
    slot = 0
    while waiting or running:
        while waiting and len(running) < spec.workers:
            plan = waiting.pop(0)
            env = dict(os.environ, UEC_VLM_SIBLINGS=str(spec.workers))  # threads: cores / workers
            if spec.devices:
                env["CUDA_VISIBLE_DEVICES"] = spec.devices[slot % len(spec.devices)]
            slot += 1
            plan.run_dir.mkdir(parents=True, exist_ok=True)
            logfile = open(plan.run_dir / "study.log", "a")  # noqa: SIM115 - closed when the child ends
            cmd = [sys.executable, "-m", "uec_vlm.cli", "study", *relaunch, "--run", plan.key, "--no-report"]
            log(f"[{plan.key}] started in a child process (log: {plan.run_dir / 'study.log'})")
            running.append((plan, subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env), logfile))
        time.sleep(1.0)
        for item in list(running):
            plan, proc, logfile = item
            if proc.poll() is not None:
                logfile.close()
                running.remove(item)
                (failed if proc.returncode else []).append(plan.key)
                log(f"[{plan.key}] {'FAILED (see its study.log)' if proc.returncode else 'done'}")
    if failed:
        raise RuntimeError(f"study runs failed: {', '.join(failed)}; re-run the same command to resume them")


def run_study(spec: StudySpec, *, only: str | None = None, relaunch: list[str] | None = None,
              log: Log = print) -> list[RunPlan]:
    """Run every unfinished (method, seed) of the study (or only the run `only`, e.g. 'uec/seed1').

    relaunch: the study command's own arguments, needed to start child processes when spec.workers > 1.
    Returns all the study's run plans.
    """
    base = prepare_model(spec, log)
    plans = spec.plans(warm_start(spec, base, log))
    for plan in plans:
        # Runs are recognised by their files: refuse to mix in (or resume) runs made with other settings.
        changed = changed_keys(plan) if (plan.run_dir / "config.yaml").is_file() else []
        if changed:
            from uec_vlm.config import ConfigError

            raise ConfigError(f"{plan.key} in {plan.run_dir} was run with other settings ({', '.join(changed)}); "
                              "use a new output_dir or delete that run folder")
    if only is not None:
        chosen = [p for p in plans if p.key == only]
        if not chosen:
            raise ValueError(f"--run {only!r} is not a run of this study; runs: {', '.join(p.key for p in plans)}")
        if not is_done(chosen[0]):
            execute(chosen[0], log)
        return plans
    todo = [p for p in plans if not is_done(p)]
    log(f"study {spec.name}: {len(plans)} runs, {len(plans) - len(todo)} already finished")
    if spec.workers > 1 and len(todo) > 1:
        if relaunch is None:
            raise ValueError("workers > 1 needs the study command's arguments (relaunch) to start child processes")
        _spawn(todo, spec, relaunch, log)
    else:
        from uec_vlm.progress import bar

        for plan in bar(todo, desc=f"study {spec.name}", unit="run", leave=True):
            execute(plan, log)
    return plans
