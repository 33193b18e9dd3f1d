"""Every command shown in README.md and docs/*.md is registered in doc_commands.py and checked as it says:
run in a scratch workspace (tiny model, few steps), resolved as a config, or listed as not runnable in CI
with the reason. A doc that drifts from the code (a renamed option or key, a missing file) fails here."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from uec_vlm.cli import main

sys.path.insert(0, str(Path(__file__).parent))  # the registry and extractor next to this file (importlib mode)
from doc_commands import COMMANDS, TINY_DEMO  # noqa: E402
from doc_extract import ROOT, doc_commands, fenced_blocks  # noqa: E402

DOCS = doc_commands()
SUBCOMMANDS = {"eval": {"score", "compare", "view"}, "data": {"list", "show", "validate", "export", "overlap"}}
SPEC = "synthgeo:test?n=4&seed=0&difficulty=0"


def test_every_doc_command_is_registered():
    missing = [c for c in DOCS if c not in COMMANDS]
    stale = [c for c in COMMANDS if c not in DOCS]
    assert not missing, ("commands in the docs that tests/docs/doc_commands.py does not know (add each: run(), "
                         "config(), study_list(), usage() or not_in_ci('why')):\n" + "\n".join(missing))
    assert not stale, "registered commands no longer in any doc (remove them):\n" + "\n".join(stale)


def _argv(cmd: str) -> list[str]:
    """The `uec-vlm` arguments of a command (`torchrun ... -m uec_vlm.cli X` counts as `uec-vlm X`)."""
    words = shlex.split(cmd)
    if words[0] == "torchrun":
        return words[words.index("uec_vlm.cli") + 1:]
    return words[1:] if words[0] == "uec-vlm" else []


def _help(path: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if _argv(c) and not _argv(c)[0].startswith("-")])
def test_options_shown_exist(cmd, capsys):
    argv = _argv(cmd)
    path = argv[:1] + [w for w in argv[1:2] if w in SUBCOMMANDS.get(argv[0], ())]
    flags = [w.strip("[]").split("=")[0] for w in argv if w.strip("[]").startswith("--")]
    text = _help(path, capsys)
    assert [f for f in flags if f not in text] == [], f"`{cmd}`: options not in `uec-vlm {' '.join(path)} --help`"


def _write_eval_run(folder, right: int) -> None:
    """An eval run folder as `uec-vlm eval` leaves it; the first `right` problems are answered correctly."""
    from data_zoo.registry import load_dataset
    from evals.report import write_report
    from evals.samples import SAMPLES_FILE, write_samples

    examples = list(load_dataset(SPEC))
    records = [{"id": ex.id, "sample": s, "response": f"\\boxed{{{ans}}}", "extracted": ans, "correct": ans == ex.answer,
                "path": "boxed", "reason": None, "tokens": 4, "finish_reason": "stop"}
               for i, ex in enumerate(examples) for s in range(2) for ans in [ex.answer if i < right else "zz"]]
    folder.mkdir(parents=True)
    write_samples(folder / SAMPLES_FILE, {"synthgeo_test": records})
    write_report(folder, {"synthgeo_test": (examples, records)}, [1, 2], n_boot=200)
    (folder / "config.yaml").write_text(f"eval:\n  suite: ['{SPEC}']\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A scratch folder holding what the doc commands refer to: OUT (tiny model), RUN_A / RUN_B / RUN (eval
    runs), runs/x (a training run's metrics), my_adapters.py (the README's adapter) and DIR (its data),
    my_study.yaml (docs/studies.md's example), configs/ (the repository's)."""
    from PIL import Image

    from uec_vlm.trainer.run_dir import RunDir

    ws = tmp_path_factory.mktemp("doc_commands")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ws)
        os.symlink(ROOT / "configs", ws / "configs")
        for name, right in (("RUN_A", 1), ("RUN_B", 3), ("RUN", 2)):
            _write_eval_run(ws / name, right)
        run = RunDir(ws / "runs" / "x")
        for step in (1, 2, 3):
            run.append_metrics(step, {"reward/overall": step / 4, "entropy/mean": 0.5, "response/length_mean": 9.0})
        adapter = next(b for b in fenced_blocks(ROOT / "README.md", "python") if "register_adapter" in b)
        (ws / "my_adapters.py").write_text(adapter)
        (ws / "DIR").mkdir()
        rows = []
        for i in range(3):
            Image.new("RGB", (56, 56), (40 * i, 90, 200)).save(ws / "DIR" / f"{i}.png")
            rows.append({"id": str(i), "image": f"{i}.png", "question": "How many shapes?", "count": i + 1})
        (ws / "DIR" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        study = next(b for b in fenced_blocks(ROOT / "docs" / "studies.md", "yaml") if "methods:" in b)
        (ws / "my_study.yaml").write_text(study)
        assert main(shlex.split("make-tiny-model --arch qwen2_5_vl OUT")) == 0
        yield ws


def _kind(mode: str) -> list[str]:
    return [c for c, check in COMMANDS.items() if check.mode == mode]


@pytest.mark.parametrize("cmd", _kind("run"))
def test_runnable_doc_command(cmd, workspace, monkeypatch):
    form = COMMANDS[cmd].detail or cmd
    if form == "uec-vlm make-tiny-model --arch qwen2_5_vl OUT":
        assert (workspace / "OUT" / "config.json").is_file()  # the workspace ran it
        return
    monkeypatch.chdir(workspace)
    assert main(_argv(form)) == 0, form


def test_demo_writes_a_report_with_embedded_plots(workspace, monkeypatch):
    monkeypatch.chdir(workspace)

    if not (workspace / "demo_run" / "REPORT.md").is_file():
        assert main(_argv(TINY_DEMO)) == 0
    report = (workspace / "demo_run" / "REPORT.md").read_text()
    assert "| benchmark | metric | before | after | after - before |" in report
    assert "| synthgeo_test | template = colour |" in report or "| synthgeo_test | template = shape |" in report
    assert "![validation](train/plots/validation.png)" in report and "![sft_loss](sft/plots/sft_loss.png)" in report
    for name in ("train/events", "sft/events"):  # TensorBoard for every run kind
        assert any((workspace / "demo_run" / name).iterdir())
    assert (workspace / "demo_run" / "eval_after" / "view.html").is_file()


@pytest.mark.parametrize("cmd", _kind("config"))
def test_config_of_doc_command_resolves(cmd, capsys):
    argv = _argv(cmd)
    sources = ["demo" if w == "CONFIG" else w for w in argv[1:]]
    assert main(["config", *sources]) == 0, cmd
    assert "trainer:" in capsys.readouterr().out


@pytest.mark.parametrize("cmd", _kind("study_list"))
def test_study_doc_command_resolves(cmd, workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    assert main([*_argv(cmd), "--list"]) == 0, cmd
    assert "to do" in capsys.readouterr().out


def test_not_in_ci_entries_say_why():
    for cmd, check in COMMANDS.items():
        if check.mode == "not_in_ci":
            assert len(check.detail) > 10, cmd
