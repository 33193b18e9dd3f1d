"""`uec-vlm eval view`: the page's data exactly, and the page itself in a real headless browser (chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from data_zoo.registry import load_dataset
from evals.report import write_report
from evals.samples import SAMPLES_FILE, write_samples
from evals.view import build_view
from uec_vlm.cli import main

SPEC = "synthgeo:test?n=6&seed=0&difficulty=0"
BENCH = "synthgeo_test"


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    """An eval run folder as `uec-vlm eval` leaves it (no model needed: the samples are written here)."""
    run = tmp_path_factory.mktemp("eval_run")
    examples = list(load_dataset(SPEC))
    records = []
    for i, ex in enumerate(examples):
        # problem 0: both right; 1: one right; 2: none right, one unextracted; others: both wrong, same answer
        answers = {0: [ex.answer, ex.answer], 1: [ex.answer, "zz"], 2: ["zz", None]}.get(i, ["zz", "zz"])
        for s, a in enumerate(answers):
            records.append({"id": ex.id, "sample": s, "response": f"\\boxed{{{a}}}" if a else "no idea",
                            "extracted": a, "correct": a == ex.answer, "path": "boxed" if a else "none",
                            "reason": None if a else "no answer found", "tokens": 5, "finish_reason": "stop"})
    write_samples(run / SAMPLES_FILE, {BENCH: records})
    write_report(run, {BENCH: (examples, records)}, [1, 2])
    (run / "config.yaml").write_text(f"eval:\n  suite: ['{SPEC}']\n")
    return run, examples


def _data(page: str) -> dict:
    text = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S).group(1)
    return json.loads(text.replace("<\\/", "</"))


def test_page_data_holds_every_problem_with_verdicts(eval_run):
    run, examples = eval_run
    path, notes = build_view(run)
    assert (path, notes) == (run / "view.html", [])
    problems = _data(path.read_text())["problems"]
    assert [p["id"] for p in problems] == [ex.id for ex in examples]
    assert [(p["nc"], p["ux"], p["dis"]) for p in problems] == [
        (2, 0, False), (1, 0, True), (0, 1, True), (0, 0, False), (0, 0, False), (0, 0, False)]
    first = problems[0]
    assert (first["q"], first["gold"]) == (examples[0].question, f"{examples[0].answer} ({examples[0].gold_letter})")
    assert sorted(first["sub"]) == ["difficulty=0", f"template={examples[0].metadata['template']}"]
    assert first["img"][0].startswith("data:image/jpeg;base64,") and len(first["img"]) == 1
    assert first["s"][0] == {"r": f"\\boxed{{{examples[0].answer}}}", "x": examples[0].answer, "p": "boxed",
                             "c": True, "why": None, "f": "stop"}


def test_cli_view_and_a_folder_that_is_no_eval_run(eval_run, tmp_path, capsys):
    run, _ = eval_run
    out = tmp_path / "page.html"
    assert main(["eval", "view", str(run), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["eval", "view", str(tmp_path)]) == 2
    assert f"{tmp_path / SAMPLES_FILE} not found" in capsys.readouterr().err


def _browse(page, fragment: str = "") -> tuple[str, str]:
    """(DOM after the page's script ran, browser stderr) from headless chromium."""
    proc = subprocess.run(
        [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + fragment],
        capture_output=True, timeout=120)
    return proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def _attr(dom: str, tag: str, name: str) -> str | None:
    m = re.search(rf"<{tag}\b[^>]*\b{name}=\"([^\"]*)\"", dom)
    return m.group(1) if m else None


def test_page_in_a_real_browser_loads_clean_renders_images_and_filters(eval_run):
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    run, _ = eval_run
    page, _ = build_view(run)
    dom, log = _browse(page)
    assert _attr(dom, "html", "data-errors") is None, log
    assert "Uncaught" not in log
    assert _attr(dom, "body", "data-rows") == "6"
    assert _attr(dom, "body", "data-images-loaded") == "6"  # every thumbnail decoded
    expected = {"#outcome=none": "4", "#outcome=all": "1", "#outcome=some": "1", "#outcome=unextracted": "1",
                "#disagree=1": "2", "#outcome=none&disagree=1": "1"}
    for fragment, rows in expected.items():
        dom, log = _browse(page, fragment)
        assert (_attr(dom, "body", "data-rows"), _attr(dom, "html", "data-errors")) == (rows, None), (fragment, log)
