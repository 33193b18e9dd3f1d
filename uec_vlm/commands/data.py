"""`uec-vlm data list|show|validate|export|overlap`: look at, check, convert and compare datasets."""

from __future__ import annotations

import argparse
import json

HELP = "inspect datasets: list adapters, show / validate / export a spec, find overlap between two specs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", required=True)
    p = sub.add_parser("list", help="registered adapters and what each reads")
    p.add_argument("--markdown", action="store_true", help="print the adapter table of docs/data_zoo.md")
    p.add_argument("--update", metavar="DOC", help="with --markdown: rewrite the generated table inside DOC")
    p.add_argument("--adapter-module", action="append", default=[], help="import this module first (repeatable)")
    p = sub.add_parser("show", help="print records and write their images as PNG")
    p.add_argument("spec")
    p.add_argument("--n", type=int, default=3, help="records to print")
    p.add_argument("--start", type=int, default=0, help="skip this many records first")
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail", help="skip: leave bad records out")
    p.add_argument("--out", default=None, help="also write the records' images as PNG files into this folder")
    p = sub.add_parser("validate", help="report every bad record (exit 1 if any)")
    p.add_argument("spec")
    p.add_argument("--no-images", action="store_true", help="do not decode images (faster, misses corrupt files)")
    p.add_argument("--allow-outside-root", action="store_true",
                   help="accept image paths outside the dataset folder (data.allow_outside_root)")
    p = sub.add_parser("export", help="write the canonical parquet")
    p.add_argument("spec")
    p.add_argument("--to", required=True)
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail")
    p = sub.add_parser("overlap", help="near-duplicate problems: two specs, or a train x eval matrix")
    p.add_argument("specs", nargs="*", metavar="SPEC", help="two specs: list every matching pair")
    p.add_argument("--train", nargs="+", default=[], metavar="SPEC", help="training specs (matrix rows)")
    p.add_argument("--eval", nargs="+", default=[], metavar="SPEC", help="evaluation specs (matrix columns)")
    p.add_argument("--examples", type=int, default=3, help="matching pairs shown per cell of the matrix")
    p.add_argument("--json", metavar="OUT", help="also write the matrix (counts and examples) as JSON")
    p.add_argument("--max-bits", type=int, default=6, help="image hash distance (of 64 bits) still a match")
    p.add_argument("--min-text", type=float, default=0.5, help="word Jaccard of normalised questions")
    for name in ("show", "validate", "export", "overlap"):
        sub.choices[name].add_argument("--adapter-module", action="append", default=[])


def _summary(ex) -> dict:
    return {"uid": ex.uid, "question": ex.question, "answer": ex.answer, "answer_kind": ex.answer_kind,
            "choices": ex.choices, "gold_letter": ex.gold_letter, "precision": ex.precision, "unit": ex.unit,
            "metadata": ex.metadata}


