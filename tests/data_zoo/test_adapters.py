"""Each adapter on fixtures written in its upstream format, checked field by field."""

import json

from datasets import Image, List, Value

from data_zoo.registry import load_dataset

GEO_RAW = {"problem_text": "Find x.", "choices": ["30", "40", "60", "2 \\sqrt { 221 }"], "answer": "D",
           "annotat_text": "Find $x$.", "problem_type_graph": ["Triangle"], "problem_type_goal": ["Length"],
           "id": 2401, "precise_value": [30.0, 40.0, 60.0, 29.73]}


def _fields(e):
    return (e.id, e.source, e.split, e.question, e.answer, e.answer_kind, e.choices, e.gold_letter, e.precision,
            e.unit)


def test_geometry3k_raw_and_hub_parquet_give_the_same_records(tmp_path, helpers):
    raw = tmp_path / "raw"
    helpers.dump(raw / "test" / "2401" / "data.json", GEO_RAW)
    helpers.write_png(raw / "test" / "2401" / "img_diagram.png", (0, 0, 255))
    hub = tmp_path / "hub"
    helpers.write_hf_parquet(hub / "data" / "test-00000-of-00001.parquet", {
        "images": [[{"bytes": helpers.png((0, 0, 255)), "path": None}]], "problem": ["<image>Find $x$."],
        "answer": ["2 \\sqrt { 221 }"], "id": ["2401"], "choices": [GEO_RAW["choices"]], "ground_truth": ["D"],
    }, {"images": List(Image()), "problem": Value("string"), "answer": Value("string"), "id": Value("string"),
        "choices": List(Value("string")), "ground_truth": Value("string")})
    a = load_dataset(f"geometry3k:test@{raw}")[0]
    b = load_dataset(f"geometry3k:test@{hub}")[0]
    assert _fields(a) == _fields(b) == ("2401", "geometry3k", "test", "<image>Find $x$.", "2 \\sqrt { 221 }",
                                        "expression", None, None, None, None)
    assert a.metadata == {"choices": GEO_RAW["choices"], "gold_letter": "D", "problem_type_graph": ["Triangle"],
                          "problem_type_goal": ["Length"]}
    assert b.metadata == {"choices": GEO_RAW["choices"], "gold_letter": "D"}
    assert a.load_images()[0].tobytes() == b.load_images()[0].tobytes()
    assert a.images[0].path == str(raw / "test" / "2401" / "img_diagram.png")


MV_ROWS = {
    "1": {"question": "Find d.", "image": "images/1.jpg", "choices": None, "unit": "m", "precision": 1,
          "answer": "1.2", "question_type": "free_form", "answer_type": "float", "pid": "1",
          "metadata": {"split": "testmini", "source": "SciBench", "task": "textbook question answering",
                       "skills": ["scientific reasoning"]}},
    "3": {"question": "angle?", "image": "images/3.jpg", "choices": ["135°", "140°", "145°"], "unit": None,
          "precision": None, "answer": "145°", "question_type": "multi_choice", "answer_type": "text", "pid": "3",
          "metadata": {"split": "testmini", "source": "GeoQA+", "task": "geometry problem solving",
                       "skills": ["geometry reasoning"]}},
}


def test_mathvista_github_json_and_hub_parquet(tmp_path, helpers):
    gh = tmp_path / "gh"
    helpers.dump(gh / "data" / "testmini.json", MV_ROWS)
    for pid in MV_ROWS:
        helpers.write_png(gh / "data" / "images" / f"{pid}.jpg")
    a = load_dataset(f"mathvista:testmini@{gh}")
    assert _fields(a[0]) == ("1", "mathvista", "testmini", "<image>Find d.", "1.2", "float", None, None, 1, "m")
    assert _fields(a[1]) == ("3", "mathvista", "testmini", "<image>angle?", "145°", "choice",
                             ["135°", "140°", "145°"], "C", None, None)
    assert a[1].metadata["task"] == "geometry problem solving" and a[1].metadata["question_type"] == "multi_choice"
    hub = tmp_path / "hub"
    rows = list(MV_ROWS.values())
    helpers.write_hf_parquet(hub / "data" / "testmini-00000-of-00001.parquet", {
        "pid": [r["pid"] for r in rows], "question": [r["question"] for r in rows],
        "image": [r["image"] for r in rows], "decoded_image": [{"bytes": helpers.png(), "path": None}] * 2,
        "choices": [r["choices"] for r in rows], "unit": [r["unit"] for r in rows],
        "precision": [1.0, None], "answer": [r["answer"] for r in rows],
        "question_type": [r["question_type"] for r in rows], "answer_type": [r["answer_type"] for r in rows],
        "query": ["Hint: ... Find d.", "Hint: ... angle?"],
    }, {"pid": Value("string"), "question": Value("string"), "image": Value("string"), "decoded_image": Image(),
        "choices": List(Value("string")), "unit": Value("string"), "precision": Value("float64"),
        "answer": Value("string"), "question_type": Value("string"), "answer_type": Value("string"),
        "query": Value("string")})
    b = load_dataset(f"mathvista:testmini@{hub}")
    assert [_fields(e) for e in b] == [_fields(e) for e in a]
    assert type(b[0].precision) is int and b[1].choices == ["135°", "140°", "145°"]
    assert b[0].images[0].data is not None and b[0].metadata["query"] == "Hint: ... Find d."


