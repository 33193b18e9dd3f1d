"""`require_image_files=False`: annotations whose images are absent load (for `uec-vlm eval score`)."""

from __future__ import annotations

import json

import pytest

from data_zoo.example import DataError
from data_zoo.registry import load_dataset


def _mathvista_release(root):
    (root / "data").mkdir(parents=True)
    record = {"question": "What is x?", "image": "images/7.jpg", "choices": None, "unit": None, "precision": 1,
              "answer": "1.2", "question_type": "free_form", "answer_type": "float", "pid": "7",
              "metadata": {"split": "testmini", "language": "english", "source": "SciBench",
                           "category": "math-targeted-vqa", "task": "textbook question answering",
                           "context": "scientific figure", "grade": "college", "skills": ["scientific reasoning"]}}
    (root / "data" / "testmini.json").write_text(json.dumps({"7": record}))


def test_missing_images_fail_by_default_and_load_without_the_requirement(tmp_path):
    _mathvista_release(tmp_path)
    spec = f"mathvista:testmini@{tmp_path}"
    with pytest.raises(DataError, match=r"bad record 7 .*image file not found: .*images/7\.jpg"):
        load_dataset(spec)
    ds = load_dataset(spec, require_image_files=False)
    assert [(ex.id, ex.answer, ex.answer_kind, ex.precision) for ex in ds] == [("7", "1.2", "float", 1)]
    with pytest.raises(DataError, match="image file not found"):
        ds[0].load_images()
