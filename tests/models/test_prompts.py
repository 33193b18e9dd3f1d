import pytest

MATH_SUFFIX = (" You FIRST think about the reasoning process as an internal monologue and then provide the final "
               "answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final answer "
               "MUST BE put in \\boxed{}.")
BUDGET = dict(min_pixels=16 * 28 * 28, max_pixels=64 * 28 * 28)


def test_math_template_and_image_positions(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import ImageBudget, build_prompt

    _, processor = tiny_policy
    p = build_prompt(synthetic_examples[0], processor, image_budget=ImageBudget(**BUDGET))
    assert p.uid == "synthetic/train/1"
    assert p.text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                      "<|vision_start|><|image_pad|><|vision_end|>Find x in the triangle." + MATH_SUFFIX +
                      "<|im_end|>\n<|im_start|>assistant\n")
    # 150x100 -> smart_resize(factor 28, >= 16 tokens) -> 140x112 = 5x4 merged tokens = 20 image tokens.
    assert [im.size for im in p.images] == [(140, 112)]
    assert p.inputs["image_grid_thw"].tolist() == [[1, 8, 10]]
    assert int((p.inputs["input_ids"] == processor.image_token_id).sum()) == 20
    assert p.num_prompt_tokens == p.inputs["input_ids"].shape[1] == p.inputs["mm_token_type_ids"].shape[1]


def test_two_placeholders_choices_and_r1v(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import ImageBudget, build_prompt

    _, processor = tiny_policy
    p = build_prompt(synthetic_examples[1], processor, template="r1v", image_budget=ImageBudget(**BUDGET))
    user = p.text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]
    assert user == ("Compare <|vision_start|><|image_pad|><|vision_end|> and <|vision_start|><|image_pad|>"
                    "<|vision_end|>. Which is larger?\nChoices: (A) left (B) right Output the thinking process "
                    "in <think> </think> and final answer in <answer> </answer> tags.")
    assert p.inputs["image_grid_thw"].tolist() == [[1, 8, 8], [1, 16, 16]]


def test_images_first_without_placeholder_and_direct(tiny_policy, synthetic_examples):
    from data_zoo.example import Example
    from uec_vlm.prompts import build_prompt

    _, processor = tiny_policy
    ex = synthetic_examples[0]
    no_ph = Example(id="9", source="s", split="t", question="Find x.", answer="1", images=ex.images)
    p = build_prompt(no_ph, processor, template="direct")
    user = p.text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]
    assert user == ("<|vision_start|><|image_pad|><|vision_end|>Find x.\n"
                    "Answer the question directly with a single number, word, letter or expression.")


def test_placeholder_count_mismatch_names_record(tiny_policy, synthetic_examples):
    from data_zoo.example import DataError, Example
    from uec_vlm.prompts import build_prompt

    _, processor = tiny_policy
    bad = Example(id="7", source="s", split="t", question="<image> and <image>", answer="1",
                  images=synthetic_examples[0].images)
    with pytest.raises(DataError, match="record s/t/7: question has 2 <image> placeholders but 1 images"):
        build_prompt(bad, processor)


def test_budget_beyond_processor_default_is_kept(tiny_policy, synthetic_examples):
    """Our budget (256 tokens) exceeds the tiny processor's default (64): the image is resized only once."""
    from uec_vlm.prompts import ImageBudget, build_prompt

    _, processor = tiny_policy
    big = ImageBudget(min_pixels=256 * 28 * 28, max_pixels=256 * 28 * 28)
    p = build_prompt(synthetic_examples[1], processor, image_budget=big)
    assert [im.size for im in p.images] == [(448, 448), (448, 448)]
    assert int((p.inputs["input_ids"] == processor.image_token_id).sum()) == 512


def test_too_long_prompts_raise_and_filter(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import ImageBudget, PromptTooLong, build_prompt, build_prompts

    _, processor = tiny_policy
    budget = ImageBudget(**BUDGET)
    lengths = [build_prompt(e, processor, image_budget=budget).num_prompt_tokens for e in synthetic_examples]
    limit = sorted(lengths)[1]
    longest = synthetic_examples[lengths.index(max(lengths))]
    with pytest.raises(PromptTooLong, match=f"prompt for {longest.uid} has {max(lengths)} tokens"):
        build_prompt(longest, processor, image_budget=budget, max_prompt_length=limit)
    kept, dropped = build_prompts(synthetic_examples, processor, image_budget=budget, max_prompt_length=limit)
    assert dropped == [longest.uid]
    assert [p.uid for p in kept] == [e.uid for e in synthetic_examples if e.uid != longest.uid]


def test_user_template_file(tmp_path, tiny_policy, synthetic_examples):
    from uec_vlm.prompts import render_question

    path = tmp_path / "mine.jinja"
    path.write_text("Q: {{ question }} ({{ example.answer_kind }})")
    assert render_question(synthetic_examples[2], str(path)) == "Q: What is 6 * 7? (integer)"
    with pytest.raises(ValueError, match="prompt template 'nope' not found"):
        render_question(synthetic_examples[2], "nope")


def test_resize_image_rounds_to_factor():
    from PIL import Image

    from uec_vlm.prompts import ImageBudget, resize_image

    out = resize_image(Image.new("RGB", (1000, 500)), ImageBudget(min_pixels=4 * 28 * 28, max_pixels=100 * 28 * 28),
                       28)
    # beta = sqrt(500000 / 78400) = 2.525..; floor(1000/beta/28)*28 = 392, floor(500/beta/28)*28 = 196
    assert out.size == (392, 196)