def test_mathvision_jsonl_letters_options_and_latex(tmp_path, helpers):
    rows = [
        {"id": "6", "question": "Which picture?\n<image1>", "options": ["A", "B", "C", "D", "E"], "answer": "D",
         "solution": None, "level": 3, "subject": "logic", "image": "images/6.jpg"},
        {"id": "7", "question": "Area?\n<image1>", "options": [], "answer": "$\\frac{1}{2}$", "solution": "s",
         "level": 5, "subject": "metric geometry - area", "image": "images/7.jpg"},
        {"id": "8", "question": "Ant <image1> walks home <image2>.\n<image3>", "options": ["1", "2", "3", "4", "5"],
         "answer": "B", "solution": None, "level": 1, "subject": "counting", "image": "images/8.jpg"},
    ]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "testmini.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    for r in rows:
        helpers.write_png(tmp_path / r["image"])
    ds = load_dataset(f"mathvision:testmini@{tmp_path}")
    assert _fields(ds[0]) == ("6", "mathvision", "testmini", "Which picture?\n<image>", "D", "choice",
                              ["A", "B", "C", "D", "E"], "D", None, None)
    assert _fields(ds[1])[3:7] == ("Area?\n<image>", "$\\frac{1}{2}$", "expression", None)
    assert ds[1].metadata == {"level": 5, "subject": "metric geometry - area", "solution": "s"}
    assert ds[2].question == "<image>Ant <image1> walks home <image2>.\n<image3>"
    assert (ds[2].answer, ds[2].gold_letter) == ("2", "B")
    assert ds[2].images[0].path == str(tmp_path / "images" / "8.jpg")


WE_ROWS = [
    {"ID": "2steps_1", "split": "testmini", "knowledge concept": "Units", "question": "OA = ( ) m",
     "option": "A. 300, 400;B. 400, 300;C. 3000, 4000;D. 4000, 3000; E. No correct answer", "answer": "C",
     "image_path": "2steps/image/1-1.png", "key": "2steps_1", "question number": 1},
    {"ID": "2steps_1", "split": "testmini", "knowledge concept": "Units", "question": "Total?",
     "option": "A. Shape ;C.; B. Shape ;C.  ;C. First; D. No correct answer", "answer": "B",
     "image_path": "2steps/image/1-multi.png", "key": "2steps_multi", "question number": 1},
]


def test_wemath_json_option_string_and_grouping(tmp_path, helpers):
    helpers.dump(tmp_path / "data" / "testmini.json", WE_ROWS)
    for r in WE_ROWS:
        helpers.write_png(tmp_path / "data" / r["image_path"])
    ds = load_dataset(f"wemath:testmini@{tmp_path}")
    assert _fields(ds[0]) == ("2steps_1/2steps_1", "wemath", "testmini", "<image>OA = ( ) m", "3000, 4000",
                              "choice", ["300, 400", "400, 300", "3000, 4000", "4000, 3000", "No correct answer"],
                              "C", None, None)
    assert ds[1].choices == ["Shape ;C.", "Shape ;C.", "First", "No correct answer"]
    assert (ds[1].id, ds[1].answer, ds[1].metadata["ID"], ds[1].metadata["key"]) == \
        ("2steps_1/2steps_multi", "Shape ;C.", "2steps_1", "2steps_multi")
    hub = tmp_path / "hub"
    cols = {k: [r[k] for r in WE_ROWS] for k in WE_ROWS[0] if k != "image_path"}
    cols["image_path"] = [{"bytes": helpers.png(), "path": "1-1.png"}, {"bytes": helpers.png(), "path": "x.png"}]
    feats = {k: Value("int64") if k == "question number" else Value("string") for k in cols}
    feats["image_path"] = Image()
    helpers.write_hf_parquet(hub / "testmini.parquet", cols, feats)
    assert [_fields(e) for e in load_dataset(f"wemath:testmini@{hub}")] == [_fields(e) for e in ds]


