"""ThinkLite-VL-hard-11k: the 11K problems ThinkLite-VL's MCTS filter kept as hard (math, charts,
natural images).

Hub parquet (`ThinkLite-VL-Hard-11k.parquet`, also `data/train-*.parquet`) with columns `id`, `problem`,
`answer`, `image` (encoded bytes or an Image struct). Choice questions list their options in the problem
and answer with a letter.
"""

from __future__ import annotations

from pathlib import Path

from data_zoo.adapters.mmk12 import convert
from data_zoo.records import guarded
from data_zoo.registry import register_adapter
from data_zoo.sources import read_parquet_rows, upstream_rows

HUB_ID = "russwang/ThinkLite-VL-hard-11k"


@register_adapter("thinklite", splits=("train",), hub_id=HUB_ID, role="train", licence="MIT (card)",
                  kinds=("choice", "integer", "float", "expression", "text"),
                  needs="hub parquet (id, problem, answer, image): ThinkLite-VL-Hard-11k.parquet or data/train-*.parquet")
def load(split: str, root: str | None, options: dict):
    """ThinkLite-VL-hard-11k: MCTS-selected hard visual reasoning problems for RL."""
    single = sorted(Path(root).glob("*.parquet")) if root is not None and Path(root).is_dir() else []
    if len(single) == 1 and not single[0].name.startswith(split):  # the release's one named file
        rows, bases = read_parquet_rows(single), [Path(root)]
    else:
        rows, bases = upstream_rows(root, split, [], HUB_ID, f"thinklite:{split}@DIR")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where, "thinklite", "problem", ()), lambda r, i: r.get("id") or f"row {i}")
