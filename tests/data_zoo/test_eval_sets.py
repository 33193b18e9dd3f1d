"""Evaluation benchmarks added for breadth: DynaMath variants, LogicVista, MathVerse vision-only versions."""

import pytest
from datasets import Image, Value

from data_zoo.example import DataError
from data_zoo.registry import load_dataset

# Four real rows of LogicVista's data/dataset.json (Yijia-Xiao/LogicVista), reasoning texts shortened.
LOGICVISTA = {
    "v1_0": {"imagename": "v1_0.png", "question": "What choice (A, B, C, or D) should be in place of the question "
             "mark that fits the pattern?", "answer": "C", "reasoning": "The square moves one square each time.",
             "skill": ["inductive"], "capability": ["diagram", "ocr"], "imagesource": "aptitudetests",
             "sourcelink": "https://www.aptitudetests.org/logical-reasoning-test/"},
    "v1_1": {"imagename": "v1_1.png", "question": "Which choices in the image (A-D) belong to the green category?",
             "answer": "A, C", "reasoning": "Diagrams A and C belong to the green category.", "skill": ["inductive"],
             "capability": ["diagram"], "imagesource": "aptitudetests", "sourcelink": "x"},
    "v1_19": {"imagename": "v1_19.png", "question": "How many triangles will be in the 6th shape? Select answers from "
              "A-D. \n A) 10 B) 12 C) 14 D) 16", "answer": "C", "reasoning": "2 more each time.",
              "skill": ["inductive"], "capability": ["diagram"], "imagesource": "practiceaptitudetests",
              "sourcelink": "x"},
    "v1_20": {"imagename": "v1_20.png", "question": "Which is the correct answer according to the image? Select from "
              "1-5", "answer": "3", "reasoning": "Using deductive reasoning, the only logical answer is 3.",
              "skill": ["deductive"], "capability": ["ocr"], "imagesource": "practiceaptitudetests",
              "sourcelink": "x"},
}


def test_logicvista_github_release(tmp_path, helpers):
    helpers.dump(tmp_path / "data" / "dataset.json", LOGICVISTA)
    for row in LOGICVISTA.values():
        helpers.write_png(tmp_path / "data" / "images" / row["imagename"])
    ds = load_dataset(f"logicvista:test@{tmp_path}")
    got = [(e.id, e.answer, e.answer_kind, e.gold_letter, e.metadata["skill"]) for e in ds]
    assert got == [("v1_0", "C", "choice", "C", "inductive"), ("v1_1", "[A, C]", "list", None, "inductive"),
                   ("v1_19", "C", "choice", "C", "inductive"), ("v1_20", "3", "integer", None, "deductive")]
    assert ds[0].question == "<image>" + LOGICVISTA["v1_0"]["question"]
    assert ds[0].metadata["capability"] == ["diagram", "ocr"]
    from evals import benchmarks  # no scoring rule of its own: eval reports use the adapter's subsets

    assert benchmarks.subset_keys(ds[0]) == {"skill": "inductive", "capability": ["diagram", "ocr"]}
    assert ds[3].images[0].path == str(tmp_path / "data" / "images" / "v1_20.png")
    with pytest.raises(DataError, match="git clone https://github.com/Yijia-Xiao/LogicVista"):
        load_dataset("logicvista:test")


