"""The one prompt builder: Example -> chat-rendered, processor-encoded prompt, shared by rollout and eval.

Templates are jinja files (`uec_vlm/templates/<name>.jinja`, or any path to a `.jinja` file). A template
sees `question` (with its `<image>` placeholders), `choices`, `letters` and `example`. The rendered text is
split at the placeholders into the model's chat content, so images land where the question put them (or
first, when it has none) and the model's own chat template renders the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from data_zoo.example import IMAGE_PLACEHOLDER, LETTERS, DataError, Example
from uec_vlm.config import ConfigError

TEMPLATE_DIR = Path(__file__).parent / "templates"
BUILTIN_TEMPLATES: tuple[str, ...] = ("math", "r1v", "direct")


class PromptTooLong(ValueError):
    """A prompt whose token count (image tokens included) exceeds max_prompt_length."""

    def __init__(self, uid: str, num_tokens: int, limit: int, *, at_least: bool = False):
        count = f"at least {num_tokens} tokens (counted before tokenizing)" if at_least else \
            f"{num_tokens} tokens (image tokens included)"
        super().__init__(f"prompt for {uid} has {count} > max {limit}")
        self.uid, self.num_tokens, self.limit = uid, num_tokens, limit


@dataclass(frozen=True)
class ImageBudget:
    """Every image is resized once so that min_pixels <= height * width <= max_pixels (Qwen-VL rule)."""

    min_pixels: int = 56 * 56
    max_pixels: int = 1280 * 28 * 28

    def __post_init__(self):
        if not 0 < self.min_pixels <= self.max_pixels:
            raise ValueError(f"image budget needs 0 < min_pixels <= max_pixels, got {self}")


@dataclass
class PromptInputs:
    """One encoded prompt.

    `inputs` holds processor tensors for this single prompt: input_ids / attention_mask / mm_token_type_ids
    [1, L]; pixel_values [num_patches, C*T*P*P] and image_grid_thw [num_images, 3] when it has images.
    """

    uid: str
    text: str
    inputs: dict[str, Any]
    num_prompt_tokens: int
    images: list = field(default_factory=list)


def with_pixel_values(prompt: PromptInputs, transform) -> PromptInputs:
    """A copy of `prompt` whose `pixel_values` are `transform(pixel_values)` (NoisyRollout's noise, PAPO's
    mask); the prompt itself when it has no image."""
    if "pixel_values" not in prompt.inputs:
        return prompt
    from dataclasses import replace

    return replace(prompt, inputs={**prompt.inputs, "pixel_values": transform(prompt.inputs["pixel_values"])})


def image_factor(processor) -> int:
    """Pixel side of one merged image token (patch_size * merge_size, 28 for Qwen2/2.5-VL, 32 for Qwen3-VL)."""
    ip = processor.image_processor
    return int(ip.patch_size) * int(ip.merge_size)


def resize_image(image, budget: ImageBudget, factor: int):
    """Resize a PIL image to qwen_vl_utils' smart_resize size (multiples of `factor`, within `budget`)."""
    from PIL import Image
    from qwen_vl_utils import smart_resize

    h, w = smart_resize(image.height, image.width, factor, budget.min_pixels, budget.max_pixels)
    if (h, w) == (image.height, image.width):
        return image
    return image.resize((w, h), Image.BICUBIC)


@lru_cache(maxsize=32)
def _load_template(name: str):
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    path = Path(name) if name.endswith(".jinja") else TEMPLATE_DIR / f"{name}.jinja"
    if not path.is_file():
        raise ConfigError(
            f"prompt template {name!r} not found: use one of {', '.join(BUILTIN_TEMPLATES)} or a path to a "
            f".jinja file"
        )
    # Includes resolve against the template's own folder first, then the built-ins (for _choices.jinja).
    loader = jinja2.FileSystemLoader([str(path.parent), str(TEMPLATE_DIR)])
    # A template file is data, not code: the sandbox refuses attribute paths to Python internals
    # (`cycler.__init__.__globals__.os`) and any call that mutates an object.
    env = ImmutableSandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return env.get_template(path.name)
    except jinja2.TemplateError as e:
        raise ConfigError(f"prompt template {path}: {type(e).__name__}: {e}") from e


def check_template(name: str) -> None:
    """Load and compile template `name` (ConfigError naming it when missing or malformed)."""
    _load_template(name)


