"""The canonical example every adapter produces and every consumer (prompts, rewards, evals) reads.

One record = one problem as a benchmark scores it. Images are references decoded on use, so a large
dataset costs memory only for the images being looked at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal

AnswerKind = Literal["choice", "integer", "float", "expression", "list", "text"]
ANSWER_KINDS: tuple[str, ...] = ("choice", "integer", "float", "expression", "list", "text")
IMAGE_PLACEHOLDER = "<image>"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_IMAGE_PIXELS = 89_478_485
"""Images with more pixels are refused before decoding (PIL's own decompression-bomb threshold)."""
MAX_ASPECT_RATIO = 200
"""Qwen-VL processors (smart_resize) refuse images whose long side is more than 200x the short one."""


class DataError(ValueError):
    """A record or file that cannot be turned into a canonical example. The message names the culprit."""


@dataclass(frozen=True)
class ImageRef:
    """A lazily decoded image: a file path, or encoded bytes (PNG/JPEG as stored in parquet).

    `origin` names where it came from (file path, or `parquet_file:row`) for error messages.
    """

    path: str | None = None
    data: bytes | None = None
    origin: str = ""

    def load(self):
        """Decode to an RGB `PIL.Image.Image`; raises DataError naming the file on any failure."""
        from PIL import Image, UnidentifiedImageError

        where = self.origin or self.path or "<bytes>"
        try:
            if self.data is not None:
                img = Image.open(io.BytesIO(self.data))
            elif self.path is not None:
                img = Image.open(self.path)
            else:
                raise DataError(f"image reference with neither path nor bytes ({where})")
            check_image_size(img.width, img.height, where)  # from the header, before decoding any pixel
            img.load()
            return img.convert("RGB")
        except DataError:
            raise
        except FileNotFoundError as e:
            raise DataError(f"image file not found: {where}") from e
        except Image.DecompressionBombError as e:
            raise DataError(f"image too large: {where} ({e})") from e
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise DataError(f"unreadable or corrupt image: {where} ({e})") from e
        except Exception as e:  # a hostile file must never take a run down: name it instead
            raise DataError(f"unreadable or corrupt image: {where} ({type(e).__name__}: {e})") from e


def check_image_size(width: int, height: int, where: str) -> None:
    """DataError naming `where` for an image the processor cannot take (too many pixels, extreme shape)."""
    if width < 1 or height < 1:
        raise DataError(f"image has no pixels ({width}x{height}): {where}")
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"image too large: {where} is {width}x{height} = {width * height} pixels, over the limit "
                        f"of {MAX_IMAGE_PIXELS} (downscale it)")
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise DataError(f"image aspect ratio too extreme: {where} is {width}x{height}; the Qwen-VL processor needs "
                        f"long side / short side <= {MAX_ASPECT_RATIO} (crop or pad it)")


@dataclass
class Example:
    """One canonical image-text problem.

    Attributes:
        id: the benchmark's own problem id as a string (MathVista `pid`, MathVision `id`, ...); stable
            and unique within (source, split). We-Math rows use `ID` + `key` so that rows stay distinct.
        source: adapter name that produced it (`geometry3k`, `mathvista`, `synthgeo`, ...).
        split: split name (`train`, `test`, `testmini`, ...).
        question: question text with one `<image>` placeholder per image, in order.
        answer: gold answer as text, as the benchmark grades it. For choice questions with known option
            texts this is the gold option TEXT; `gold_letter` holds its letter.
        answer_kind: one of ANSWER_KINDS.
        choices: option texts in letter order (A, B, ...) or None.
        gold_letter: letter of the gold option for choice questions, else None.
        precision: decimal places for float answers (MathVista), else None.
        unit: unit string the benchmark attaches (MathVista), else None.
        images: lazily decoded images, one per placeholder.
        metadata: benchmark fields needed for scoring and subset reports (task, skills, level, subject,
            problem_version, We-Math `ID`/`key`, difficulty for synthgeo, ...). JSON-serialisable.
    """

    id: str
    source: str
    split: str
    question: str
    answer: str
    answer_kind: AnswerKind = "text"
    choices: list[str] | None = None
    gold_letter: str | None = None
    precision: int | None = None
    unit: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        """Globally unique key: `source/split/id`."""
        return f"{self.source}/{self.split}/{self.id}"

    def load_images(self) -> list:
        """Decode every image (PIL RGB). Raises DataError naming this record and the file."""
        out = []
        for ref in self.images:
            try:
                out.append(ref.load())
            except DataError as e:
                raise DataError(f"record {self.uid}: {e}") from e
        return out
