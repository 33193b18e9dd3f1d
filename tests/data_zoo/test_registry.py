import json
import sys

import pytest

from data_zoo.example import DataError
from data_zoo.registry import adapters, load_dataset
from data_zoo.spec import parse_spec

NAMES = frozenset({"geometry3k", "mathvista", "synthgeo"})


def test_parse_spec_forms(tmp_path):
    s = parse_spec("synthgeo:train?n=200&seed=0", NAMES)
    assert (s.kind, s.name, s.split, s.root, s.options) == ("adapter", "synthgeo", "train", None,
                                                           {"n": "200", "seed": "0"})
    s = parse_spec("geometry3k:test@/data/geo3k", NAMES)
    assert (s.kind, s.name, s.split, s.root) == ("adapter", "geometry3k", "test", "/data/geo3k")
    s = parse_spec("hiyouga/geometry3k@train", NAMES)
    assert (s.kind, s.hub_id, s.split) == ("hub", "hiyouga/geometry3k", "train")
    f = tmp_path / "x.jsonl"
    f.write_text("{}\n")
    s = parse_spec(f"{f}?question=q", NAMES)
    assert (s.kind, s.root, s.options) == ("path", str(f), {"question": "q"})
    with pytest.raises(DataError, match="unknown adapter 'nosuch'.*registered: \\['geometry3k'"):
        parse_spec("nosuch:test", NAMES)
    with pytest.raises(DataError, match="neither a registered adapter"):
        parse_spec(str(tmp_path / "missing.parquet"), NAMES)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_bad_records_fail_or_skip_with_reasons(tmp_path, helpers):
    helpers.write_png(tmp_path / "ok.png")
    (tmp_path / "corrupt.png").write_bytes(b"not a png")
    f = _jsonl(tmp_path / "d.jsonl", [
        {"id": "a", "question": "Q?", "answer": "1", "image": "ok.png"},
        {"id": "b", "question": "Q?", "image": "ok.png"},                         # missing answer
        {"id": "c", "question": "Q?", "answer": "2", "image": "gone.png"},        # image not found
        {"id": "d", "question": "<image><image>Q?", "answer": "3", "image": "ok.png"},  # placeholders
        {"id": "e", "question": "Q?", "answer": "4", "image": "corrupt.png"},     # corrupt
        {"id": "a", "question": "Q?", "answer": "5", "image": "ok.png"},          # duplicate id
    ])
    with pytest.raises(DataError, match=r"bad record b in .*d\.jsonl.*missing answer column.* in row 1 of"):
        load_dataset(str(f))
    ds = load_dataset(str(f), on_error="skip", check_images=True)
    assert [e.id for e in ds] == ["a"] and len(ds) == 1
    reasons = dict(ds.skipped)
    assert list(reasons) == ["b", "c", "d", "e", "a"]  # a bad row is named by its own id
    assert reasons["c"] == f"image file not found: {tmp_path / 'gone.png'}"
    assert reasons["d"] == "question has 2 <image> placeholders but the record has 1 images"
    assert reasons["e"].startswith(f"unreadable or corrupt image: {tmp_path / 'corrupt.png'}")
    assert reasons["a"] == "duplicate id 'a' within generic/train"
    # without check_images the corrupt file loads and fails at use, naming record and file
    lazy = load_dataset(str(f), on_error="skip")
    with pytest.raises(DataError, match=r"record generic/train/e: unreadable or corrupt image: .*corrupt\.png"):
        lazy[1].load_images()


def test_empty_dataset_and_unknown_split(tmp_path):
    f = _jsonl(tmp_path / "bad.jsonl", [{"id": "x", "question": "q"}])
    with pytest.raises(DataError, match=r"is empty \(1 records skipped as bad"):
        load_dataset(str(f), on_error="skip")
    with pytest.raises(DataError, match="unknown split 'dev' for adapter 'geometry3k'.*known splits"):
        load_dataset("geometry3k:dev@/nowhere")
    with pytest.raises(DataError, match="on_error must be"):
        load_dataset(str(f), on_error="ignore")


def test_hub_offline_message_names_download_and_spec(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError) as e:
        load_dataset("mathvista:testmini")
    assert "huggingface-cli download --repo-type dataset AI4Math/MathVista --local-dir DIR" in str(e.value)
    assert "`mathvista:testmini@DIR`" in str(e.value)
    with pytest.raises(DataError, match="hiyouga/geometry3k.*`geometry3k:train@DIR`"):
        load_dataset("hiyouga/geometry3k@train")


def test_user_adapter_module_registers(tmp_path, monkeypatch):
    (tmp_path / "my_adapters_xyz.py").write_text(
        "from data_zoo.example import Example\n"
        "from data_zoo.registry import register_adapter\n\n"
        "@register_adapter('tiny_xyz', splits=('all',))\n"
        "def load(split, root, options):\n"
        "    '''Two text problems.'''\n"
        "    return [Example(id=str(i), source='tiny_xyz', split=split, question=f'{i}+{i}?', answer=str(2 * i),\n"
        "                    answer_kind='integer') for i in range(2)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ds = load_dataset("tiny_xyz:all", adapter_modules=["my_adapters_xyz"])
    assert [(e.question, e.answer) for e in ds] == [("0+0?", "0"), ("1+1?", "2")]
    assert adapters()["tiny_xyz"].needs == "Two text problems."
    with pytest.raises(DataError, match="cannot import adapter module 'no_such_module_xyz'"):
        load_dataset("synthgeo:train?n=1", adapter_modules=["no_such_module_xyz"])
    sys.modules.pop("my_adapters_xyz", None)
