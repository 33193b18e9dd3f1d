"""Bad datasets: every kind of record that would later crash a run is caught by `uec-vlm data validate`
(one line per record naming it, a per-reason summary, never a traceback), and failures met only at use
are skipped, counted and named under data.on_error=skip."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib

import pytest

from data_zoo.example import DataError, Example, ImageRef
from data_zoo.registry import load_dataset


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (90, 20, 200)).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims width x height pixels (what a decompression bomb looks like)."""
    data = bytearray(png(1, 1))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4: ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr: ihdr + 17])))
    return bytes(data)


GOOD = {"question": "<image>Find x.", "answer": "5"}
# record id -> (record fields over GOOD, phrase its BAD line must contain)
BAD_RECORDS = {
    "no_question": ({"question": None}, "missing question column"),
    "no_answer": ({"answer": None}, "missing answer column"),
    "choices_string": ({"choices": "ABCD", "answer": "A"}, "choices must be a list of option texts, got the string 'ABCD'"),
    "letter_beyond": ({"choices": ["1", "2", "3", "4"], "answer": "E"}, "gold letter 'E' but only 4 choices"),
    "answer_not_a_choice": ({"choices": ["1", "2", "3", "4"], "answer": "7"}, "answer '7' is not one of the choices"),
    "dict_answer": ({"answer": {"value": 3}}, "answer must be a text or a number, got dict"),
    "bool_answer": ({"answer": True}, "answer must be a text or a number, got bool"),
    "nan_answer": ({"answer": float("nan")}, "answer must be a finite number, got nan"),
    "one_choice": ({"choices": ["only"], "answer": "only"}, "choices must be at least 2 non-empty option texts"),
    "empty_choice": ({"choices": ["a", " "], "answer": "a"}, "choices must be at least 2 non-empty option texts"),
    "dict_choice": ({"choices": ["a", {"b": 1}], "answer": "a"}, "choices must be texts or numbers, got {'b': 1}"),
    "empty_answer": ({"answer": "  "}, "empty answer"),
    "missing_image": ({"image": "nowhere.png"}, "image file not found"),
    "corrupt_image": ({"image": "corrupt.png"}, "unreadable or corrupt image"),
    "truncated_image": ({"image": "truncated.png"}, "unreadable or corrupt image"),
    "empty_image_file": ({"image": "empty.png"}, "unreadable or corrupt image"),
    "thin_image": ({"image": "thin.png"}, "image aspect ratio too extreme"),
    "bomb_image": ({"image": "bomb.png"}, "image too large"),
    "dotdot_path": ({"image": "../outside/ok.png"}, "is outside the dataset folder"),
    "absolute_path": ({"image": "ABS"}, "is outside the dataset folder"),
    "bad_image_value": ({"image": 42}, "unsupported image value of type int"),
    "empty_image_path": ({"image": ""}, "empty image path at row"),
    "placeholders": ({"question": "<image> vs <image>?"}, "2 <image> placeholders but the record has 1 images"),
    "huge_question": ({"question": "<image>" + "x" * 1_000_001}, "characters, over the limit of 1000000"),
    "dup": ({}, "duplicate id 'dup'"),
}


@pytest.fixture(scope="module")
def bad_set(tmp_path_factory):
    """data/bad.jsonl (one good record + every bad one) with real image files beside it."""
    top = tmp_path_factory.mktemp("hard")
    root = top / "data"
    (top / "outside").mkdir()
    root.mkdir()
    (top / "outside" / "ok.png").write_bytes(png(32, 32))
    (root / "ok.png").write_bytes(png(32, 32))
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png at all")
    (root / "truncated.png").write_bytes(png(64, 64)[:60])
    (root / "empty.png").write_bytes(b"")
    (root / "thin.png").write_bytes(png(20000, 8))
    (root / "bomb.png").write_bytes(bomb_png(20000, 20000))
    rows = [dict(GOOD, id="good", image="ok.png"), dict(GOOD, id="dup", image="ok.png")]
    for rid, (fields, _) in BAD_RECORDS.items():
        row = dict(GOOD, id=rid, image="ok.png")
        row.update(fields)
        if row["image"] == "ABS":
            row["image"] = str(top / "outside" / "ok.png")
        rows.append({k: v for k, v in row.items() if v is not None})
    with open(root / "bad.jsonl", "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")  # json writes NaN for the nan answer, as pandas exports do
    return root


def _validate(spec: str, *extra: str):
    return subprocess.run([sys.executable, "-m", "uec_vlm.cli", "data", "validate", spec, *extra],
                          capture_output=True, text=True, timeout=300)


