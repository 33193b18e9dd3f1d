"""Building blocks every adapter shares: image values -> ImageRef, answer kinds, per-record guarding.

Adapters turn upstream rows into `Example`s; one bad row must become a `RecordError` (id + reason) so
that the registry can apply the fail/skip policy, never vanish.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from data_zoo.example import IMAGE_PLACEHOLDER, LETTERS, DataError, Example, ImageRef

_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class RecordError:
    """One record that could not be converted: its id (or row number) and a reason naming the file."""

    record_id: str
    reason: str


def image_ref(value: Any, origin: str, root: str | os.PathLike | None = None) -> ImageRef:
    """Turn one upstream image value into a lazy ImageRef.

    Accepts a HF image struct `{"bytes": b, "path": p}`, raw bytes, or a path string (resolved against
    `root` when relative). Raises DataError naming `origin` for anything else or an empty value.
    """
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return ImageRef(data=bytes(data), origin=f"{origin} ({path})" if path else origin)
        if path:
            value = path
        else:
            raise DataError(f"empty image struct (no bytes, no path) at {origin}")
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not value:
            raise DataError(f"empty image bytes at {origin}")
        return ImageRef(data=bytes(value), origin=origin)
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if not text:
            raise DataError(f"empty image path at {origin}")
        path = text if os.path.isabs(text) or root is None else os.path.join(os.fspath(root), text)
        return ImageRef(path=os.path.normpath(path), origin=os.path.normpath(path))
    raise DataError(f"unsupported image value of type {type(value).__name__} at {origin}")


def infer_answer_kind(answer: str) -> str:
    """`integer` / `float` for plain numbers, `list` for `[...]`, `expression` for LaTeX or math, else `text`."""
    text = answer.strip()
    if _INT_RE.match(text):
        return "integer"
    if _FLOAT_RE.match(text):
        return "float"
    if text.startswith("[") and text.endswith("]"):
        return "list"
    if any(ch in text for ch in "\\^/=°√π") or re.search(r"\d", text):
        return "expression"
    return "text"


def letter_choice(letter: str, choices: list[str] | None, where: str) -> tuple[str, str]:
    """(gold option text, letter) for a gold letter; the text is the letter itself when choices are unknown."""
    letter = letter.strip().upper()
    if len(letter) != 1 or letter not in LETTERS:
        raise DataError(f"gold answer {letter!r} is not an option letter ({where})")
    if choices is None:
        return letter, letter
    idx = LETTERS.index(letter)
    if idx >= len(choices):
        raise DataError(f"gold letter {letter} but only {len(choices)} choices ({where})")
    return choices[idx], letter


def require(row: dict, key: str, where: str) -> Any:
    """row[key], or a DataError naming the missing field and the record."""
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip() and key != "image"):
        raise DataError(f"missing field {key!r} in {where}")
    return value


def guarded(rows: Iterable[Any], convert: Callable[[Any], Example], id_of: Callable[[Any, int], str]
            ) -> Iterator[Example | RecordError]:
    """Apply `convert` to each row; a row that raises becomes a RecordError carrying its id and reason."""
    for i, row in enumerate(rows):
        try:
            yield convert(row)
        except (DataError, KeyError, TypeError, ValueError, AttributeError) as e:
            try:
                rid = id_of(row, i)
            except Exception:  # the id itself is the broken field: fall back to the row number
                rid = f"row {i}"
            reason = str(e) if isinstance(e, DataError) else f"{type(e).__name__}: {e}"
            yield RecordError(str(rid), reason)


def resolve_image_path(rel: str, bases: list) -> str:
    """The first base folder in which relative path `rel` exists; else its path under the first base
    where its folder exists, else under the first base.

    Upstream releases disagree on what image paths are relative to (the JSON's folder or the repo root),
    so every candidate is tried; the fallback keeps the error message pointing at a concrete file.
    """
    if os.path.isabs(rel):
        return rel
    for base in bases:
        candidate = os.path.join(os.fspath(base), rel)
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    # Missing file: name it where its folder exists (DIR/images/95.jpg, not DIR/data/images/95.jpg).
    for base in bases:
        candidate = os.path.join(os.fspath(base), rel)
        if os.path.isdir(os.path.dirname(candidate)):
            return os.path.normpath(candidate)
    return os.path.normpath(os.path.join(os.fspath(bases[0]), rel))


def origin_of(row: dict, fallback: str) -> str:
    """`file:row` for rows read from parquet / the hub, else the fallback (usually the JSON file)."""
    return f"{row['_file']}:{row['_row']}" if "_file" in row else fallback


def prefix_placeholders(question: str, n_images: int) -> str:
    """Put one `<image>` per image in front of a question that has none (upstream formats omit them)."""
    if IMAGE_PLACEHOLDER in question:
        return question
    return IMAGE_PLACEHOLDER * n_images + question


def row_image(row: dict, keys: tuple[str, ...], bases: list, where: str) -> ImageRef:
    """The image of a row: the first of `keys` holding an image struct / bytes, else a relative path.

    Hub parquet rows carry both a struct (`decoded_image`) and the original path string (`image`), the
    GitHub JSON only the path; the struct wins because the path is relative to a folder we may not have.
    """
    paths = []
    for key in keys:
        value = row.get(key)
        if isinstance(value, (dict, bytes, bytearray)) and (not isinstance(value, dict) or any(value.values())):
            return image_ref(value, where)
        if isinstance(value, str) and value:
            paths.append(value)
    if not paths:
        raise DataError(f"missing image (fields {list(keys)}) in {where}")
    if not bases:
        raise DataError(f"image {paths[0]!r} is a relative path but no folder is known ({where})")
    return image_ref(resolve_image_path(paths[0], bases), where)
