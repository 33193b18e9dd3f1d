import argparse

import pytest


def test_tiny_qwen2_5_vl_roundtrip(tiny_policy):
    model, processor = tiny_policy
    tok = processor.tokenizer
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert tok.padding_side == "left"
    for name in ("<|im_start|>", "<|im_end|>", "<|image_pad|>", "<think>", "</think>", "<answer>"):
        assert len(tok(name, add_special_tokens=False)["input_ids"]) == 1, name
    assert model.config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert model.config.text_config.vocab_size == len(tok)
    # Reasoning tags survive decoding with special tokens skipped; chat markers do not.
    ids = tok("<|im_start|><think> 42 </think> \\boxed{42}<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<think> 42 </think> \\boxed{42}"


def test_tiny_image_token_budget(tiny_policy):
    from PIL import Image

    _, processor = tiny_policy
    text = "<|vision_start|><|image_pad|><|vision_end|>x"
    for side, tokens in ((112, 16), (224, 64)):
        out = processor(text=[text], images=[Image.new("RGB", (side, side))], return_tensors="pt")
        assert int((out["input_ids"] == processor.image_token_id).sum()) == tokens


@pytest.mark.parametrize("arch,cls", [("qwen2_vl", "Qwen2VLForConditionalGeneration"),
                                      ("qwen3_vl", "Qwen3VLForConditionalGeneration")])
def test_make_tiny_model_command_other_archs(tmp_path, arch, cls):
    import transformers

    from uec_vlm.commands import make_tiny_model as cmd
    from uec_vlm.models.loading import load_policy

    if not hasattr(transformers, cls):
        pytest.skip(f"transformers {transformers.__version__} has no {cls}")
    parser = argparse.ArgumentParser()
    cmd.add_arguments(parser)
    args = parser.parse_args([str(tmp_path / arch), "--arch", arch, "--hidden-size", "32", "--num-heads", "2"])
    assert cmd.run(args) == 0
    model, processor = load_policy(tmp_path / arch)
    assert type(model).__name__ == cls
    assert model.config.text_config.hidden_size == 32
    assert processor.tokenizer.padding_side == "left"


def test_make_tiny_model_rejects_unknown_arch(tmp_path):
    from uec_vlm.models.tiny import make_tiny_model

    with pytest.raises(ValueError, match="unknown tiny arch 'llava'"):
        make_tiny_model("llava", tmp_path)
