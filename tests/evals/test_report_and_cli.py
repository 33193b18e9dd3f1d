"""Reports from records, `uec-vlm eval score` on a real MathVista-format file, and `uec-vlm eval compare`."""

import csv
import json

import pytest

from data_zoo.example import Example
from evals.report import parse_ks, write_report
from evals.samples import read_samples


def ex(pid, skills):
    return Example(id=pid, source="mathvista", split="testmini", question="<image>q", answer="1", answer_kind="integer",
                   metadata={"question_type": "free_form", "answer_type": "integer", "skills": skills})


EXAMPLES = [ex("1", ["a"]), ex("2", ["a", "b"]), ex("3", ["b"]), ex("4", ["c"])]


def records(correct_by_id):
    out = []
    for pid, flags in correct_by_id.items():
        for s, ok in enumerate(flags):
            out.append({"id": pid, "sample": s, "response": "r", "extracted": None if s == 3 else "1", "correct": ok,
                        "path": "p", "tokens": 10 * (s + 1), "finish_reason": "length" if (pid, s) in {("1", 0), ("2", 1)} else "stop"})
    return out


RECS = records({"1": [True, False, False, False], "2": [True] * 4, "3": [False] * 4})


def test_write_report_numbers_subsets_and_files(tmp_path):
    s = write_report(tmp_path, {"mathvista": (EXAMPLES, RECS)}, [2, 1], mode="strict", extra_info={"model": "tiny"})
    b = s["benchmarks"]["mathvista"]
    assert s["ks"] == [1, 2] and s["mode"] == "strict" and s["extra_info"] == {"model": "tiny"}
    assert (b["n_problems"], b["n_problems_total"], b["n_problems_missing"], b["n_samples"]) == (3, 4, 1, 12)
    assert b["metrics"]["pass@1"]["value"] == pytest.approx((0.25 + 1 + 0) / 3)
    assert b["metrics"]["pass@2"]["value"] == pytest.approx((0.5 + 1 + 0) / 3)  # 1 - C(3,2)/C(4,2) = 0.5
    lo, hi = b["metrics"]["pass@1"]["ci_low"], b["metrics"]["pass@1"]["ci_high"]
    assert 0.0 <= lo < b["metrics"]["pass@1"]["value"] < hi <= 1.0
    assert b["format_rate"] == pytest.approx(9 / 12)
    assert b["truncation_rate"] == pytest.approx(2 / 12)
    assert b["mean_response_tokens"] == pytest.approx(25.0)
    assert b["subsets"]["skills"]["a"]["pass@1"]["value"] == pytest.approx((0.25 + 1) / 2)
    assert b["subsets"]["skills"]["b"]["n_problems"] == 2
    assert "c" not in b["subsets"]["skills"]  # problem 4 has no samples
    assert b["curve"] == {"1": pytest.approx(0.41666666), "2": pytest.approx(0.5), "3": pytest.approx((0.75 + 1) / 3),
                          "4": pytest.approx(2 / 3)}
    for name in ("summary.json", "summary.md", "metrics.csv", "pass_at_k_curve.csv", "pass_at_k.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "summary.json").read_text())["benchmarks"]["mathvista"]["n_samples"] == 12
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert rows[0]["subset_key"] == "all" and float(rows[0]["pass@2"]) == pytest.approx(0.5)
    md = (tmp_path / "summary.md").read_text()
    assert "| mathvista |" in md and "1 problem(s) have no samples" in md and "## mathvista by skills" in md


def test_write_report_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="k=5 exceeds the 4 sample"):
        write_report(tmp_path, {"mv": (EXAMPLES, RECS)}, [5])
    with pytest.raises(ValueError, match="record id '9'"):
        write_report(tmp_path, {"mv": (EXAMPLES, RECS + [{"id": "9", "sample": 0, "correct": True}])}, [1])
    with pytest.raises(ValueError, match="sample 0 twice"):
        write_report(tmp_path, {"mv": (EXAMPLES, RECS + [RECS[0]])}, [1])
    with pytest.raises(ValueError, match="bad k"):
        parse_ks("1,x")