def test_dynamath_variants_and_answer_types(tmp_path, helpers):
    feats = {"id": Value("string"), "question": Value("string"), "image": Value("string"), "decoded_image": Image(),
             "ground_truth": Value("string"), "answer_type": Value("string"), "subject": Value("string"),
             "knowledge_level": Value("string")}
    for k, colour in ((1, (255, 0, 0)), (2, (0, 255, 0))):
        helpers.write_hf_parquet(tmp_path / "data" / f"sample_variant{k}-00000-of-00001.parquet", {
            "id": ["1", "2", "3"],
            "question": ["Which function is increasing? \nChoices:\n(A) f\n(B) g", "What is y at x = 2?",
                         "What is the function's equation?"],
            "image": [f"images/{k}/{i}.png" for i in range(3)],
            "decoded_image": [{"bytes": helpers.png(colour), "path": None}] * 3,
            "ground_truth": ["B", str(1.5 * k), "y = x^2"], "answer_type": ["multiple choice", "float", "free form"],
            "subject": ["PI", "AL", "AL"], "knowledge_level": ["high school", "elementary school", "high school"]},
            feats)
    v2 = load_dataset(f"dynamath:sample_variant2@{tmp_path}")
    assert [(e.id, e.answer, e.answer_kind, e.choices, e.gold_letter) for e in v2] == [
        ("1", "g", "choice", ["f", "g"], "B"), ("2", "3.0", "float", None, None),
        ("3", "y = x^2", "expression", None, None)]
    assert v2[1].metadata == {"seed_id": "2", "variant": 2, "answer_type": "float", "subject": "AL",
                              "knowledge_level": "elementary school"}
    assert v2[0].load_images()[0].getpixel((0, 0)) == (0, 255, 0)
    assert load_dataset(f"dynamath:sample_variant1@{tmp_path}")[1].answer == "1.5"
    with pytest.raises(DataError, match="unknown split 'variant3'.*sample_variant1"):
        load_dataset(f"dynamath:variant3@{tmp_path}")
    both = load_dataset(f"dynamath:all@{tmp_path}")  # the variants on disk (2 of 10) as one set, for worst-case
    assert [(e.id, e.metadata["seed_id"], e.metadata["variant"]) for e in both][:4] == [
        ("1@v1", "1", 1), ("2@v1", "2", 1), ("3@v1", "3", 1), ("1@v2", "1", 2)]
    from evals import benchmarks

    responses = {"1@v1": "<answer>B</answer>", "1@v2": "\\boxed{(B)}", "2@v1": "\\boxed{1.5004}",
                 "2@v2": "\\boxed{2.9}", "3@v1": "The answer is y = x^2", "3@v2": "the answer is y=x^2."}
    grades = {e.id: benchmarks.score(e, responses[e.id]).correct for e in both}
    assert grades == {"1@v1": True, "1@v2": True, "2@v1": True, "2@v2": False, "3@v1": True, "3@v2": True}
    extra = benchmarks.aggregate("dynamath", list(both), [[grades[e.id]] for e in both])
    assert extra == {"worst_case_accuracy (seed right on all its variants, first sample)": 2 / 3,
                     "average_accuracy (first sample)": 5 / 6, "seeds": 3, "variants_per_seed": {"min": 2, "max": 2}}


def test_mathverse_vision_versions_filter(tmp_path, helpers):
    base = {"problem_index": "1", "answer": "D", "question_type": "multi-choice", "query_wo": "w", "query_cot": "c",
            "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"}}
    versions = ["Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only"]
    rows = [dict(base, sample_index=str(i + 1), problem_version=v, image=f"images/{i}.png",
                 question="" if v == "Vision Only" else "Angle CED?\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°")
            for i, v in enumerate(versions)]
    helpers.dump(tmp_path / "testmini.json", rows)
    for i in range(5):
        helpers.write_png(tmp_path / "images" / f"{i}.png")
    ds = load_dataset(f"mathverse:testmini@{tmp_path}?versions=vision_dominant,vision_only")
    assert [(e.id, e.metadata["problem_version"], e.question, e.answer) for e in ds] == [
        ("4", "Vision Dominant", "<image>" + rows[3]["question"], "140°"), ("5", "Vision Only", "<image>", "D")]
    assert len(load_dataset(f"mathverse:testmini@{tmp_path}")) == 5
    with pytest.raises(DataError, match="versions='vision'.*unknown \\['vision'\\]"):
        load_dataset(f"mathverse:testmini@{tmp_path}?versions=vision")
