"""Precision and recall of the contamination matcher (`data_zoo.overlap`) on pairs built offline.

Two sets of pairs, written to docs/overlap_precision.json (read by docs/data_zoo.md):
- positives: every real benchmark image in ../shared/real-samples (MathVision testmini, We-Math testmini,
  Geometry3K train; one record per distinct image) against a disguised copy: resized to 55-90 %, JPEG
  re-encoded at quality 70, question prefixed with "Hint: ..." and its punctuation changed (how MathVista
  re-used Geometry3K). A copy matched to its own original is a true positive; to any other record, false.
  Precision = true / all matches among these 110 x 110 pairs; recall = true / 110.
- synthgeo train vs test: disjoint by parameters but not by appearance (template questions, simple
  diagrams that coincide at hash resolution). Reported as how many test items get flagged: the matcher is
  not meant for procedurally generated sets.

    python bench/overlap_precision.py [--shared ../shared] [--out docs/overlap_precision.json]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from pathlib import Path

from data_zoo.example import Example, ImageRef
from data_zoo.overlap import match, signatures
from data_zoo.registry import load_dataset

SETTINGS = [(8, 6, 0.5), (8, 6, 0.7), (8, 10, 0.5), (16, 20, 0.5), (16, 40, 0.5)]


def real_records(shared: Path) -> list[Example]:
    root = shared / "real-samples"
    found: dict[str, Example] = {}
    for spec in (f"mathvision:testmini@{root / 'mathvision'}", f"wemath:testmini@{root / 'wemath'}",
                 f"geometry3k:train@{root / 'geometry3k'}"):
        for ex in load_dataset(spec, on_error="skip"):
            key = ex.images[0].path
            found.setdefault(key, ex)  # one record per distinct image (We-Math steps share pictures)
    return list(found.values())


def disguise(ex: Example, rng: random.Random) -> Example:
    img = ex.images[0].load()
    scale = rng.uniform(0.55, 0.9)
    img = img.resize((max(8, int(img.width * scale)), max(8, int(img.height * scale))))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    q = ex.question.replace("<image>", "").replace("?", " ?").replace(",", " ,")
    return Example(id=f"copy-{ex.uid}", source="copy", split="test", question="<image>Hint: Please answer the question "
                   f"and provide the final answer at the end. Question: {q}", answer=ex.answer,
                   images=[ImageRef(data=buf.getvalue(), origin="copy")])


def run(shared: Path) -> dict:
    rng = random.Random(0)
    originals = real_records(shared)
    copies = [disguise(ex, rng) for ex in originals]
    syn_train = load_dataset("synthgeo:train?n=1000&seed=0")
    syn_test = load_dataset("synthgeo:test?n=300&seed=1")
    out = {"real_images": len(originals), "synthgeo_train": len(syn_train), "synthgeo_test": len(syn_test),
           "settings": []}
    for bits, max_bits, min_text in SETTINGS:
        t0 = time.perf_counter()
        so, sc = signatures(originals, bits), signatures(copies, bits)
        real = match(so, sc, max_bits, min_text)
        syn = match(signatures(syn_train, bits), signatures(syn_test, bits), max_bits, min_text)
        tp = sum(1 for m in real if m.b == f"copy/test/copy-{m.a}")
        fp = len(real) - tp
        out["settings"].append({
            "hash_bits": bits * bits, "max_bits": max_bits, "min_text": min_text, "true_positives": tp,
            "false_positives": fp, "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / len(originals), 4), "synthgeo_test_flagged": len({m.b for m in syn}),
            "seconds": round(time.perf_counter() - t0, 2)})
    return out


def markdown_rows(result: dict) -> list[str]:
    """The rows of the precision table in docs/data_zoo.md (the default setting marked)."""
    rows = []
    for s in result["settings"]:
        default = " (default)" if (s["hash_bits"], s["max_bits"], s["min_text"]) == (64, 6, 0.5) else ""
        rows.append(f"| {s['hash_bits']} | {s['max_bits']} | {s['min_text']}{default} | {s['true_positives']} | "
                    f"{s['false_positives']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['synthgeo_test_flagged']} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    ap.add_argument("--out", default="docs/overlap_precision.json")
    args = ap.parse_args()
    result = run(Path(args.shared))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown_rows(result)))


if __name__ == "__main__":
    main()