def test_validate_names_every_bad_record_and_summarises_by_reason(bad_set):
    proc = _validate(str(bad_set / "bad.jsonl"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    bad_lines = {line.split(":", 1)[0][4:]: line for line in proc.stdout.splitlines() if line.startswith("BAD ")}
    assert set(bad_lines) == set(BAD_RECORDS)
    for rid, (_, phrase) in BAD_RECORDS.items():
        assert phrase in bad_lines[rid], (rid, bad_lines[rid])
    assert proc.stdout.splitlines()[-1] == f"2 good, {len(BAD_RECORDS)} bad records in {bad_set / 'bad.jsonl'}"
    summary = dict(line.strip().split("  ", 1)[::-1] for line in proc.stdout.splitlines() if line.startswith("  "))
    assert summary["corrupt or unreadable image"].strip() == "3"
    assert summary["image path outside the dataset folder"].strip() == "2"
    assert summary["image aspect ratio too extreme"].strip() == "1"
    assert summary["image too large"].strip() == "1"
    assert sum(int(v) for v in summary.values()) == len(BAD_RECORDS)


def test_paths_outside_the_folder_are_allowed_only_when_asked(bad_set):
    spec = f"{bad_set / 'bad.jsonl'}"
    strict = load_dataset(spec, on_error="skip", allow_outside_root=False)
    loose = load_dataset(spec, on_error="skip", allow_outside_root=True)
    assert {"dotdot_path", "absolute_path"} <= {rid for rid, _ in strict.skipped}
    assert {"dotdot_path", "absolute_path"} <= {ex.id for ex in loose}


@pytest.mark.parametrize(("kind", "answers", "phrase"), [
    ("integer", ["five", "3.5"], "is not a valid integer"),
    ("float", ["abc", "1/0"], "is not a valid float"),
])
def test_gold_answers_are_parsed_as_their_kind(tmp_path, kind, answers, phrase):
    path = tmp_path / "golds.jsonl"
    path.write_text("".join(json.dumps({"id": f"g{i}", "question": "q", "answer": a}) + "\n"
                            for i, a in enumerate([*answers, "4"])))
    proc = _validate(f"{path}?answer_kind={kind}")
    assert proc.returncode == 1
    for i, a in enumerate(answers):
        assert f"BAD g{i}: record generic/train/g{i}: gold answer {a!r} {phrase}" in proc.stdout
    assert "1 good, 2 bad records" in proc.stdout


@pytest.mark.parametrize(("name", "content", "message"), [
    ("latin1.jsonl", b'{"question": "caf\xe9", "answer": "1"}\n', "latin1.jsonl:1: not UTF-8 text (byte offset 17"),
    ("broken.jsonl", b'{"question": "q", "answer": "1"}\n{"question": \n', "invalid JSON at"),
    ("empty.jsonl", b"", "is empty"),
    ("table.csv", b"question,answer\nq,1\n", "unsupported file type '.csv'"),
])
def test_unreadable_files_are_named_without_a_traceback(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    proc = _validate(str(tmp_path / name))
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert message in proc.stdout and name in proc.stdout


def test_unknown_generic_option_and_answer_kind_are_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "1"}) + "\n")
    assert "unknown generic options ['colour']" in _validate(f"{path}?colour=red").stdout
    assert "answer_kind option 'number' not in" in _validate(f"{path}?answer_kind=number").stdout


@pytest.fixture(scope="module")
def processor(tiny_qwen2_5_vl_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_qwen2_5_vl_dir)


def test_failures_at_use_are_skipped_counted_and_named_under_skip(processor):
    from uec_vlm.prompts import build_prompts

    good = Example(id="ok", source="s", split="t", question="<image>q", answer="1",
                   images=[ImageRef(data=png(56, 56), origin="ok.png")])
    corrupt = Example(id="bad", source="s", split="t", question="<image>q", answer="1",
                      images=[ImageRef(data=b"\x89PNG garbage", origin="bad.png")])
    thin = Example(id="thin", source="s", split="t", question="<image>q", answer="1",
                   images=[ImageRef(data=png(8, 2000), origin="thin.png")])
    bad: list[tuple[str, str]] = []
    kept, dropped = build_prompts([good, corrupt, thin], processor, max_prompt_length=4096, bad=bad)
    assert [p.uid for p in kept] == ["s/t/ok"] and dropped == []
    assert [uid for uid, _ in bad] == ["s/t/bad", "s/t/thin"]
    assert "record s/t/bad: unreadable or corrupt image: bad.png" in bad[0][1]
    assert "record s/t/thin: image aspect ratio too extreme: thin.png is 8x2000" in bad[1][1]
    with pytest.raises(DataError, match="record s/t/bad: unreadable or corrupt image"):  # on_error=fail
        build_prompts([corrupt], processor, max_prompt_length=4096)