def test_mathverse_versions_and_text_only(tmp_path, helpers):
    base = {"problem_index": "1", "answer": "D", "question_type": "multi-choice", "query_wo": "w", "query_cot": "c",
            "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"}}
    rows = [dict(base, sample_index="1", problem_version="Text Dominant", image="images_version_1-4/image_1.png",
                 question="Angle CED?\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°"),
            dict(base, sample_index="5", problem_version="Vision Only", image="images_version_5/image_1.png",
                 question=""),
            dict(base, sample_index="9", problem_version="Text Lite", image="images_version_1-4/image_1.png",
                 question="Find L.", answer="14", question_type="free-form")]
    helpers.dump(tmp_path / "testmini.json", rows)
    helpers.write_png(tmp_path / "images" / "images_version_1-4" / "image_1.png")
    helpers.write_png(tmp_path / "images" / "images_version_5" / "image_1.png")
    ds = load_dataset(f"mathverse:testmini@{tmp_path}")
    assert _fields(ds[0])[3:8] == ("<image>" + rows[0]["question"], "140°", "choice", ["40°", "60°", "120°", "140°"],
                                   "D")
    assert _fields(ds[1])[3:8] == ("<image>", "D", "choice", None, "D")
    assert _fields(ds[2])[4:6] == ("14", "integer")
    assert ds[1].metadata["problem_version"] == "Vision Only" and ds[1].metadata["subject"] == "Plane Geometry"
    text_only = [dict(rows[0], problem_version="Text Only", image="")]
    helpers.dump(tmp_path / "data" / "testmini_text_only.json", text_only)
    t = load_dataset(f"mathverse:testmini_text_only@{tmp_path}")[0]
    assert (t.images, t.question, t.answer) == ([], rows[0]["question"], "140°")


def test_r1v_geoqa_and_superclevr_jsonl(tmp_path, helpers):
    (tmp_path / "geoqa_test_prompts.jsonl").write_text(json.dumps(
        {"image_path": "./Geo170K/images/test/0.png", "question": "angle CED is ()", "ground_truth": "140°"}))
    helpers.write_png(tmp_path / "Geo170K" / "images" / "test" / "0.png")
    g = load_dataset(f"geoqa:test@{tmp_path}")[0]
    assert _fields(g) == ("0", "geoqa", "test", "<image>angle CED is ()", "140°", "expression", None, None,
                          None, None)
    assert g.images[0].path == str(tmp_path / "Geo170K" / "images" / "test" / "0.png")
    sc = tmp_path / "sc.jsonl"
    sc.write_text(json.dumps({"image_path": "./images/s.png", "question": "How many items?", "ground_truth": 3}))
    helpers.write_png(tmp_path / "images" / "s.png")
    s = load_dataset(f"superclevr:test@{sc}")[0]
    assert (s.answer, s.answer_kind, s.source) == ("3", "integer", "superclevr")


def test_generic_column_mapping_paths_bytes_and_structs(tmp_path, helpers):
    helpers.write_png(tmp_path / "imgs" / "a.png")
    f = tmp_path / "mine.jsonl"
    f.write_text(json.dumps({"prob": "Which?", "sol": "b", "opts": ["x", "y"], "pics": ["a.png", "a.png"]}))
    e = load_dataset(f"{f}?question=prob&answer=sol&choices=opts&images=pics&image_root={tmp_path / 'imgs'}")[0]
    assert _fields(e) == ("0", "generic", "train", "<image><image>Which?", "y", "choice", ["x", "y"], "B", None, None)
    p = helpers.write_hf_parquet(tmp_path / "p.parquet", {
        "question": ["<image>Sum?"], "answer": ["7"], "image": [{"bytes": helpers.png(), "path": None}]},
        {"question": Value("string"), "answer": Value("string"), "image": Image()})
    e = load_dataset(str(p))[0]
    assert _fields(e)[3:6] == ("<image>Sum?", "7", "integer") and e.load_images()[0].size == (8, 6)
    import datasets

    datasets.DatasetDict({"val": datasets.Dataset.from_dict({"problem": ["q"], "answer": ["1.5"]})}).save_to_disk(
        str(tmp_path / "saved"))
    e = load_dataset(f"{tmp_path / 'saved'}?split=val")[0]
    assert (e.question, e.answer, e.answer_kind, e.split, e.images) == ("q", "1.5", "float", "val", [])
