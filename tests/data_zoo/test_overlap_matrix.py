"""Contamination: the train x eval overlap matrix (`uec-vlm data overlap --train ... --eval ...`) and warnings."""

import argparse
import json

import pytest
from PIL import Image, ImageDraw

from data_zoo.example import DataError
from data_zoo.overlap import contamination_warnings, find_overlap, overlap_matrix
from data_zoo.registry import load_dataset
from uec_vlm.commands import data as data_cmd


def _cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    data_cmd.add_arguments(parser)
    return data_cmd.run(parser.parse_args(list(argv)))


def _diagram(path, box, size=(200, 200), jpeg=False):
    img = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(img).rectangle(box, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.resize(size).save(path, format="JPEG" if jpeg else "PNG", quality=70)


@pytest.fixture
def specs(tmp_path):
    """train A (2 diagrams), train B (1 unrelated), eval E (a resized JPEG copy of A/1, one new item, one text-only)."""
    _diagram(tmp_path / "a1.png", [20, 20, 120, 90])
    _diagram(tmp_path / "a2.png", [100, 100, 180, 190])
    _diagram(tmp_path / "b1.png", [10, 150, 190, 160])
    _diagram(tmp_path / "e1.jpg", [20, 20, 120, 90], size=(131, 97), jpeg=True)
    _diagram(tmp_path / "e2.png", [60, 10, 70, 190])
    rows = {
        "a.jsonl": [{"id": "1", "question": "Find $x$ in the triangle.", "answer": "5", "image": "a1.png"},
                    {"id": "2", "question": "What is the area of the square?", "answer": "6", "image": "a2.png"},
                    {"id": "3", "question": "Compute 2 + 3.", "answer": "5"}],
        "b.jsonl": [{"id": "1", "question": "Find $x$ in the triangle.", "answer": "5", "image": "b1.png"}],
        "e.jsonl": [{"id": "x", "question": "Hint: answer it. Find x in the triangle", "answer": "5", "image": "e1.jpg"},
                    {"id": "y", "question": "How long is the line?", "answer": "9", "image": "e2.png"},
                    {"id": "z", "question": "compute 2+3", "answer": "5"}],
    }
    for name, recs in rows.items():
        (tmp_path / name).write_text("\n".join(json.dumps(r) for r in recs))
    return {k: str(tmp_path / f"{k}.jsonl") for k in ("a", "b", "e")}


def test_matrix_counts_examples_and_json(specs, tmp_path, capsys):
    a, b, e = (load_dataset(specs[k]) for k in "abe")
    cells = overlap_matrix({"A": a, "B": b}, {"E": e})
    assert [(c["train"], c["eval"], c["train_matched"], c["eval_matched"], c["eval_size"], c["eval_fraction"])
            for c in cells] == [("A", "E", 2, 2, 3, 0.6667), ("B", "E", 0, 0, 3, 0.0)]
    assert [(m["a"], m["b"]) for m in cells[0]["examples"]] == [("generic/train/1", "generic/train/x"),
                                                                ("generic/train/3", "generic/train/z")]
    assert cells[0]["examples"][1]["image_bits"] is None  # text-only pair: equal normalised text
    out_json = tmp_path / "m.json"
    assert _cli("overlap", "--train", specs["a"], specs["b"], "--eval", specs["e"], "--json", str(out_json)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[-2:] == ["2/3", "(66.7%)"] and out[2].split()[-2:] == ["0/3", "(0.0%)"]
    named = {"A": specs["a"], "B": specs["b"], "E": specs["e"]}
    assert json.loads(out_json.read_text()) == [dict(c, train=named[c["train"]], eval=named[c["eval"]]) for c in cells]
    assert _cli("overlap", specs["a"]) == 1
    assert "two specs, or --train" in capsys.readouterr().out


def test_warnings_name_the_benchmark_over_threshold(specs):
    a, b = load_dataset(specs["a"]), load_dataset(specs["b"])
    lines = contamination_warnings([a, b], [specs["e"]], threshold=0.5)
    assert len(lines) == 1 and lines[0].startswith(f"warning: training data overlaps {specs['e']}: 2 of 3 evaluation "
                                                   "records (66.7% > data.overlap_threshold=0.5)")
    assert contamination_warnings([a, b], [specs["e"]], threshold=0.7) == []
    assert contamination_warnings([b], [specs["e"]], threshold=0.0) == []
    assert find_overlap(b, load_dataset(specs["e"])) == []


def test_corrupt_image_names_the_record(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "q", "question": "Q?", "answer": "1", "image": "bad.png"}))
    with pytest.raises(DataError, match="record generic/train/q: unreadable or corrupt image"):
        overlap_matrix({"t": load_dataset(str(tmp_path / "t.jsonl"))}, {"t": load_dataset(str(tmp_path / "t.jsonl"))})


def test_doc_precision_table_matches_the_bench_output():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("overlap_precision", root / "bench" / "overlap_precision.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.markdown_rows(json.loads((root / "docs" / "overlap_precision.json").read_text()))
    doc = (root / "docs" / "data_zoo.md").read_text().splitlines()
    assert len(rows) == 5 and all(r in doc for r in rows)