def write_mathvista(root):
    data = {
        "1": {"pid": "1", "question": "How many?", "image": "images/1.jpg", "choices": None, "unit": None,
              "precision": None, "answer": "12", "question_type": "free_form", "answer_type": "integer",
              "metadata": {"task": "math word problem", "skills": ["arithmetic reasoning"], "source": "X"}},
        "2": {"pid": "2", "question": "Which?", "image": "images/2.jpg", "choices": ["3", "4", "5"], "unit": None,
              "precision": None, "answer": "5", "question_type": "multi_choice", "answer_type": "text",
              "metadata": {"task": "geometry problem solving", "skills": ["algebraic reasoning"], "source": "Y"}},
    }
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "testmini.json").write_text(json.dumps(data))
    # The loader checks that image files exist; empty files would fail any decode, so scoring never decodes.
    for pid in data:
        (root / "data" / "images" / f"{pid}.jpg").write_bytes(b"")
    return f"mathvista:testmini@{root}"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_eval_score_and_compare_cli(tmp_path, capsys):
    from uec_vlm.cli import main

    spec = write_mathvista(tmp_path / "mv")
    resp_a = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "1", "response": "\\boxed{12}"}, {"id": 1, "response": "11"},
        {"id": "2", "response": "\\boxed{5.0}"}, {"id": "2", "response": "(A)"},
    ])
    resp_b = write_jsonl(tmp_path / "b.jsonl", [
        {"id": "1", "sample": 1, "response": "12"}, {"id": "1", "sample": 0, "response": "12"},
        {"id": "2", "response": "C"}, {"id": "2", "response": "5"},
    ])
    out_a, out_b = tmp_path / "run_a", tmp_path / "run_b"
    assert main(["eval", "score", spec, resp_a, "--out", str(out_a), "--mode", "strict", "--k", "1,2"]) == 0
    assert main(["eval", "score", spec, resp_b, "--out", str(out_b), "--k", "1,2"]) == 0
    samples = read_samples(out_a / "samples.jsonl")
    name = next(iter(samples))
    assert name == "mathvista_testmini"  # the harness's name for the same spec, so the runs pair
    got = [(r["id"], r["sample"], r["extracted"], r["correct"]) for r in samples[name]]
    # Strict mode: "5.0" matches no choice and is wrong (official mode would take the nearest choice "5").
    assert got == [("1", 0, "12", True), ("1", 1, "11", False), ("2", 0, "5.0", False), ("2", 1, "A", False)]
    summary = json.loads((out_a / "summary.json").read_text())
    assert summary["mode"] == "strict"
    assert summary["benchmarks"][name]["metrics"]["pass@1"]["value"] == pytest.approx(0.25)
    assert summary["benchmarks"][name]["metrics"]["pass@2"]["value"] == pytest.approx(0.5)
    capsys.readouterr()

    assert main(["eval", "compare", str(out_a), str(out_b), "--k", "1,2,4", "--n-boot", "500"]) == 0
    table = capsys.readouterr().out
    assert "| pass@1 | 25.00 | 100.00 | +75.00 |" in table and "skipped k=[4]" in table

    # Already-extracted answers: only normalisation and comparison ("12.0" -> "12"; "B" -> choices[1]).
    ext = write_jsonl(tmp_path / "ext.jsonl", [{"id": "1", "response": "12.0"}, {"id": "2", "response": "B"}])
    assert main(["eval", "score", spec, ext, "--out", str(tmp_path / "ext"), "--extracted"]) == 0
    ext_samples = read_samples(tmp_path / "ext" / "samples.jsonl")[name]
    assert [(r["correct"], r["path"]) for r in ext_samples] == [
        (True, "mathvista:extracted:integer"), (False, "mathvista:extracted:letter")]
    capsys.readouterr()

    # Nothing pairs (another benchmark name): a failure, not an empty table with exit 0.
    other = tmp_path / "other"
    other.mkdir()
    (other / "samples.jsonl").write_text(json.dumps({"benchmark": "x", "id": "1", "sample": 0, "response": "",
                                                      "correct": True}) + "\n")
    assert main(["eval", "compare", str(out_a), str(other)]) == 1
    assert "no problem is scored in both" in capsys.readouterr().err

    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "1", "response": "1"}, {"id": "77", "response": "1"}])
    assert main(["eval", "score", spec, bad, "--out", str(tmp_path / "bad")]) == 2
    assert "bad.jsonl line 2: id '77' is not a problem" in capsys.readouterr().err
    dup = write_jsonl(tmp_path / "dup.jsonl", [{"id": "1", "sample": 0, "response": "1"}, {"id": "1", "sample": 0, "response": "2"}])
    assert main(["eval", "score", spec, dup, "--out", str(tmp_path / "dup")]) == 2
    assert "dup.jsonl line 2: id '1' sample 0 appears twice" in capsys.readouterr().err
