"""Near-duplicate problems across two datasets: perceptual image hash + normalised question text.

MathVista testmini reuses 62 Geometry3K problems (resized, re-worded), so exact matching finds too little:
a pair counts when the first images' difference hashes are within `max_bits` bits AND the normalised
questions share at least `min_text` of their words (Jaccard); text-only records match on equal text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise_question(text: str) -> str:
    """Lower-case words and numbers only: drops placeholders, LaTeX commands, `$`, punctuation, spacing."""
    text = text.replace(IMAGE_PLACEHOLDER, " ").lower()
    text = re.sub(r"\\[a-z]+", " ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def dhash(image, bits: int = 8) -> int:
    """64-bit difference hash of a PIL image (grey, resized to 9x8, left>right per pixel)."""
    grey = np.asarray(image.convert("L").resize((bits + 1, bits)), dtype=np.int16)
    diff = (grey[:, 1:] > grey[:, :-1]).flatten()
    return int(sum(1 << i for i, v in enumerate(diff) if v))


@dataclass(frozen=True)
class Match:
    a: str
    b: str
    image_bits: int | None
    text_similarity: float


def _signature(ex: Example) -> tuple[int | None, frozenset[str], str]:
    norm = normalise_question(ex.question)
    if not ex.images:
        return None, frozenset(norm.split()), norm
    try:
        return dhash(ex.images[0].load()), frozenset(norm.split()), norm
    except DataError as e:
        raise DataError(f"record {ex.uid}: {e}") from e


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def find_overlap(a: Sequence[Example], b: Sequence[Example], max_bits: int = 6, min_text: float = 0.5
                 ) -> list[Match]:
    """Pairs (a uid, b uid) judged the same problem; O(len(a) * len(b)) hash comparisons, vectorised."""
    sig_b = [_signature(ex) for ex in b]
    with_img = [i for i, s in enumerate(sig_b) if s[0] is not None]
    hashes = np.array([sig_b[i][0] for i in with_img], dtype=np.uint64)
    by_text: dict[str, list[int]] = {}
    for i, s in enumerate(sig_b):
        by_text.setdefault(s[2], []).append(i)
    matches = []
    for ex in a:
        h, words, norm = _signature(ex)
        if h is None:
            matches += [Match(ex.uid, b[j].uid, None, 1.0) for j in by_text.get(norm, []) if norm]
            continue
        if not len(hashes):
            continue
        dist = _popcount(hashes ^ np.uint64(h))
        for k in np.nonzero(dist <= max_bits)[0]:
            j = with_img[int(k)]
            other = sig_b[j][1]
            sim = len(words & other) / len(words | other) if words | other else 1.0
            if sim >= min_text:
                matches.append(Match(ex.uid, b[j].uid, int(dist[k]), round(sim, 3)))
    return matches
