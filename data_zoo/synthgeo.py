"""synthgeo: procedural geometry problems drawn with PIL, the embedded default for the demo and the tests.

Deterministic by (split, seed, index), any size, small images (default 112x112), short exact answers.
Held-out is really held out: every sampled problem (all its parameters, layout included) is hashed into
one of ten buckets and each split owns its own buckets, so no train item ever equals a test item, whatever
the seeds; the per-item random streams are also derived per split.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterable, Sequence

from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example, ImageRef
from data_zoo.geodraw import TEMPLATES
from data_zoo.registry import register_adapter

SPLIT_BUCKETS = {"train": frozenset(range(0, 8)), "validation": frozenset({8}), "test": frozenset({9})}
# Level 0 (pure perception: colour, shape name) and level 4 (compositional: the colour of every stripe, left
# to right, all needed for a correct answer; the exploration test-bed of docs/testbed.md) are opt-in
# (`difficulty=0`/`4` or `templates=`): the default mix is levels 1-3, whose numbers live only in the diagram.
DIFFICULTY_WEIGHTS = {0: 0.4, 1: 0.4, 2: 0.35, 3: 0.25, 4: 0.3}
DEFAULT_LEVELS = (1, 2, 3)
MAX_ATTEMPTS = 200


def _bucket(template: str, key: tuple) -> int:
    return int.from_bytes(hashlib.sha1(repr((template, key)).encode()).digest()[:4], "big") % 10


def _levels(difficulty: int | Sequence[int] | None, every_level: bool = False) -> list[int]:
    if difficulty is None:
        return sorted(TEMPLATES) if every_level else list(DEFAULT_LEVELS)
    levels = [difficulty] if isinstance(difficulty, int) else list(difficulty)
    bad = [d for d in levels if d not in TEMPLATES]
    if bad or not levels:
        raise DataError(f"synthgeo difficulty must be in {sorted(TEMPLATES)}, got {difficulty!r}")
    return levels


def template_names() -> list[str]:
    """Every template name a synthgeo item can have (the `template` metadata field)."""
    rng = random.Random(0)
    return sorted({fn(rng).template for fns in TEMPLATES.values() for fn in fns})


def make_example(index: int, seed: int, split: str, difficulty=None, size: int = 112,
                 templates: frozenset[str] | None = None) -> Example:
    """Item `index` of the (split, seed) stream: an Example with one PNG image of size x size pixels.

    `templates` restricts the stream to those template names (e.g. the visually easy `largest`, `sides`).
    """
    if split not in SPLIT_BUCKETS:
        raise DataError(f"unknown synthgeo split {split!r}; known splits: {list(SPLIT_BUCKETS)}")
    levels = _levels(difficulty, every_level=bool(templates))
    if templates:
        unknown = sorted(set(templates) - set(template_names()))
        if unknown:
            raise DataError(f"unknown synthgeo template(s) {unknown}; known: {template_names()}")
        levels = [lv for lv in levels if any(fn(random.Random(0)).template in templates for fn in TEMPLATES[lv])]
        if not levels:
            raise DataError(f"synthgeo templates {sorted(templates)} do not occur at difficulty {difficulty!r}")
    weights = [DIFFICULTY_WEIGHTS[d] for d in levels]
    for attempt in range(MAX_ATTEMPTS):
        # A string seed is hashed with SHA-512 by `random`, so streams do not depend on PYTHONHASHSEED.
        rng = random.Random(f"synthgeo/{split}/{seed}/{index}/{attempt}")
        level = rng.choices(levels, weights)[0]
        problem = rng.choice(TEMPLATES[level])(rng)
        if templates and problem.template not in templates:
            continue
        if _bucket(problem.template, problem.key) in SPLIT_BUCKETS[split]:
            break
    else:  # cannot happen for the built-in templates: each has far more than 10 distinct keys
        raise DataError(f"synthgeo could not sample a {split} item (index {index}, seed {seed})")
    buf = io.BytesIO()
    problem.draw(size).save(buf, format="PNG", compress_level=1)
    return Example(
        id=f"{seed}-{index}", source="synthgeo", split=split,
        question=f"{IMAGE_PLACEHOLDER}{problem.question}", answer=problem.answer,
        answer_kind=problem.answer_kind, choices=problem.choices, gold_letter=problem.gold_letter,
        images=[ImageRef(data=buf.getvalue(), origin=f"synthgeo/{split}/{seed}/{index}")],
        metadata={"difficulty": level, "template": problem.template, "values": problem.values, "seed": seed},
    )


def generate(n: int, seed: int, split: str = "train", difficulty: int | Sequence[int] | None = None,
             size: int = 112, templates: Sequence[str] | None = None) -> list[Example]:
    """n synthgeo Examples for (split, seed); difficulty None mixes levels 1-3 (40/35/25 %); level 0 (colour,
    shape name: perception only) is included only when asked for by `difficulty` or `templates`."""
    if n < 1:
        raise DataError(f"synthgeo needs n >= 1, got {n}")
    chosen = frozenset(templates) if templates else None
    return [make_example(i, seed, split, difficulty, size, chosen) for i in range(n)]


def _int_option(options: dict, key: str, default: int) -> int:
    try:
        return int(options.pop(key, default))
    except ValueError as e:
        raise DataError(f"synthgeo option {key}={options.get(key)!r} is not an integer") from e


@register_adapter("synthgeo", splits=tuple(SPLIT_BUCKETS), default_split="train", role="train/eval",
                  licence="this project", kinds=("choice", "integer", "expression", "list"),
                  subsets=("difficulty", "template"),
                  needs="nothing (generated); options n, seed, difficulty (0-4 or e.g. 0,1), size, "
                        "templates (e.g. largest,sides)")
def load(split: str, root: str | None, options: dict) -> Iterable[Example]:
    """Procedural geometry problems (PIL diagrams), generated on the fly."""
    n, seed, size = _int_option(options, "n", 200), _int_option(options, "seed", 0), _int_option(options, "size", 112)
    raw = options.pop("difficulty", "")
    try:
        difficulty = [int(x) for x in raw.split(",")] if raw else None
    except ValueError as e:
        raise DataError(f"synthgeo option difficulty={raw!r} must be 0-4 or a comma list") from e
    templates = [t for t in options.pop("templates", "").split(",") if t]
    if root is not None or options:
        raise DataError(f"synthgeo takes no folder and no options other than n, seed, difficulty, size, "
                        f"templates; got root={root!r}, options={sorted(options)}")
    return generate(n, seed, split, difficulty, size, templates)
