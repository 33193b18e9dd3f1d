"""The generation harness: a model x a suite of datasets -> per-sample JSONL -> report.

Resumable: every prompt's n samples are appended to `samples.jsonl` in one write (then flushed and
fsync'd). A killed run leaves whole prompts, possibly one prompt cut short and a torn last line: the torn
line is cut on restart, and a problem counts as done only when all n samples are on disk. Re-running the
same command skips the problems done; other sampling settings in the same folder are refused
(`eval_meta.json`). Each prompt is sampled with its own seed derived from (eval.seed, benchmark, id), so
results do not depend on resuming or on how problems are sharded over torchrun ranks (each rank appends to
`samples.rank<r>.jsonl`; rank 0 merges them into `samples.jsonl`, in dataset order, and deletes them).
Prompts are generated one at a time for that reason: one seeded generator per prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from evals import benchmarks as rules
from evals.samples import SAMPLES_FILE, read_samples, sample_line, write_samples

META_FILE = "eval_meta.json"
SHARD_PATTERN = "samples.rank{rank}.jsonl"
SHARD_GLOB = "samples.rank*.jsonl"


def prompt_seed(seed: int, benchmark: str, problem_id: str) -> int:
    digest = hashlib.sha256(f"{seed}|{benchmark}|{problem_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def benchmark_name(spec: str) -> str:
    """A file-safe display name for a dataset spec: `mathvista:testmini@/d` -> `mathvista_testmini`."""
    head = spec.split("@")[0].split("?")[0]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in head.replace(":", "_")).strip("_") or "data"


def repair_jsonl(path: Path) -> int:
    """Cut a torn last line left by a killed writer; returns the bytes removed."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    return len(data) - keep


def sample_records(example, completions, grades) -> list[dict]:
    return [
        {"id": str(example.id), "sample": i, "response": c.text, "extracted": g.extracted, "correct": bool(g.correct),
         "path": g.path, "reason": g.reason, "tokens": len(c.token_ids), "finish_reason": c.finish_reason}
        for i, (c, g) in enumerate(zip(completions, grades, strict=True))
    ]


def generate_records(backend, processor, examples, *, name: str, params_for, template: str, image_budget,
                     max_prompt_length: int, mode: str, sink=None, progress: str | None = None,
                     timeout_s: float = 5.0, bad: list[tuple[str, str]] | None = None) -> tuple[list[dict], list[str]]:
    """Sample and score every example, one prompt at a time. Returns (records, ids filtered as too long).

    `params_for(example) -> SamplingParams` (seeded per problem); `sink(lines: str)` persists each prompt's
    records as soon as they are scored; `progress`: the label of a progress bar (None: no bar). `bad`: when
    a list is given (data.on_error=skip), an example whose images fail only now (decoding at use) is
    recorded there as (id, reason) and skipped instead of raising DataError.
    """
    from data_zoo.example import DataError
    from uec_vlm.progress import bar
    from uec_vlm.prompts import PromptTooLong, build_prompt

    records: list[dict] = []
    too_long: list[str] = []
    for ex in (bar(examples, desc=progress, unit="problem", leave=True) if progress else examples):
        try:
            prompt = build_prompt(ex, processor, template=template, image_budget=image_budget,
                                  max_prompt_length=max_prompt_length)
        except PromptTooLong:
            too_long.append(str(ex.id))
            continue
        except DataError as err:
            if bad is None:
                raise
            bad.append((str(ex.id), str(err)))
            continue
        (completions,) = backend.generate([prompt], params_for(ex))
        grades = rules.score_many([ex] * len(completions), [c.text for c in completions], mode=mode,
                                  timeout_s=timeout_s)
        recs = sample_records(ex, completions, grades)
        records.extend(recs)
        if sink is not None:
            sink("".join(sample_line(name, r) for r in recs))
    return records, too_long


class _AppendSink:
    def __init__(self, path: Path):
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def __call__(self, text: str) -> None:
        self.fh.write(text)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def _meta(cfg) -> dict:
    """The settings samples depend on, keyed by their config keys; a run folder holds one set of them."""
    e = cfg.eval
    return {"model.path": cfg.model.path, "eval.suite": list(e.suite), "eval.n": 1 if e.greedy else e.n,
            "eval.greedy": e.greedy, "eval.temperature": e.temperature, "eval.top_p": e.top_p,
            "eval.max_new_tokens": e.max_new_tokens, "eval.seed": e.seed, "eval.mode": e.mode,
            "prompt.template": cfg.prompt.template, "prompt.min_pixels": cfg.prompt.min_pixels,
            "prompt.max_pixels": cfg.prompt.max_pixels}


