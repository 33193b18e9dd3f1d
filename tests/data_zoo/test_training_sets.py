"""RL training sets in their published layouts: GeoQA-R1V, CLEVR counting, Geo170K, MMK12, ViRL39K, ThinkLite."""

import json

import pytest
from datasets import Image, List, Value

from data_zoo.adapters.answers import embedded_choices
from data_zoo.adapters.geo170k import final_answer
from data_zoo.adapters.virl39k import unbox
from data_zoo.example import DataError
from data_zoo.registry import load_dataset

R1V_FEATURES = {"image": Image(), "problem": Value("string"), "solution": Value("string")}


def _fields(e):
    return (e.id, e.source, e.split, e.question, e.answer, e.answer_kind, e.choices, e.gold_letter)


def test_geoqa_r1v_and_clevr_hub_parquet(tmp_path, helpers):
    helpers.write_hf_parquet(tmp_path / "geo" / "data" / "train-00000-of-00001.parquet", {
        "image": [{"bytes": helpers.png(), "path": None}] * 2,
        "problem": ["As shown in the figure, angle A = 80.0, DE parallel BC, then the size of angle CED is ()",
                    "Find x.\nChoices:\nA:3\nB:5"],
        "solution": ["<answer>140°</answer>", "<answer> B </answer>"]}, R1V_FEATURES)
    g = load_dataset(f"geoqa_r1v:train@{tmp_path / 'geo'}")
    assert _fields(g[0]) == ("0", "geoqa_r1v", "train", "<image>" + g[0].question[7:], "140°", "expression", None,
                             None)
    assert _fields(g[1])[3:] == ("<image>Find x.\nChoices:\nA:3\nB:5", "5", "choice", ["3", "5"], "B")
    assert g[0].images[0].load().size == (8, 6) and g[0].metadata == {"solution": "<answer>140°</answer>"}
    helpers.write_hf_parquet(tmp_path / "clevr" / "data" / "train-00000-of-00002.parquet", {
        "image": [{"bytes": helpers.png(), "path": None}] * 2,
        "problem": ["How many items are there in the image?"] * 2,
        "solution": ["<answer> 3 </answer>", "<answer>three</answer>"]}, R1V_FEATURES)
    with pytest.raises(DataError, match=r"bad record 1 .*count 'three' is not an integer \(row 1 of .*train-00000"):
        load_dataset(f"clevr_count:train@{tmp_path / 'clevr'}")
    c = load_dataset(f"clevr_count:train@{tmp_path / 'clevr'}", on_error="skip")
    assert [_fields(e) for e in c] == [("0", "clevr_count", "train", "<image>How many items are there in the image?",
                                        "3", "integer", None, None)]


def test_geo170k_qa_tuning_json_parquet_and_fetched_copy(tmp_path, helpers, monkeypatch):
    q = ("<image>\nFirst perform reasoning, then finally select the question from the choices in the following format:"
         " Answer: xxx.\nQuestion:As shown in the figure, in triangle ABC, angle A = 80.0, angle B = 60.0, DE parallel"
         "  BC, then the size of angle CED is ()\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°")
    rows = [{"image": "geoqa_plus/0.png", "conversations": [
                {"from": "human", "value": q},
                {"from": "gpt", "value": "Since angle A = 80° and angle B = 60°, angle C = 40°. Since DE is parallel to "
                                         "BC, angle CED = 180° - 40° = 140°. Therefore, the answer is option D.\nAnswer:D"}]},
            {"image": "geo3k/train/1/img_diagram.png", "conversations": [
                {"from": "human", "value": "<image>\nFind x."}, {"from": "gpt", "value": "x = 2\\sqrt{3}. Answer: 2\\sqrt{3}"}]},
            {"image": "geoqa_plus/2.png", "conversations": [
                {"from": "human", "value": "<image>\nDescribe the figure."}, {"from": "gpt", "value": "A circle."}]}]
    helpers.dump(tmp_path / "qa_tuning.json", rows)
    for r in rows:
        helpers.write_png(tmp_path / "images" / r["image"])
    ds = load_dataset(f"geo170k:qa_tuning@{tmp_path}", on_error="skip")
    question = "<image>As shown in the figure, in triangle ABC" + q.split("in triangle ABC", 1)[1]
    assert _fields(ds[0]) == ("0", "geo170k", "qa_tuning", question, "140°", "choice", ["40°", "60°", "120°", "140°"],
                              "D")
    assert ds[0].metadata == {"image_set": "geoqa_plus", "image": "geoqa_plus/0.png", "instruction_removed": True}
    assert _fields(ds[1])[3:6] == ("<image>Find x.", "2\\sqrt{3}", "expression")
    assert ds[1].images[0].path == str(tmp_path / "images" / "geo3k" / "train" / "1" / "img_diagram.png")
    assert ds.skipped == [("2", f"no final 'Answer:' in the gpt turn (row 2 of {tmp_path} (qa_tuning))")]
    helpers.write_hf_parquet(tmp_path / "data" / "qa_tuning-00000-of-00001.parquet",
                             {"image": [r["image"] for r in rows[:2]], "conversations": [r["conversations"] for r in rows[:2]]},
                             {"image": Value("string"),
                              "conversations": List({"from": Value("string"), "value": Value("string")})})
    (tmp_path / "qa_tuning.json").unlink()
    assert [_fields(e) for e in load_dataset(f"geo170k:qa_tuning@{tmp_path}")] == [_fields(e) for e in ds]
    monkeypatch.setenv("UEC_VLM_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="Luckyjhg/Geo170K.*offline mode is set.*huggingface-cli download --repo-type "
                                        "dataset Luckyjhg/Geo170K.*`geo170k:qa_tuning@DIR` \\(unzip its images.zip"):
        load_dataset("geo170k:qa_tuning")
    fetched = tmp_path / "cache" / "Luckyjhg__Geo170K"  # a finished fetch is read without the network
    fetched.mkdir(parents=True)
    helpers.dump(fetched / "qa_tuning.json", rows[:2])
    (tmp_path / "images").rename(fetched / "images")
    (fetched / ".complete").write_text("qa_tuning.json\nimages.zip\n")
    assert [_fields(e) for e in load_dataset("geo170k:qa_tuning")] == [_fields(e) for e in ds]


