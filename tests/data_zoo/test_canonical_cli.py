import argparse
import json
import re
from pathlib import Path

import pytest

from data_zoo.canonical import export_parquet
from data_zoo.registry import load_dataset
from uec_vlm.commands import data as data_cmd


def _fields(e):
    return (e.id, e.source, e.split, e.question, e.answer, e.answer_kind, e.choices, e.gold_letter, e.precision,
            e.unit, e.metadata)


def _cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    data_cmd.add_arguments(parser)
    return data_cmd.run(parser.parse_args(list(argv)))


def test_canonical_parquet_round_trip_and_datasets_reads_it(tmp_path, helpers):
    rows = {"1": {"question": "d?", "image": "images/1.png", "choices": None, "unit": "m", "precision": 2,
                  "answer": "1.25", "question_type": "free_form", "answer_type": "float", "pid": "1",
                  "metadata": {"task": "tqa"}}}
    helpers.dump(tmp_path / "mv" / "data" / "testmini.json", rows)
    helpers.write_png(tmp_path / "mv" / "data" / "images" / "1.png", (1, 2, 3))
    src = list(load_dataset(f"mathvista:testmini@{tmp_path / 'mv'}")) + list(load_dataset("synthgeo:test?n=3"))
    out = tmp_path / "out.parquet"
    assert export_parquet(src, out) == 4
    back = load_dataset(str(out))
    assert [_fields(e) for e in back] == [_fields(e) for e in src]
    assert [im.tobytes() for e in back for im in e.load_images()] == \
        [im.tobytes() for e in src for im in e.load_images()]
    assert [e.id for e in load_dataset(f"{out}?split=test")] == ["0-0", "0-1", "0-2"]
    import datasets

    hf = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert hf[0]["precision"] == 2 and hf[0]["choices"] is None and hf[0]["images"][0].size == (8, 6)
    assert json.loads(hf[3]["metadata"])["difficulty"] in (1, 2, 3)


def test_cli_list_show_validate_export(tmp_path, capsys, helpers):
    assert _cli("list") == 0
    assert re.search(r"^mathvista +splits=testmini,test hub=AI4Math/MathVista", capsys.readouterr().out, re.M)
    assert _cli("show", "synthgeo:train?n=5&seed=2", "--n", "2", "--out", str(tmp_path / "show")) == 0
    printed = capsys.readouterr().out
    assert printed.count('"uid": "synthgeo/train/2-') == 2
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["synthgeo_train_2-0_0.png",
                                                                     "synthgeo_train_2-1_0.png"]
    helpers.write_png(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [{"id": "good", "question": "q", "answer": "1", "image": "ok.png"},
                                                    {"id": "bad", "question": "q", "answer": "1", "image": "bad.png"}]))
    assert _cli("validate", str(f)) == 1
    out = capsys.readouterr().out
    assert f"BAD bad: unreadable or corrupt image: {tmp_path / 'bad.png'}" in out and "1 good, 1 bad" in out
    assert _cli("validate", "synthgeo:test?n=4") == 0
    assert _cli("export", "synthgeo:test?n=4", "--to", str(tmp_path / "e.parquet")) == 0
    assert len(load_dataset(str(tmp_path / "e.parquet"))) == 4
    assert _cli("export", str(f), "--to", str(tmp_path / "x.parquet")) == 0  # corrupt bytes are copied, not decoded
    assert _cli("show", "nosuch:test") == 1 and "unknown adapter 'nosuch'" in capsys.readouterr().out


def test_overlap_finds_resized_reworded_copies(tmp_path, capsys, helpers):
    from PIL import Image, ImageDraw

    def diagram(path, size, box):
        img = Image.new("RGB", (200, 200), "white")
        ImageDraw.Draw(img).rectangle(box, fill="black")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.resize(size).save(path)

    diagram(tmp_path / "a" / "1.png", (200, 200), [20, 20, 120, 90])
    diagram(tmp_path / "a" / "2.png", (200, 200), [100, 100, 180, 190])
    diagram(tmp_path / "b" / "x.png", (123, 97), [20, 20, 120, 90])   # same diagram, resized
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"id": "1", "question": "Find $x$ in the triangle.", "answer": "5", "image": "a/1.png"},
        {"id": "2", "question": "Find $x$ in the triangle.", "answer": "6", "image": "a/2.png"}]))
    (tmp_path / "b.jsonl").write_text(json.dumps(
        {"id": "x", "question": "<image>Find x in the triangle", "answer": "5", "image": "b/x.png"}))
    assert _cli("overlap", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")) == 0
    out = capsys.readouterr().out
    assert out.startswith("generic/train/1\tgeneric/train/x\timage_bits=")
    assert "1 of 2 records" in out


def test_readme_adapter_example_runs(tmp_path, helpers):
    # The adapter module the README shows, loaded as the README says (the CLI form runs in tests/docs).
    doc = (Path(__file__).parents[2] / "README.md").read_text()
    code = next(c for c in re.findall(r"```python\n(.*?)```", doc, re.S) if "register_adapter" in c)
    helpers.write_png(tmp_path / "img" / "a.png")
    (tmp_path / "test.jsonl").write_text(json.dumps({"id": "a", "image": "img/a.png", "question": "How many?",
                                                     "count": 4}))
    exec(compile(code, "README.md", "exec"), {})
    dataset = load_dataset(f"shapes:test@{tmp_path}")
    assert len(dataset) == 1 and dataset[0].answer == "4"
    assert dataset[0].load_images()[0].size == (8, 6)


@pytest.mark.skipif(not Path("/work/shared/real-samples").is_dir(), reason="real upstream samples absent")
def test_real_upstream_samples():
    root = Path("/work/shared/real-samples")
    geo = load_dataset(f"geometry3k:train@{root / 'geometry3k'}")
    assert [e.id for e in geo] == [str(i) for i in range(11, 21)]
    assert (geo[0].answer, geo[0].metadata["gold_letter"]) == ("80", "D")
    mv = load_dataset(f"mathvision:testmini@{root / 'mathvision'}", on_error="skip")
    assert len(mv) == 50 and len(mv.skipped) == 254  # images shipped for the first 50 records only
    assert all(r.startswith("image file not found") for _, r in mv.skipped)
    we = load_dataset(f"wemath:testmini@{root / 'wemath'}", on_error="skip")
    assert not [r for _, r in we.skipped if not r.startswith("image file not found")]
    verse = load_dataset(f"mathverse:testmini_text_only@{root / 'mathverse'}")
    assert len(verse) == 788 and sum(e.answer_kind == "choice" for e in verse) == 426
