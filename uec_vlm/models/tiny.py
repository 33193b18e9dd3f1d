"""Random-initialised tiny Qwen-VL models for tests, demos and CPU smoke runs.

A tiny model is a real checkpoint directory: stock config class, stock processor, a byte-level BPE tokenizer
trained locally on a built-in corpus, the Qwen-VL chat template. It is written with `save_pretrained` and
read back by `uec_vlm.models.loading.load_policy`, the code path real checkpoints take.
"""

from __future__ import annotations

import json
from pathlib import Path

ARCHS: tuple[str, ...] = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

# Qwen's own special tokens, in Qwen's order, so ids of structural tokens keep their usual relative layout.
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Reasoning tags are single (non-special) tokens so that a tiny model learns the format in few steps and
# `skip_special_tokens=True` still keeps them in decoded text.
TAG_TOKENS: tuple[str, ...] = ("<think>", "</think>", "<answer>", "</answer>")

# The stock Qwen2-VL / Qwen2.5-VL chat template (as shipped with the Instruct checkpoints).
QWEN_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS_LINES = (
    "You are a helpful assistant.",
    "You FIRST think about the reasoning process as an internal monologue and then provide the final answer.",
    "The reasoning process MUST BE enclosed within <think> </think> tags.",
    "The final answer MUST BE put in \\boxed{}.",
    "The final answer MUST BE enclosed within <answer> </answer> tags.",
    "Answer the question with a single number or expression.",
    "<think> The angle sum of a triangle is 180 degrees, so x = 180 - 60 - 70 = 50. </think> \\boxed{50}",
    "<think> The area of the rectangle is 6 * 7 = 42. </think> \\boxed{42}",
    "<think> By the Pythagorean theorem the hypotenuse is \\sqrt{3^2 + 4^2} = 5. </think> <answer>5</answer>",
    "Find the area of the circle with radius r = 2. The answer is \\pi r^2 = 4\\pi. \\boxed{4\\pi}",
    "In triangle ABC, AB = AC and angle A = 40. Find angle B. \\boxed{70}",
    "What is the perimeter of the square with side 9? \\boxed{36}",
    "Choices: (A) 30 (B) 45 (C) 60 (D) 90. The correct option is \\boxed{C}.",
    "Compute \\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}. The length of segment AB is 12 cm.",
    "line parallel perpendicular radius diameter chord tangent polygon quadrilateral parallelogram",
    "triangle circle square rectangle angle degree area perimeter volume length width height",
    "point segment vertex edge midpoint bisector median altitude hypotenuse congruent similar",
    "Question: How many shapes are in the image? Hint: count them. Answer: 3",
    "<image> Based on the image, find the value of x. The figure shows a triangle.",
    "system user assistant system user assistant",
)


def _corpus() -> list[str]:
    digits = [" ".join(str(i) for i in range(start, start + 50)) for start in range(0, 1000, 50)]
    arithmetic = [f"{a} + {b} = {a + b}, {a} * {b} = {a * b}" for a in range(0, 30, 3) for b in range(1, 20, 4)]
    return list(_CORPUS_LINES) * 20 + digits + arithmetic