def test_mmk12_letters_with_and_without_listed_options(tmp_path, helpers):
    helpers.write_hf_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", {
        "id": ["1", "2", "3"],
        "question": ["Which is the refractive index?\nA. 1.2\nB. 1.5\nC. 2.0", "Which graph (A-D) shows v(t)?",
                     "Find the area of the shaded region."],
        "answer": ["B", "C", "$\\frac{3}{2}$"], "subject": ["physics", "physics", "math"],
        "image": [{"bytes": helpers.png(), "path": None}] * 3},
        {"id": Value("string"), "question": Value("string"), "answer": Value("string"), "subject": Value("string"),
         "image": Image()})
    ds = load_dataset(f"mmk12:test@{tmp_path}")
    assert [_fields(e)[4:] for e in ds] == [("1.5", "choice", ["1.2", "1.5", "2.0"], "B"), ("C", "choice", None, "C"),
                                            ("$\\frac{3}{2}$", "expression", None, None)]
    assert [e.metadata["subject"] for e in ds] == ["physics", "physics", "math"]
    assert ds[0].question.startswith("<image>Which is the refractive index?")


def test_virl39k_release_parquet_multi_image_order(tmp_path, helpers, monkeypatch):
    rows = {"qid": ["a1", "b2", "c3"],
            "question": ["<image>\n<image>\nWhich image shows more apples? Options: (A) first (B) second",
                         "<image>What is the angle?", "Compute 2+3."],
            "answer": ["\\boxed{B}", "\\boxed{17^\\circ}", "\\boxed{5}"],
            "image": [["images/a1-0.jpg", "images/a1-1.jpg"], ["images/b2-0.jpg"], []],
            "category": ["Spatial", "Geometry", "Math"], "source": ["M3CoT", "MM-Eureka", "DeepScaleR"],
            "PassRate_32BTrained": [0.25, 0.5, 1.0], "PassRate_7BUntrained": [None, 0.125, None]}
    helpers.write_hf_parquet(tmp_path / "39Krelease.parquet", rows, {
        "qid": Value("string"), "question": Value("string"), "answer": Value("string"), "image": List(Value("string")),
        "category": Value("string"), "source": Value("string"), "PassRate_32BTrained": Value("float64"),
        "PassRate_7BUntrained": Value("float64")})
    helpers.write_png(tmp_path / "images" / "a1-0.jpg", colour=(255, 0, 0))
    helpers.write_png(tmp_path / "images" / "a1-1.jpg", colour=(0, 0, 255))
    helpers.write_png(tmp_path / "images" / "b2-0.jpg")
    ds = load_dataset(f"virl39k:train@{tmp_path}")
    assert _fields(ds[0])[3:] == (rows["question"][0], "second", "choice", ["first", "second"], "B")
    assert [r.path for r in ds[0].images] == [str(tmp_path / "images" / "a1-0.jpg"), str(tmp_path / "images" / "a1-1.jpg")]
    assert [img.getpixel((0, 0)) for img in ds[0].load_images()] == [(255, 0, 0), (0, 0, 255)]
    assert _fields(ds[1])[4:6] == ("17^\\circ", "expression") and (ds[2].images, ds[2].answer_kind) == ([], "integer")
    assert ds[1].metadata == {"category": "Geometry", "source": "MM-Eureka", "PassRate_32BTrained": 0.5,
                              "PassRate_7BUntrained": 0.125}
    assert unbox("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}" and unbox("\\boxed{1} and \\boxed{2}") == \
        "\\boxed{1} and \\boxed{2}"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("UEC_VLM_DATA", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="TIGER-Lab/ViRL39K.*offline mode.*`virl39k:train@DIR` \\(unzip its images.zip"):
        load_dataset("TIGER-Lab/ViRL39K@train")


def test_thinklite_release_parquet_bytes_image(tmp_path, helpers):
    helpers.write_hf_parquet(tmp_path / "ThinkLite-VL-Hard-11k.parquet", {
        "id": [7, 8], "problem": ["What is the value of the bar Tom?", "Is the line straight?\n(A) yes\n(B) no"],
        "answer": ["42", "A"], "image": [helpers.png(), helpers.png()]},
        {"id": Value("int64"), "problem": Value("string"), "answer": Value("string"), "image": Value("binary")})
    ds = load_dataset(f"thinklite:train@{tmp_path}")
    assert [_fields(e) for e in ds] == [
        ("7", "thinklite", "train", "<image>What is the value of the bar Tom?", "42", "integer", None, None),
        ("8", "thinklite", "train", "<image>Is the line straight?\n(A) yes\n(B) no", "yes", "choice", ["yes", "no"], "A")]
    assert ds[1].load_images()[0].size == (8, 6)


def test_answer_helpers():
    assert embedded_choices("How many triangles? Select answers from A-D. \n A) 10 B) 12 C) 14 D) 16") == \
        ["10", "12", "14", "16"]
    assert embedded_choices("Find the area of triangle ABC.") is None
    assert final_answer("so CED = 140°.\nAnswer:D") == "D"
    assert final_answer("Thus the answer is option C.") == "C"
    assert final_answer("no conclusion") is None
    assert json.dumps(embedded_choices("Q\nChoices:\nA:1\nC:2")) == "null"  # letters must run A, B, ...
