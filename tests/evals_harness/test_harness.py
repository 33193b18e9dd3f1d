"""`uec-vlm eval` end to end on a tiny Qwen2.5-VL: run folder, report numbers, resume after kill -9, refused
setting changes, 2-process sharding, and the trainer's validation callback."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from evals.metrics import pass_at_k

SAMPLE_FIELDS = {"benchmark", "id", "sample", "response", "extracted", "correct", "path", "reason", "tokens",
                 "finish_reason"}
SYNTHGEO_IDS = [f"0-{i}" for i in range(6)]
CHOICE_IDS = [f"mc{i}" for i in range(4)]
N = 3


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_problem(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        out.setdefault((r["benchmark"], r["id"]), []).append(r)
    return out


def eval_command(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "uec_vlm.cli", "eval", str(config), f"eval.output_dir={out}"]


def test_eval_writes_run_folder_and_summary_matches_samples(reference_run):
    for name in ("samples.jsonl", "summary.json", "summary.md", "metrics.csv", "pass_at_k.png", "config.yaml",
                 "eval_meta.json"):
        assert (reference_run / name).is_file(), name
    records = read_lines(reference_run / "samples.jsonl")
    assert len(records) == (6 + 4) * N
    assert all(set(r) == SAMPLE_FIELDS for r in records)
    # Dataset order, samples 0..n-1 within a problem.
    assert [(r["benchmark"], r["id"], r["sample"]) for r in records] == (
        [("synthgeo_test", i, s) for i in SYNTHGEO_IDS for s in range(N)]
        + [("canonical_test", i, s) for i in CHOICE_IDS for s in range(N)])
    assert all(r["tokens"] <= 6 and r["finish_reason"] in ("stop", "length") for r in records)

    correct = {key: sum(r["correct"] for r in recs) for key, recs in by_problem(records).items()}
    # The fixture's premise: some problem has right and wrong samples, so Pass@1 < Pass@2 can show.
    assert any(0 < c < N for c in correct.values())

    summary = json.loads((reference_run / "summary.json").read_text())
    assert summary["ks"] == [1, 2, 3]
    rows = {(row["benchmark"], row["subset_key"]): row
            for row in csv.DictReader((reference_run / "metrics.csv").open())}
    for bench, ids in (("synthgeo_test", SYNTHGEO_IDS), ("canonical_test", CHOICE_IDS)):
        b = summary["benchmarks"][bench]
        assert (b["n_problems"], b["n_samples"], b["samples_per_problem"]) == (len(ids), len(ids) * N,
                                                                                {"min": N, "max": N})
        for k in (1, 2, 3):
            expected = float(np.mean([pass_at_k(N, correct[(bench, i)], k) for i in ids]))
            assert b["metrics"][f"pass@{k}"]["value"] == expected
            assert float(rows[(bench, "all")][f"pass@{k}"]) == expected
    assert summary["extra_info"]["eval.n"] == N


def test_resume_after_kill_matches_uninterrupted_run(tmp_path, eval_config, reference_run):
    out = tmp_path / "run"
    samples = out / "samples.jsonl"
    log = (tmp_path / "first.log").open("w")
    # Own session: kill -9 reaches the grader workers the eval may have started, as a job scheduler would.
    proc = subprocess.Popen(eval_command(eval_config, out), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while not (samples.exists() and samples.read_bytes().count(b"\n") >= 2 * N):
        assert proc.poll() is None, "eval finished (or failed) before it could be killed"
        assert time.monotonic() < deadline, "no samples written in time"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    log.close()

    # Simulate a crash in the middle of a prompt's write: one whole line of the next prompt, then half a line.
    data = samples.read_bytes()
    data = data[:data.rfind(b"\n") + 1]
    have = by_problem([json.loads(line) for line in data.decode().splitlines()])
    complete = [i for i in SYNTHGEO_IDS if len(have.get(("synthgeo_test", i), [])) == N]
    assert len(complete) >= 2
    cut_id = next(i for i in SYNTHGEO_IDS if i not in complete)
    reference = read_lines(reference_run / "samples.jsonl")
    cut = [json.dumps(r) for r in reference if (r["benchmark"], r["id"]) == ("synthgeo_test", cut_id)]
    samples.write_bytes(data + (cut[0] + "\n" + cut[1][: len(cut[1]) // 2]).encode())

    rerun = subprocess.run(eval_command(eval_config, out), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # The problems already complete are skipped; the cut one counts as not done and is generated again.
    assert f"synthgeo_test: {len(complete)} of 6 problems already in {out}, generating {6 - len(complete)}" \
        in rerun.stderr
    final = read_lines(samples)
    keys = [(r["benchmark"], r["id"], r["sample"]) for r in final]
    assert len(keys) == len(set(keys)) == (6 + 4) * N
    assert final == reference


def test_changed_sampling_settings_are_refused_and_same_settings_resume(tmp_path, capsys, eval_config,
                                                                          reference_run):
    from uec_vlm.cli import main

    out = tmp_path / "run"
    shutil.copytree(reference_run, out)
    before = (out / "samples.jsonl").read_bytes()
    rc = main(["eval", str(eval_config), f"eval.output_dir={out}", "eval.temperature=0.5", "eval.top_p=0.9"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "eval.temperature: 1.0 in the folder, 0.5 now" in err
    assert "eval.top_p: 1.0 in the folder, 0.9 now" in err
    assert "eval.n" not in err
    assert (out / "samples.jsonl").read_bytes() == before

    # The same settings again: everything is on disk, nothing is generated, the report is rewritten.
    assert main(["eval", str(eval_config), f"eval.output_dir={out}"]) == 0
    err = capsys.readouterr().err
    assert f"synthgeo_test: 6 of 6 problems already in {out}, generating 0" in err
    assert f"canonical_test: 4 of 4 problems already in {out}, generating 0" in err
    assert (out / "samples.jsonl").read_bytes() == before


def test_shards_of_a_killed_sharded_run_resume_in_one_process(tmp_path, capsys, eval_config, reference_run,
                                                             tiny_policy):
    from evals.harness import run_eval
    from uec_vlm.config_loader import load_config

    lines = (reference_run / "samples.jsonl").read_text().splitlines(keepends=True)
    out = tmp_path / "run"
    out.mkdir()
    # What ranks 0 and 1 of a killed 2-process run leave: whole prompts in each shard, rank 1 cut in the
    # middle of a choice prompt (one whole line, then a torn one).
    (out / "samples.rank0.jsonl").write_text("".join(lines[0:3] + lines[6:9]))
    (out / "samples.rank1.jsonl").write_text("".join(lines[3:6] + lines[9:12] + lines[18:19]) + lines[19][:40])
    model, processor = tiny_policy
    cfg = load_config([str(eval_config)], [f"eval.output_dir={out}"])
    run_eval(cfg, model=model, processor=processor)
    assert f"synthgeo_test: 4 of 6 problems already in {out}, generating 2" in capsys.readouterr().err
    assert (out / "samples.jsonl").read_text() == "".join(lines)
    assert not list(out.glob("samples.rank*.jsonl"))


def test_two_process_eval_equals_one_process(tmp_path, eval_config, reference_run):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
           "uec_vlm.cli", "eval", str(eval_config), f"eval.output_dir={out}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "samples.jsonl").read_text() == (reference_run / "samples.jsonl").read_text()
    assert not list(out.glob("samples.rank*.jsonl"))
    summary = json.loads((out / "summary.json").read_text())
    reference = json.loads((reference_run / "summary.json").read_text())
    assert summary["benchmarks"] == reference["benchmarks"]


def test_validation_fn_pass_at_1_is_mean_of_problem_accuracies(eval_config, reference_run, tiny_policy):
    from data_zoo.registry import load_dataset
    from evals.harness import make_validation_fn
    from uec_vlm.config_loader import load_config

    cfg = load_config([str(eval_config)], ["trainer.val_n=3", "trainer.val_temperature=1.0", "rollout.top_p=1.0",
                                           "rollout.max_new_tokens=6", "trainer.seed=0"])
    spec = cfg.eval.suite[1]
    examples = list(load_dataset(spec))
    model, processor = tiny_policy
    # Named like the harness's benchmark, the callback draws the same per-problem seeds as `uec-vlm eval`.
    metrics = make_validation_fn(cfg, processor, examples, name="canonical_test")(model, 0)
    records = [r for r in read_lines(reference_run / "samples.jsonl") if r["benchmark"] == "canonical_test"]
    accuracy = [float(np.mean([r["correct"] for r in recs])) for recs in by_problem(records).values()]
    assert metrics["canonical_test/pass@1"] == float(np.mean(accuracy))
    assert metrics["canonical_test/format_rate"] == float(np.mean([r["extracted"] is not None for r in records]))
    assert metrics["canonical_test/prompts_too_long"] == 0.0


def test_specs_sharing_a_benchmark_name_are_refused(tmp_path, capsys, eval_config):
    from uec_vlm.cli import main

    suite = '["synthgeo:test?n=2&seed=0","synthgeo:test?n=2&seed=1"]'
    assert main(["eval", str(eval_config), f"eval.output_dir={tmp_path / 'run'}", f"eval.suite={suite}"]) == 2
    assert "several specs have the benchmark name(s) ['synthgeo_test']" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