def test_a_huge_question_is_refused_by_length_before_tokenizing(processor):
    from uec_vlm.prompts import PromptTooLong, build_prompt

    huge = Example(id="huge", source="s", split="t", question="x" * 20_000_000, answer="1")
    with pytest.raises(PromptTooLong, match=r"prompt for s/t/huge has at least \d+ tokens \(counted before "
                                            r"tokenizing\) > max 1024"):
        build_prompt(huge, processor, max_prompt_length=1024)


def _set_with_a_corrupt_image(folder, n_ok: int) -> None:
    """folder/d.jsonl: record `bad` (a PNG header, then junk: loading accepts it, decoding fails) and n_ok good
    records."""
    (folder / "ok.png").write_bytes(png(56, 56))
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    rows = [{"id": "bad", "question": "<image>2+2?", "answer": "4", "image": "bad.png"}]
    rows += [{"id": f"ok{i}", "question": "<image>1+1?", "answer": "2", "image": "ok.png"} for i in range(n_ok)]
    (folder / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_run_under_skip_survives_a_corrupt_image_met_at_use(tiny_qwen2_5_vl_dir, tmp_path, capsys):
    """The corrupt file exists, so loading (which does not decode) accepts it; the run meets it at step 1."""
    from uec_vlm.commands.train import train
    from uec_vlm.config_loader import load_config

    _set_with_a_corrupt_image(tmp_path, n_ok=3)
    base = [f"model.path={tiny_qwen2_5_vl_dir}", f"data.train={tmp_path / 'd.jsonl'}", "data.val=",
            "data.shuffle=false", "trainer.steps=1", "trainer.prompts_per_step=2", "rollout.n=2",
            "rollout.max_new_tokens=4", "rollout.prompts_per_batch=2", "trainer.tensorboard=false",
            "trainer.console=false", "prompt.template=direct", "reward.name=accuracy", "trainer.micro_batch_size=4"]
    with pytest.raises(DataError, match=r"record generic/train/bad: unreadable or corrupt image: .*bad\.png"):
        train(load_config([], [*base, f"trainer.output_dir={tmp_path / 'fail'}"]))
    summary = train(load_config([], [*base, "data.on_error=skip", f"trainer.output_dir={tmp_path / 'skip'}"]))
    assert summary["steps"] == 1 and summary["train_records_skipped_at_use"] == 1
    assert "data: skipped generic/train/bad at use (record generic/train/bad: unreadable or corrupt image" in \
        capsys.readouterr().out


def test_an_eval_under_skip_survives_a_corrupt_image_met_at_use(tiny_qwen2_5_vl_dir, tmp_path, capsys):
    from evals.harness import run_eval
    from uec_vlm.config_loader import load_config

    _set_with_a_corrupt_image(tmp_path, n_ok=2)
    base = [f"model.path={tiny_qwen2_5_vl_dir}", f"eval.suite=[{tmp_path / 'd.jsonl'}]", "eval.n=1",
            "eval.ks=[1]", "eval.max_new_tokens=3", "prompt.template=direct", "eval.bootstrap=100"]
    with pytest.raises(DataError, match=r"record generic/train/bad: unreadable or corrupt image: .*bad\.png"):
        run_eval(load_config([], [*base, f"eval.output_dir={tmp_path / 'fail'}"]))
    run_eval(load_config([], [*base, "data.on_error=skip", f"eval.output_dir={tmp_path / 'skip'}"]))
    meta = json.loads((tmp_path / "skip" / "summary.json").read_text())
    (name,) = meta["benchmarks"]  # the benchmark's name: the file spec, sanitised
    assert meta["extra_info"]["records_skipped_at_use"] == {name: 1}
    samples = [json.loads(line) for line in (tmp_path / "skip" / "samples.jsonl").read_text().splitlines()]
    assert sorted(s["id"] for s in samples) == ["ok0", "ok1"]
    assert f"{name}: 1 problem(s) have no samples and are not scored" in (tmp_path / "skip" / "summary.md").read_text()
    assert f"{name}: skipped problem bad at use (record generic/train/bad: unreadable or corrupt image" in \
        capsys.readouterr().err