def _meta_conflict(out: Path, meta: dict) -> str | None:
    """Why `out` cannot be resumed with `meta` (the differing keys, old and new values), or None."""
    path = out / META_FILE
    if not path.exists():
        return None
    old = json.loads(path.read_text())
    diff = [f"{k}: {old.get(k)!r} in the folder, {v!r} now" for k, v in meta.items() if old.get(k) != v]
    diff += [f"{k}: {old[k]!r} in the folder, not set now" for k in old if k not in meta]
    if not diff:
        return None
    return (f"{out} holds samples generated with other settings ({'; '.join(diff)}); resuming would mix them. "
            "Use another eval.output_dir, restore those settings, or delete the folder")


def _sample_files(out: Path) -> list[Path]:
    """The merged file and every rank's shard (a killed multi-process run may have left shards of any world size)."""
    return [out / SAMPLES_FILE, *sorted(out.glob(SHARD_GLOB))]


def _read_all(files: list[Path]) -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {}
    for f in files:
        if f.exists():
            for name, recs in read_samples(f).items():
                records.setdefault(name, []).extend(recs)
    return records


def _complete_ids(records: list[dict], n: int) -> set[str]:
    """Problems with all n samples on disk. A prompt cut by a kill mid-write keeps fewer and is redone."""
    have: dict[str, set[int]] = {}
    for r in records:
        have.setdefault(str(r["id"]), set()).add(int(r["sample"]))
    return {pid for pid, samples in have.items() if samples >= set(range(n))}