def _overlap(args: argparse.Namespace, mods: list[str]) -> int:
    from data_zoo.example import DataError
    from data_zoo.overlap import find_overlap, overlap_matrix
    from data_zoo.registry import load_dataset

    if not args.train and not args.eval:
        if len(args.specs) != 2:
            raise DataError("data overlap takes two specs, or --train SPEC... --eval SPEC... for a matrix")
        a, b = (load_dataset(s, adapter_modules=mods) for s in args.specs)
        matches = find_overlap(a, b, args.max_bits, args.min_text)
        for m in matches:
            print(f"{m.a}\t{m.b}\timage_bits={m.image_bits}\ttext={m.text_similarity}")
        print(f"{len({m.a for m in matches})} of {len(a)} records in {args.specs[0]} overlap {args.specs[1]}")
        return 0
    if args.specs or not args.train or not args.eval:
        raise DataError("a matrix needs --train SPEC... and --eval SPEC... (and no positional specs)")
    trains = {s: load_dataset(s, adapter_modules=mods) for s in args.train}
    evals = {s: load_dataset(s, adapter_modules=mods) for s in args.eval}
    cells = overlap_matrix(trains, evals, args.max_bits, args.min_text, args.examples)
    by = {(c["train"], c["eval"]): c for c in cells}
    rows = [["train \\ eval"] + list(evals)]
    rows += [[t] + [f"{by[t, e]['eval_matched']}/{by[t, e]['eval_size']} ({by[t, e]['eval_fraction']:.1%})"
                    for e in evals] for t in trains]
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print("cells: evaluation records matched by some training record / evaluation records")
    for c in cells:
        for m in c["examples"]:
            print(f"  {c['train']} x {c['eval']}: {m['a']} ~ {m['b']} (image_bits={m['image_bits']}, "
                  f"text={m['text_similarity']})")
    if args.json:
        from pathlib import Path

        Path(args.json).write_text(json.dumps(cells, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _validate(spec: str, mods: list[str], *, check_images: bool, allow_outside_root: bool) -> int:
    """Every check a run would meet later, on every record; exit 0 (all good), 1 (bad records) or 2 (the
    dataset cannot be read at all). Never raises: whatever goes wrong is printed naming spec and record."""
    from collections import Counter

    from data_zoo.example import DataError
    from data_zoo.registry import load_dataset, reason_kind
    from uec_vlm.rewards.graders import check_gold

    try:
        ds = load_dataset(spec, on_error="skip", adapter_modules=mods, check_images=check_images,
                          allow_outside_root=allow_outside_root, gold_check=check_gold)
    except DataError as e:
        print(f"error: {e}")
        return 2
    except Exception as e:  # validation must report, not crash, whatever the files hold
        print(f"error: {spec}: {type(e).__name__}: {e}")
        return 2
    for rid, reason in ds.skipped:
        print(f"BAD {rid}: {reason}")
    kinds = Counter(reason_kind(reason) for _, reason in ds.skipped)
    for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {count:6d}  {kind}")
    print(f"{len(ds)} good, {len(ds.skipped)} bad records in {spec}")
    return 1 if ds.skipped else 0


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from data_zoo.example import DataError
    from data_zoo.registry import adapters, load_dataset

    mods = args.adapter_module
    try:
        if args.data_command == "list":
            if args.markdown:
                from data_zoo.catalogue import catalogue, markdown_table, update_doc

                table = markdown_table(catalogue(mods))
                if args.update:
                    print(f"{args.update}: {'updated' if update_doc(args.update, table) else 'already up to date'}")
                else:
                    print(table)
                return 0
            for name, ad in sorted(adapters(mods).items()):
                splits = ",".join(ad.splits) or "any"
                hub = f" hub={ad.hub_id}" if ad.hub_id else ""
                use = f" use={ad.role}" if ad.role else ""
                print(f"{name:12s} splits={splits}{hub}{use}\n             needs: {ad.needs}")
            return 0
        if args.data_command == "show":
            ds = load_dataset(args.spec, on_error=args.on_error, adapter_modules=mods)
            out = Path(args.out) if args.out else None
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
            for ex in list(ds)[args.start: args.start + args.n]:
                files = []
                for k, img in enumerate(ex.load_images() if out is not None else []):
                    f = out / f"{ex.uid.replace('/', '_')}_{k}.png"
                    img.save(f)
                    files.append(str(f))
                print(json.dumps(dict(_summary(ex), images=len(ex.images), image_files=files), ensure_ascii=False,
                                 indent=1))
            if ds.skipped:
                print(f"{len(ds.skipped)} bad records skipped (uec-vlm data validate {args.spec} lists them)")
            if out is None:
                print("images not written (use --out DIR to write them as PNG files)")
            return 0
        if args.data_command == "validate":
            return _validate(args.spec, mods, check_images=not args.no_images,
                             allow_outside_root=args.allow_outside_root)
        if args.data_command == "export":
            from data_zoo.canonical import export_parquet

            ds = load_dataset(args.spec, on_error=args.on_error, adapter_modules=mods)
            n = export_parquet(ds, args.to)
            print(f"wrote {n} records to {args.to} ({len(ds.skipped)} skipped)")
            return 0
        if args.data_command == "overlap":
            return _overlap(args, mods)
    except DataError as e:
        print(f"error: {e}")
        return 1
    raise ValueError(f"unknown data command {args.data_command!r}")
