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
HASH_SIZE, MAX_BITS, MIN_TEXT = 8, 6, 0.5


def normalise_question(text: str) -> str:
    """Lower-case words and numbers only: drops placeholders, LaTeX commands, `$`, punctuation, spacing."""
    text = text.replace(IMAGE_PLACEHOLDER, " ").lower()
    text = re.sub(r"\\[a-z]+", " ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def dhash_bits(image, size: int = 8) -> np.ndarray:
    """Difference hash of a PIL image as size*size booleans (grey, resized to (size+1) x size, left > right)."""
    grey = np.asarray(image.convert("L").resize((size + 1, size)), dtype=np.int16)
    return (grey[:, 1:] > grey[:, :-1]).flatten()


def dhash(image, bits: int = 8) -> int:
    """64-bit (bits=8) difference hash of a PIL image as an int."""
    return int(sum(1 << i for i, v in enumerate(dhash_bits(image, bits)) if v))


@dataclass(frozen=True)
class Match:
    a: str
    b: str
    image_bits: int | None
    text_similarity: float


@dataclass
class Signatures:
    """What matching needs of a dataset, computed once (each image decoded once): uids, first-image hashes
    (packed bits, None for text-only records), normalised question words and texts."""

    uids: list[str]
    hashes: list[np.ndarray | None]
    words: list[frozenset[str]]
    texts: list[str]

    def __len__(self) -> int:
        return len(self.uids)


def signatures(examples: Sequence[Example], hash_size: int = HASH_SIZE) -> Signatures:
    sig = Signatures([], [], [], [])
    for ex in examples:
        norm = normalise_question(ex.question)
        try:
            h = np.packbits(dhash_bits(ex.images[0].load(), hash_size)) if ex.images else None
        except DataError as e:
            raise DataError(f"record {ex.uid}: {e}") from e
        sig.uids.append(ex.uid)
        sig.hashes.append(h)
        sig.words.append(frozenset(norm.split()))
        sig.texts.append(norm)
    return sig


def match(a: Signatures, b: Signatures, max_bits: int = MAX_BITS, min_text: float = MIN_TEXT) -> list[Match]:
    """Pairs of (a, b) records judged the same problem; O(len(a) * len(b)) hash comparisons, vectorised.

    Image records match when their first images differ in at most `max_bits` hash bits AND the word
    Jaccard of their normalised questions is at least `min_text`; text-only records match text-only
    records with the same normalised question."""
    with_img = [i for i, h in enumerate(b.hashes) if h is not None]
    hashes = np.stack([b.hashes[i] for i in with_img]) if with_img else None
    by_text: dict[str, list[int]] = {}
    for j, t in enumerate(b.texts):
        if b.hashes[j] is None:
            by_text.setdefault(t, []).append(j)
    out = []
    for i, h in enumerate(a.hashes):
        if h is None:
            out += [Match(a.uids[i], b.uids[j], None, 1.0) for j in by_text.get(a.texts[i], []) if a.texts[i]]
            continue
        if hashes is None or hashes.shape[1] != h.shape[0]:
            continue
        dist = np.unpackbits(hashes ^ h, axis=1).sum(axis=1)
        for k in np.nonzero(dist <= max_bits)[0]:
            j = with_img[int(k)]
            union = a.words[i] | b.words[j]
            sim = len(a.words[i] & b.words[j]) / len(union) if union else 1.0
            if sim >= min_text:
                out.append(Match(a.uids[i], b.uids[j], int(dist[k]), round(sim, 3)))
    return out


def find_overlap(a: Sequence[Example], b: Sequence[Example], max_bits: int = MAX_BITS, min_text: float = MIN_TEXT,
                 hash_size: int = HASH_SIZE) -> list[Match]:
    """Pairs (a uid, b uid) judged the same problem (see `match`)."""
    return match(signatures(a, hash_size), signatures(b, hash_size), max_bits, min_text)


def overlap_matrix(trains: dict[str, Sequence[Example]], evals: dict[str, Sequence[Example]],
                   max_bits: int = MAX_BITS, min_text: float = MIN_TEXT, examples: int = 3,
                   hash_size: int = HASH_SIZE) -> list[dict]:
    """One entry per (train, eval) pair: sizes, how many eval / train records match, the eval fraction,
    and the first `examples` matches. Each dataset's signatures are computed once for the whole matrix."""
    sig_t = {name: signatures(ds, hash_size) for name, ds in trains.items()}
    sig_e = {name: signatures(ds, hash_size) for name, ds in evals.items()}
    out = []
    for tn, st in sig_t.items():
        for en, se in sig_e.items():
            found = match(st, se, max_bits, min_text)
            hit_eval = {m.b for m in found}
            out.append({"train": tn, "eval": en, "train_size": len(st), "eval_size": len(se),
                        "train_matched": len({m.a for m in found}), "eval_matched": len(hit_eval),
                        "eval_fraction": round(len(hit_eval) / len(se), 4) if len(se) else 0.0,
                        "examples": [vars(m) for m in found[:examples]]})
    return out


def contamination_warnings(train_sets: Sequence[Sequence[Example]], eval_specs: Sequence[str], threshold: float,
                           adapter_modules: Sequence[str] = ()) -> list[str]:
    """Warning lines for each eval spec whose overlap with the union of the training sets exceeds
    `threshold` (fraction of the eval set); empty when clean."""
    from data_zoo.registry import load_dataset

    train = signatures([ex for ds in train_sets for ex in ds])
    lines = []
    for spec in eval_specs:
        ev = load_dataset(spec, adapter_modules=adapter_modules)
        found = match(train, signatures(ev))
        frac = len({m.b for m in found}) / len(ev)
        if frac > threshold:
            first = found[0]
            lines.append(f"warning: training data overlaps {spec}: {len({m.b for m in found})} of {len(ev)} "
                         f"evaluation records ({frac:.1%} > data.overlap_threshold={threshold}) match a training "
                         f"record, e.g. {first.a} ~ {first.b}; run `uec-vlm data overlap` for the full list")
    return lines
