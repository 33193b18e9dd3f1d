"""Run one policy update on a fixed global batch, sharded over however many ranks launched this script.

Usage: [torchrun --nproc_per_node=K] python dist_update_worker.py MODEL_DIR OUT_FILE STRATEGY
Every rank passes the whole global batch; `policy_update` trains this rank's equal, token-balanced share.
Rank 0 saves the updated parameters.
"""

from __future__ import annotations

import random
import sys

import torch


def fixed_samples(processor, n: int = 8):
    from data_zoo.synthgeo import generate
    from uec_vlm.prompts import ImageBudget, build_prompt
    from uec_vlm.trainer.samples import Sample

    examples = generate(n // 2, seed=3, split="train")
    prompts = [build_prompt(ex, processor, template="direct", image_budget=ImageBudget(3136, 50176)) for ex in examples]
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        length = 3 + i % 4
        ids = torch.randint(10, 200, (length,), generator=gen).tolist()
        samples.append(Sample(prompt=prompts[i // 2], example=examples[i // 2], completion_ids=ids, text="",
                              rollout_logprobs=[0.0] * length, finish_reason="stop", group_id=i // 2,
                              temperature=1.0, advantage=[1.0, -1.0, 0.5, -0.5][i % 4]))
    return samples


def generate_uneven(model, processor, samples, train_model) -> None:
    """Rank r generates r + 1 prompts with a different length limit each: under FSDP2 this would hang
    (per-forward all-gathers) without `gathered_for_generation` (no effect on the weights)."""
    from uec_vlm.rollout import SamplingParams, make_backend
    from uec_vlm.trainer import distributed as dist_utils

    r = dist_utils.rank()
    backend = make_backend("hf", model, processor, prompt_batch_size=1)
    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=4 + 6 * r, seed=r)
    with dist_utils.gathered_for_generation(train_model):
        out = backend.generate([s.prompt for s in samples[: 2 * (r + 1): 2]], params)
    assert len(out) == r + 1


def main(model_dir: str, out_file: str, strategy: str) -> None:
    from uec_vlm.algos.entropy import EntropyControl
    from uec_vlm.models.loading import load_policy
    from uec_vlm.trainer import distributed as dist_utils
    from uec_vlm.trainer.update import UpdateSettings, policy_update

    dist_utils.init_from_env(timeout_s=60)
    torch.manual_seed(0)
    model, processor = load_policy(model_dir)
    samples = fixed_samples(processor)
    train_model = dist_utils.wrap_policy(model, strategy)
    generate_uneven(model, processor, samples, train_model)
    # SGD, not Adam: Adam turns float-rounding noise in near-zero gradients into lr-sized steps.
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    settings = UpdateSettings(micro_batch_size=3, max_new_tokens=8)
    metrics = policy_update(train_model, opt, None, samples, settings=settings, control=EntropyControl(),
                            pad_token_id=int(processor.tokenizer.pad_token_id), rng=random.Random(0),
                            generator=torch.Generator().manual_seed(0), on_policy=True)
    state = {k: v.detach().full_tensor() if hasattr(v, "full_tensor") else v.detach()
             for k, v in model.state_dict().items()}
    if dist_utils.is_main():
        torch.save({"state": state, "metrics": metrics}, out_file)
    dist_utils.barrier()


if __name__ == "__main__":
    main(*sys.argv[1:4])
