"""synthgeo level 4 (the exploration test-bed): stripes whose colours, left to right, are the answer."""

from __future__ import annotations

from data_zoo.geodraw import COLOURS
from data_zoo.registry import load_dataset
from data_zoo.synthgeo import generate
from uec_vlm.rewards.graders import grade


def _band_colours(img, k_max=4):
    """Colour names met along the middle row, left to right, each run once (black outlines skipped)."""
    by_rgb = {v: k for k, v in COLOURS.items()}
    seen = []
    row = img.height // 2
    for x in range(img.width):
        name = by_rgb.get(img.getpixel((x, row)))
        if name and (not seen or seen[-1] != name):
            seen.append(name)
    return seen


def test_stripes_answers_are_what_the_picture_shows():
    examples = load_dataset("synthgeo:test?n=24&seed=0&difficulty=4")
    assert {ex.metadata["template"] for ex in examples} == {"stripes2", "stripes3", "stripes4"}
    for ex in examples:
        k = int(ex.metadata["template"][-1])
        colours = ex.answer.split(", ")
        assert ex.answer_kind == "list" and len(colours) == k
        assert all(a != b for a, b in zip(colours, colours[1:]))  # neighbours differ: every boundary visible
        assert _band_colours(ex.load_images()[0]) == colours
        assert not any(c in ex.question for c in COLOURS)  # only the picture tells


def test_stripes_grading_needs_every_colour_in_order():
    ex = generate(1, 5, "train", difficulty=4, templates=["stripes3"])[0]
    a, b, c = ex.answer.split(", ")
    assert grade(f"\\boxed{{{a}, {b}, {c}}}", ex).correct
    assert not grade(f"\\boxed{{{c}, {b}, {a}}}", ex).correct or a == c
    assert not grade(f"\\boxed{{{a}, {b}}}", ex).correct


def test_level_four_is_opt_in_and_held_out():
    assert 4 not in {ex.metadata["difficulty"] for ex in generate(60, 0, "train")}
    train = {(ex.answer, str(ex.metadata["values"]), ex.images[0].data) for ex in generate(300, 0, "train", difficulty=4)}
    test = {(ex.answer, str(ex.metadata["values"]), ex.images[0].data) for ex in generate(100, 0, "test", difficulty=4)}
    assert not train & test
