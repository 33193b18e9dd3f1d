import pytest


def test_missing_local_dir_names_config_key(tmp_path):
    from uec_vlm.models.loading import ModelLoadError, load_policy

    with pytest.raises(ModelLoadError, match="model.path: directory .*nope.* does not exist"):
        load_policy(str(tmp_path / "nope"))


def test_offline_hub_id_says_what_to_download(monkeypatch):
    import huggingface_hub.constants

    from uec_vlm.models.loading import ModelLoadError, load_policy

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError) as err:
        load_policy("Qwen/Qwen2.5-VL-3B-Instruct")
    msg = str(err.value)
    assert "huggingface-cli download Qwen/Qwen2.5-VL-3B-Instruct --local-dir Qwen2.5-VL-3B-Instruct" in msg
    assert "model.path" in msg


def test_freeze_vision_lora_and_checkpointing(tiny_qwen2_5_vl_dir):
    from uec_vlm.models.loading import load_policy

    model, _ = load_policy(tiny_qwen2_5_vl_dir, freeze_vision=True, gradient_checkpointing=True,
                           lora={"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]})
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert not any(".visual." in n for n in trainable)
    base = model.get_base_model()
    assert base.is_activation_checkpointing is True


def test_freeze_vision_only_freezes_tower(tiny_qwen2_5_vl_dir):
    from uec_vlm.models.loading import load_policy

    model, _ = load_policy(tiny_qwen2_5_vl_dir, freeze_vision=True, dtype="bfloat16")
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, _ in model.named_parameters() if n.startswith("model.visual.")}
    assert next(model.parameters()).dtype.__str__() == "torch.bfloat16"