def render_question(example: Example, template: str = "math") -> str:
    """The user-turn text for `example` under `template`, `<image>` placeholders kept in place.

    Raises ConfigError naming the template when it tries something the sandbox forbids or fails to render.
    """
    import jinja2

    try:
        return _load_template(template).render(
            question=example.question, choices=example.choices, letters=LETTERS, example=example
        )
    except jinja2.exceptions.SecurityError as e:
        raise ConfigError(f"prompt.template={template!r} refused by the sandbox (templates may not reach Python internals): {e}") from e
    except jinja2.TemplateError as e:
        raise ConfigError(f"prompt.template={template!r} failed on {example.uid}: {type(e).__name__}: {e}") from e


def chat_content(text: str, num_images: int, uid: str) -> list[dict]:
    """Split text at `<image>` placeholders into chat content items; images first if there are none."""
    parts = text.split(IMAGE_PLACEHOLDER)
    if len(parts) == 1:
        return [{"type": "image"}] * num_images + [{"type": "text", "text": text}]
    if len(parts) - 1 != num_images:
        raise DataError(f"record {uid}: question has {len(parts) - 1} {IMAGE_PLACEHOLDER} placeholders "
                        f"but {num_images} images")
    content: list[dict] = []
    for i, part in enumerate(parts):
        if i:
            content.append({"type": "image"})
        if part.strip():
            content.append({"type": "text", "text": part})
    return content


@lru_cache(maxsize=8)
def _longest_token_chars(tokenizer) -> int:
    """Characters in the tokenizer's longest vocabulary entry: no token covers more text than this."""
    return max(1, max(map(len, tokenizer.get_vocab())))


def _reject_by_length(uid: str, text: str, processor, limit: int) -> None:
    """PromptTooLong, without tokenizing, for text that needs more than `limit` tokens whatever it says.

    A byte-level BPE vocabulary entry spells each byte with one character, so a token covers at most
    `_longest_token_chars` characters of text: a 20 MB question is refused in microseconds instead of
    minutes and gigabytes of tokenization.
    """
    per_token = _longest_token_chars(processor.tokenizer)
    if len(text) > limit * per_token:
        raise PromptTooLong(uid, -(-len(text) // per_token), limit, at_least=True)


def build_prompt(
    example: Example,
    processor,
    *,
    template: str = "math",
    image_budget: ImageBudget | None = None,
    max_prompt_length: int | None = None,
) -> PromptInputs:
    """Render, resize images once, and encode one example. Raises PromptTooLong / DataError naming it."""
    budget = image_budget or ImageBudget()
    question = render_question(example, template)
    if max_prompt_length is not None:
        _reject_by_length(example.uid, question, processor, max_prompt_length)
    images = []
    for k, im in enumerate(example.load_images()):
        try:
            images.append(resize_image(im, budget, image_factor(processor)))
        except ValueError as e:  # qwen_vl_utils refuses extreme aspect ratios
            raise DataError(f"record {example.uid}: image {k} ({im.width}x{im.height}) cannot be resized: {e}") from e
    content = chat_content(question, len(images), example.uid)
    text = processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
    # The processor resizes again with its own budget; passing ours makes that second resize the identity.
    size = {"shortest_edge": budget.min_pixels, "longest_edge": budget.max_pixels}
    kwargs = {"images": images, "images_kwargs": {"size": size}} if images else {}
    encoded = processor(text=[text], return_tensors="pt", **kwargs)
    inputs = dict(encoded)
    num_tokens = int(inputs["input_ids"].shape[1])
    if max_prompt_length is not None and num_tokens > max_prompt_length:
        raise PromptTooLong(example.uid, num_tokens, max_prompt_length)
    return PromptInputs(uid=example.uid, text=text, inputs=inputs, num_prompt_tokens=num_tokens, images=images)


def build_prompts(
    examples, processor, *, template: str = "math", image_budget: ImageBudget | None = None,
    max_prompt_length: int | None = None, bad: list[tuple[str, str]] | None = None,
) -> tuple[list[PromptInputs], list[str]]:
    """Encode many examples, filtering the too-long ones: returns (kept prompts, uids dropped).

    bad: when a list is given (data.on_error=skip), an example whose images fail to decode at use is
    skipped and recorded there as (uid, reason) instead of raising DataError.
    """
    kept, dropped = [], []
    for ex in examples:
        try:
            kept.append(build_prompt(ex, processor, template=template, image_budget=image_budget,
                                     max_prompt_length=max_prompt_length))
        except PromptTooLong:
            dropped.append(ex.uid)
        except DataError as e:
            if bad is None:
                raise
            bad.append((ex.uid, str(e)))
    return kept, dropped
