"""The synthetic benchmark batch as canonical Examples / parquet, read identically by both frameworks."""

from __future__ import annotations

import io
from pathlib import Path

from common import CACHE, QUESTION, Workload, workload_images


def workload_examples(w: Workload) -> list:
    """`w.prompts` Examples, each with `w.images` distinct PNG images of `w.image_tokens` tokens each."""
    from data_zoo.example import Example, ImageRef

    out = []
    for i in range(w.prompts):
        refs = []
        for img in workload_images(w, i):
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            refs.append(ImageRef(data=buf.getvalue(), origin=f"bench:{i}"))
        question = "".join("<image>" for _ in refs) + QUESTION
        out.append(Example(id=str(i), source="bench", split="train", question=question, answer="50",
                           answer_kind="integer", images=refs))
    return out


def workload_parquet(w: Workload) -> Path:
    """The workload's canonical parquet (written once per workload shape)."""
    from data_zoo.canonical import export_parquet

    path = CACHE / "data" / f"p{w.prompts}-img{w.image_tokens}x{w.images}.parquet"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        export_parquet(workload_examples(w), path)
    return path