def build_tokenizer(vocab_size: int = 1024):
    """Train a byte-level BPE (Qwen2 pre-tokeniser) on the built-in corpus and wrap it as a Qwen2Tokenizer.

    Special tokens are appended after the learned vocabulary; the result pads on the left (set in the
    constructor so it survives save/load).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    model_state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model_state["merges"]]
    tok = Qwen2Tokenizer(
        vocab=model_state["vocab"],
        merges=merges,
        padding_side="left",
        extra_special_tokens={
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_bos_token": "<|vision_start|>",
            "vision_eos_token": "<|vision_end|>",
        },
    )
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    tok.chat_template = QWEN_VL_CHAT_TEMPLATE
    return tok


def _configs(arch: str, vocab: int, hidden: int, layers: int, heads: int, vision_depth: int, tok) -> object:
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig

    head_dim = hidden // heads
    if head_dim % 8:
        raise ValueError(f"hidden_size/num_heads = {head_dim} must be a multiple of 8 (M-RoPE sections)")
    half = head_dim // 2
    # Qwen's real split is 16/24/24 of 64; keep the same proportions at any head size.
    t_sec = half // 4
    mrope = [t_sec, (half - t_sec) // 2, half - t_sec - (half - t_sec) // 2]
    ids = {
        "image_token_id": tok.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tok.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tok.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tok.convert_tokens_to_ids("<|vision_end|>"),
    }
    text = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": hidden * 2,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 2),
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
        "bos_token_id": tok.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tok.convert_tokens_to_ids("<|im_end|>"),
        "pad_token_id": tok.pad_token_id,
    }
    vis_hidden, vis_heads = 32, 2
    if arch == "qwen2_vl":
        vision = {"depth": vision_depth, "embed_dim": vis_hidden, "hidden_size": hidden, "mlp_ratio": 2,
                  "num_heads": vis_heads}
        return Qwen2VLConfig(text_config=text, vision_config=vision, **ids)
    if arch == "qwen2_5_vl":
        vision = {"depth": vision_depth, "hidden_size": vis_hidden, "intermediate_size": vis_hidden * 2,
                  "num_heads": vis_heads, "out_hidden_size": hidden, "window_size": 56,
                  "fullatt_block_indexes": [vision_depth - 1]}
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids)
    if arch == "qwen3_vl":
        from transformers import Qwen3VLConfig

        text = dict(text, head_dim=head_dim)
        text["rope_parameters"] = dict(text["rope_parameters"], mrope_interleaved=True)
        vision = {"depth": vision_depth, "hidden_size": vis_hidden, "intermediate_size": vis_hidden * 2,
                  "num_heads": vis_heads, "out_hidden_size": hidden, "num_position_embeddings": 64,
                  "deepstack_visual_indexes": [vision_depth - 1]}
        return Qwen3VLConfig(text_config=text, vision_config=vision, **ids)
    raise ValueError(f"unknown tiny arch {arch!r}; choose one of {', '.join(ARCHS)}")


def _processor(arch: str, tok, min_image_tokens: int, max_image_tokens: int):
    from transformers import Qwen2VLImageProcessor

    patch = 16 if arch == "qwen3_vl" else 14
    unit = (patch * 2) ** 2  # pixels covered by one merged (2x2 patch) image token
    size = {"shortest_edge": min_image_tokens * unit, "longest_edge": max_image_tokens * unit}
    image_processor = Qwen2VLImageProcessor(size=size, patch_size=patch)
    if arch == "qwen2_vl":
        from transformers import Qwen2VLProcessor, Qwen2VLVideoProcessor

        video = Qwen2VLVideoProcessor(size=size)
        return Qwen2VLProcessor(image_processor=image_processor, tokenizer=tok, video_processor=video,
                                chat_template=QWEN_VL_CHAT_TEMPLATE)
    if arch == "qwen2_5_vl":
        from transformers import Qwen2_5_VLProcessor, Qwen2VLVideoProcessor

        video = Qwen2VLVideoProcessor(size=size)
        return Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tok, video_processor=video,
                                   chat_template=QWEN_VL_CHAT_TEMPLATE)
    from transformers import Qwen3VLProcessor, Qwen3VLVideoProcessor

    video = Qwen3VLVideoProcessor(size=size, patch_size=patch)
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=tok, video_processor=video,
                            chat_template=QWEN_VL_CHAT_TEMPLATE)


def make_tiny_model(
    arch: str = "qwen2_5_vl",
    out_dir: str | Path = "tiny-model",
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    vision_depth: int = 1,
    vocab_size: int = 1024,
    min_image_tokens: int = 4,
    max_image_tokens: int = 64,
    seed: int = 0,
) -> Path:
    """Build, randomly initialise and save a tiny `arch` model + processor into `out_dir`; return the path.

    Image budget: a 112 px square image becomes 16 image tokens, 224 px 64 tokens (the processor's
    default min/max pixels are `min_image_tokens`/`max_image_tokens` merged patches).
    """
    import torch
    from transformers import AutoModelForImageTextToText

    if arch not in ARCHS:
        raise ValueError(f"unknown tiny arch {arch!r}; choose one of {', '.join(ARCHS)}")
    out = Path(out_dir)
    tok = build_tokenizer(vocab_size)
    config = _configs(arch, len(tok), hidden_size, num_layers, num_heads, vision_depth, tok)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id]
    model.generation_config.eos_token_id = sorted(set(model.generation_config.eos_token_id))
    model.generation_config.pad_token_id = tok.pad_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    _processor(arch, tok, min_image_tokens, max_image_tokens).save_pretrained(out)
    return out