def run_eval(cfg, *, model=None, processor=None, backend=None) -> dict:
    """Evaluate `cfg.model.path` (or the given model) on `cfg.eval.suite`; writes the run folder.

    `backend`: an already-built generation backend for `model` (e.g. a running vLLM engine); by default one
    is built from `rollout.backend`.

    Returns the report summary on rank 0 and {} on other ranks.
    """
    from data_zoo.registry import load_dataset
    from evals.report import write_report
    from uec_vlm.config import ConfigError
    from uec_vlm.config_loader import save_config
    from uec_vlm.prompts import ImageBudget
    from uec_vlm.rollout import SamplingParams
    from uec_vlm.trainer import distributed as dist_utils
    from uec_vlm.trainer.setup import build_backend, build_model

    e = cfg.eval
    names = [benchmark_name(spec) for spec in e.suite]
    twins = sorted({name for name in names if names.count(name) > 1})
    if twins:
        # Samples are keyed by benchmark name: two specs sharing one would mix their problems.
        raise ConfigError(f"eval.suite: several specs have the benchmark name(s) {twins} "
                          f"({[s for s in e.suite if benchmark_name(s) in twins]})")
    dist_utils.init_from_env()
    rank, world = dist_utils.rank(), dist_utils.world_size()
    out = Path(e.output_dir)
    n = 1 if e.greedy else e.n
    meta = _meta(cfg)
    # Checked before the model loads, and the verdict is shared so that no rank waits at a barrier for one
    # that has stopped.
    conflict = None
    if dist_utils.is_main():
        out.mkdir(parents=True, exist_ok=True)
        conflict = _meta_conflict(out, meta)
        if conflict is None:
            (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            save_config(cfg, out / "config.yaml")
            for f in _sample_files(out):
                repair_jsonl(f)
    conflict = dist_utils.all_gather_objects(conflict)[0]
    if conflict:
        raise ConfigError(conflict)
    # Every rank reads every file before any rank appends to its shard again.
    existing = _read_all(_sample_files(out))
    dist_utils.barrier()
    if model is None:
        model, processor = build_model(cfg)
    model.eval()
    if backend is None:
        backend = build_backend(cfg, model, processor)  # rollout.backend: hf, or vllm when installed
    shard_file = out / (SAMPLES_FILE if world == 1 else SHARD_PATTERN.format(rank=rank))
    sink = _AppendSink(shard_file)
    budget = ImageBudget(cfg.prompt.min_pixels, cfg.prompt.max_pixels)
    datasets, too_long_all, bad_all = {}, {}, {}
    t0 = time.perf_counter()
    try:
        for spec in e.suite:
            name = benchmark_name(spec)
            ds = load_dataset(spec, on_error=cfg.data.on_error, adapter_modules=cfg.data.adapter_modules)
            datasets[name] = ds
            done = _complete_ids(existing.get(name, []), n)
            todo = [ex for ex in ds if str(ex.id) not in done]
            if done and dist_utils.is_main():
                print(f"{name}: {len(ds) - len(todo)} of {len(ds)} problems already in {out}, generating "
                      f"{len(todo)}", file=sys.stderr)

            def params_for(ex, name=name):
                return SamplingParams(n=n, temperature=e.temperature if not e.greedy else 1.0, top_p=e.top_p,
                                      max_new_tokens=e.max_new_tokens, greedy=e.greedy,
                                      seed=prompt_seed(e.seed, name, str(ex.id)))

            _, too_long = generate_records(backend, processor, todo[rank::world], name=name, params_for=params_for,
                                           template=cfg.prompt.template, image_budget=budget,
                                           max_prompt_length=cfg.prompt.max_prompt_length, mode=e.mode,
                                           sink=sink, progress=name if dist_utils.is_main() else None,
                                           timeout_s=cfg.reward.timeout_s,
                                           bad=bad_all.setdefault(name, []) if cfg.data.on_error == "skip" else None)
            too_long_all[name] = too_long
    finally:
        sink.close()
    dist_utils.barrier()
    gathered, gathered_bad = zip(*dist_utils.all_gather_objects((too_long_all, bad_all)))
    if not dist_utils.is_main():
        return {}
    shards = sorted(out.glob(SHARD_GLOB))
    records = _read_all([out / SAMPLES_FILE, *shards])
    # Merge shards into the one canonical file, deduplicated (a redone cut prompt repeats its first samples,
    # identically: same seed) and in dataset order.
    ordered = {}
    for name, ds in datasets.items():
        order = {str(ex.id): i for i, ex in enumerate(ds)}
        by_key = {}
        for r in records.get(name, []):
            if r["id"] not in order:
                raise ValueError(f"{out}: benchmark {name} has samples of problem {r['id']!r}, which its dataset "
                                 "does not hold; was the dataset changed? Use another eval.output_dir")
            by_key[(r["id"], int(r["sample"]))] = r
        ordered[name] = [by_key[k] for k in sorted(by_key, key=lambda k: (order[k[0]], k[1]))]
    write_samples(out / SAMPLES_FILE, ordered)
    for f in shards:
        f.unlink()
    skipped = {name: sorted({i for g in gathered for i in g.get(name, [])}) for name in datasets}
    failed = {name: sorted({b for g in gathered_bad for b in g.get(name, [])}) for name in datasets}
    for name, items in failed.items():  # data.on_error=skip: named here, counted in the report, not scored
        for pid, reason in items:
            print(f"{name}: skipped problem {pid} at use ({reason})", file=sys.stderr)
    info = dict(meta, prompts_too_long={k: len(v) for k, v in skipped.items()},
                records_skipped_at_use={k: len(v) for k, v in failed.items()}, seconds=time.perf_counter() - t0)
    summary = write_report(out, {name: (list(ds), ordered[name]) for name, ds in datasets.items()},
                           [k for k in e.ks if k <= n] or [1], mode=e.mode, extra_info=info, n_boot=e.bootstrap,
                           seed=e.seed)
    print(f"eval report: {out / 'summary.md'}")
    return summary


def run_eval_from_cli(config: str, rest: list[str]) -> int:
    """`uec-vlm eval CONFIG [more configs] [key=value ...]`."""
    from uec_vlm.config_loader import load_config, split_cli_args

    sources, overrides = split_cli_args([config, *rest])
    run_eval(load_config(sources, overrides))
    return 0


def make_validation_fn(cfg, processor, examples, *, name: str = "val"):
    """The trainer's validation callback: Pass@1 (mean over trainer.val_n samples) on held-out examples,
    with the same prompt builder and graders as `uec-vlm eval`; returns {'<name>/pass@1': ..., ...}."""
    import numpy as np

    from uec_vlm.prompts import ImageBudget
    from uec_vlm.rollout import SamplingParams
    from uec_vlm.rollout.hf import HFBackend

    t = cfg.trainer
    budget = ImageBudget(cfg.prompt.min_pixels, cfg.prompt.max_pixels)
    greedy = t.val_temperature == 0

    def validate(model, step: int) -> dict:
        backend = HFBackend(model, processor)

        def params_for(ex):
            return SamplingParams(n=1 if greedy else t.val_n, temperature=t.val_temperature or 1.0,
                                  top_p=cfg.rollout.top_p, max_new_tokens=cfg.rollout.max_new_tokens,
                                  greedy=greedy, seed=prompt_seed(t.seed, name, str(ex.id)))

        records, too_long = generate_records(backend, processor, examples, name=name, params_for=params_for,
                                      template=cfg.prompt.template, image_budget=budget,
                                      max_prompt_length=cfg.prompt.max_prompt_length, mode="official",
                                      progress=f"validate {name} (step {step})", timeout_s=cfg.reward.timeout_s)
        per_problem: dict[str, list[bool]] = {}
        for r in records:
            per_problem.setdefault(r["id"], []).append(r["correct"])
        acc = [float(np.mean(v)) for v in per_problem.values()]
        return {f"{name}/pass@1": float(np.mean(acc)) if acc else 0.0,
                f"{name}/format_rate": float(np.mean([r["extracted"] is not None for r in records])) if records else 0.0,
                f"{name}/prompts_too_long": float(len(too_long))}

    return validate
