"""The typed run configuration: one dataclass per section, one `help` per field.

Loaded from YAML files / preset names with `key.sub=value` overrides by `uec_vlm.config_loader`.
Every field's `help` is what `uec-vlm config --help-fields` prints; keep them accurate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


def f(default, help: str, **kw):  # noqa: A002 - `help` mirrors TRL/argparse naming
    """A dataclass field carrying its documentation (TRL-style `metadata["help"]`)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ModelConfig:
    path: str = f("", "Policy checkpoint: a local directory (HF format, e.g. a run's `checkpoints/step_N`) or a hub id such as `Qwen/Qwen2.5-VL-3B-Instruct`.")
    dtype: Literal["float32", "bfloat16", "float16"] = f("float32", "Parameter dtype. bfloat16 on GPUs; float32 on CPU.")
    device: str = f("auto", "`auto` (cuda if available else cpu), `cpu`, `cuda`, `cuda:N`.")
    attn_implementation: str = f("sdpa", "Attention kernel passed to from_pretrained (`sdpa`, `eager`, `flash_attention_2`).")
    gradient_checkpointing: bool = f(False, "Recompute activations in the backward pass to save memory.")
    freeze_vision: bool = f(False, "Freeze the vision tower (and merger): only the language model is trained.")
    trust_remote_code: bool = f(False, "Allow model code from the checkpoint. Off unless you trust the source.")
    lora_rank: int = f(0, "LoRA rank through peft; 0 trains all parameters.")
    lora_alpha: int = f(16, "LoRA alpha (scale = alpha / rank).")
    lora_dropout: float = f(0.0, "LoRA dropout.")
    lora_target_modules: list[str] = f(["q_proj", "k_proj", "v_proj", "o_proj"], "Module names LoRA adapts.")


@dataclass
class DataConfig:
    train: str | list[str] = f("synthgeo:train?n=2000&seed=0", "Training set spec, e.g. `geometry3k:train@/data/geo3k`, `hiyouga/geometry3k@train`, `synthgeo:train?n=2000`, or a parquet/jsonl path; a list of specs is a mixture (see data.train_weights).")
    train_weights: list[float] = f([], "Sampling weights of a data.train list, e.g. [1, 2]; empty = proportional to dataset size. Draws are seeded by trainer.seed, sharded over ranks and resumed exactly.")
    overlap_check: list[str] = f([], "Evaluation specs to compare with the training data at train start (image hash + question text; `data.val` and `eval.suite` stand for those settings); a warning names each one overlapped beyond data.overlap_threshold.")
    overlap_threshold: float = f(0.0, "Warn when more than this fraction of an overlap_check set matches a training item.")
    val: str = f("auto", "Validation set spec; 'auto' = the validation split of data.train's adapter when it has one (else off, said at start); '' disables validation.")
    on_error: Literal["fail", "skip"] = f("fail", "Bad record policy: `fail` stops naming the record; `skip` drops it, counts it and reports the count.")
    adapter_modules: list[str] = f([], "Python modules to import so that their dataset adapters register (your own adapters).")
    shuffle: bool = f(True, "Shuffle the training set each epoch (seeded by trainer.seed).")
    max_train_examples: int = f(0, "Use only the first N training examples (0 = all; per spec of a mixture).")
    allow_outside_root: bool = f(False, "Accept image paths (absolute or with `../`) that leave the dataset's folder. Off: such records are bad records naming the path.")


@dataclass
class PromptConfig:
    template: str = f("math", "Prompt template: `math` (think + \\boxed{}, UEC-RL wording), `r1v` (think + <answer>), `direct`, or a path to a .jinja file.")
    min_pixels: int = f(3136, "Images smaller than this many pixels are upscaled (multiple of the patch grid). Same for rollout and training.")
    max_pixels: int = f(50176, "Images larger than this many pixels are downscaled. 50176 = 224x224; real runs use 512*512..2048*2048.")
    max_prompt_length: int = f(1024, "Maximum prompt tokens, image tokens included. Longer prompts are filtered (counted) or fail per data.on_error.")


@dataclass
class RolloutConfig:
    backend: Literal["hf", "vllm"] = f("hf", "Generation backend: `hf` (transformers, shared prefill) or `vllm` (`pip install uec-vlm[vllm]` on GPUs, `make setup-vllm` on CPU; docs/vllm.md).")
    n: int = f(5, "Samples per prompt (the GRPO group size).")
    temperature: float = f(1.0, "Sampling temperature.")
    top_p: float = f(0.99, "Nucleus sampling threshold (UEC-RL uses 0.99).")
    top_k: int = f(0, "Top-k sampling (0 = off).")
    max_new_tokens: int = f(512, "Response length limit; hitting it marks the sample truncated.")
    prompts_per_batch: int = f(8, "Prompts generated together by the hf backend.")
    vllm_gpu_memory_utilization: float = f(0.5, "vLLM: fraction of GPU memory the engine may take (weights + KV cache); leave the rest to training when colocated.")
    vllm_tensor_parallel_size: int = f(1, "vLLM: GPUs one engine spans; > 1 needs vllm_weight_sync=path (unverified).")
    vllm_sleep: bool = f(False, "vLLM colocation: the engine sleeps between rollouts (weights to host RAM, KV cache freed) so training gets the GPU memory back. GPU only (unverified).")
    vllm_weight_sync: Literal["tensors", "path"] = f("tensors", "vLLM weight push after each update: `tensors` (in-process reload) or `path` (a safetensors file the engine reloads; for engines in other processes).")


@dataclass
class RewardConfig:
    name: str = f("math", "Reward function: a registered name (`math`, `r1v`, `accuracy`) or `package.module:function`.")
    weights: dict[str, float] = f({"accuracy": 1.0, "format": 0.0}, "overall = sum(weight * component). UEC-RL: accuracy only; EasyR1 default: accuracy 0.9, format 0.1.")
    timeout_s: float = f(5.0, "Per-completion grading time limit (seconds); a completion over it scores 0 with the reason logged.")
    workers: int = f(2, "Grading worker processes (math parsing with a per-item time limit; see docs/rewards.md).")
    correct_threshold: float = f(1.0, "A sample counts as correct (for pass rates and difficulty) iff its `accuracy` component >= this.")


@dataclass
class AERConfig:
    tau: float = f(0.4, "Target entropy H* = tau * H0 (H0 = entropy of the initial policy).")
    eta: float = f(0.01, "Step size of the global coefficient: alpha <- clip(alpha + eta * (H* - H_t), 0, alpha_max).")
    alpha_init: float = f(0.0, "Initial global coefficient.")
    alpha_max: float = f(0.01, "Upper bound of the global coefficient.")
    rho: float = f(1.0, "Only prompts with group accuracy < rho receive the bonus (1.0 = all unsolved prompts).")


@dataclass
class KLCovConfig:
    ratio: float = f(2e-4, "Fraction of valid tokens (top by covariance) that get the KL penalty (verl default; the paper uses 2e-3 for 7B).")
    beta: float = f(1.0, "Coefficient of |logp - old_logp| on the selected tokens.")


@dataclass
class ClipCovConfig:
    ratio: float = f(2e-4, "Fraction of tokens (among those with covariance in (lb, ub)) whose gradient is removed.")
    lb: float = f(1.0, "Lower covariance bound.")
    ub: float = f(5.0, "Upper covariance bound.")


@dataclass
class EntropyAdvConfig:
    alpha: float = f(0.4, "A_t += min(alpha * H_t, |A_t| / kappa).")
    kappa: float = f(2.0, "Caps the entropy term at |A_t| / kappa.")


@dataclass
class OverlongConfig:
    enabled: bool = f(False, "DAPO overlong reward shaping.")
    buffer: int = f(64, "Shaping buffer B: penalty grows linearly over the last B tokens before the limit.")
    factor: float = f(1.0, "Maximum penalty.")


@dataclass
class NoisyRolloutConfig:
    enabled: bool = f(False, "NoisyRollout (arXiv 2504.13055): part of each group is generated from Gaussian-perturbed images; every sample is trained on the clean image.")
    n_noisy: int = f(0, "Rollouts per prompt generated from the perturbed image (of rollout.n; the paper: half).")
    noise_std: float = f(0.3, "Initial std of the Gaussian pixel noise, in [0, 1] pixel units.")
    anneal_steps: int = f(0, "Noise std decays linearly to 0 over this many training steps (0 = constant).")


@dataclass
class PAPOConfig:
    enabled: bool = f(False, "PAPO (arXiv 2507.06448): add an implicit perception loss, the KL between the policy on the image and on a patch-masked copy, maximised (one extra gradient-carrying forward per micro-batch).")
    gamma: float = f(0.02, "Weight of the perception KL (k3), maximised (official: 0.02 with GRPO, 0.01 with DAPO).")
    eta_full: float = f(0.0, "Double Entropy Loss weight on the full-image policy's entropy (official: 0.03 with DAPO, off for GRPO 3B).")
    eta_masked: float = f(0.0, "Double Entropy Loss weight on the masked-image policy's entropy (official: equal to eta_full).")
    mask_ratio: float = f(0.6, "Probability that each vision patch is blackened in the masked view (official: 0.6).")


@dataclass
class AlgoConfig:
    advantage: str = f("grpo", "Advantage estimator: `grpo` (group mean/std), `drgrpo` (no std), `rloo`, `reinforce_pp_baseline`, `passk_max`, `passk`, or a registered name.")
    policy_loss: str = f("ppo_clip", "Per-token policy loss: `ppo_clip`, `gspo` (sequence-level ratio), `cispo` (clipped IS weight), `ce_gppo` (bounded gradients of clipped tokens), or a registered name.")
    top_entropy_quantile: float = f(1.0, "Train only on the top fraction of tokens by entropy (arXiv 2506.01939: 0.2); 1.0 = every token.")
    params: dict[str, dict[str, Any]] = f({}, "Keyword parameters of the selected registered algorithms, keyed by name, e.g. `algo.params.passk.k=4`; checked against the function's signature at load.")
    modules: list[str] = f([], "Python modules to import so that their algorithms register (your own algorithms outside uec_vlm/algos).")
    loss_agg: Literal["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"] = f("token-mean", "Loss aggregation over tokens.")
    clip_low: float = f(0.2, "PPO lower clip epsilon.")
    clip_high: float = f(0.2, "PPO upper clip epsilon (DAPO clip-higher: 0.28).")
    dual_clip: float | None = f(3.0, "Dual-clip constant c for negative advantages (null disables).")
    kl_coef: float = f(0.0, "KL-to-reference loss coefficient; the reference model is loaded only when > 0.")
    kl_kind: Literal["k1", "k2", "k3"] = f("k3", "KL estimator (k3 = low_var_kl as in verl/EasyR1).")
    entropy_control: str = f("none", "`none`, `bonus`, `aer`, `kl_cov`, `clip_cov`, `entropy_adv`, `skywork`, `entropic`, or a registered name (parameters of the last three in algo.params.<name>).")
    entropy_coef: float = f(0.0, "Fixed entropy bonus coefficient (entropy_control=bonus).")
    aer: AERConfig = field(default_factory=AERConfig, metadata={"help": "AER-style adaptive entropy controller."})
    kl_cov: KLCovConfig = field(default_factory=KLCovConfig, metadata={"help": "KL-Cov settings."})
    clip_cov: ClipCovConfig = field(default_factory=ClipCovConfig, metadata={"help": "Clip-Cov settings."})
    entropy_adv: EntropyAdvConfig = field(default_factory=EntropyAdvConfig, metadata={"help": "Entropy-Adv settings."})
    dynamic_sampling: bool = f(False, "DAPO dynamic sampling: keep only groups with mixed outcomes, generating more prompts until the batch is full.")
    max_resample_rounds: int = f(3, "Cap on extra generation rounds for dynamic sampling.")
    overlong: OverlongConfig = field(default_factory=OverlongConfig, metadata={"help": "DAPO overlong shaping."})
    reward_scale: Literal["01", "pm1"] = f("01", "Accuracy reward as {0,1} or {-1,+1} (DAPO).")
    noisy_rollout: NoisyRolloutConfig = field(default_factory=NoisyRolloutConfig, metadata={"help": "NoisyRollout: rollouts on perturbed images."})
    papo: PAPOConfig = field(default_factory=PAPOConfig, metadata={"help": "PAPO: perception loss from a masked-image forward."})


@dataclass
class ReplayConfig:
    enabled: bool = f(True, "Experience-replay stabilizer.")
    size_factor: float = f(2.0, "Replay capacity = size_factor * n0 samples (newest kept).")
    freq: int = f(5, "Replay every `freq` rollout steps (released code), whether or not that step updated; see `trigger`.")
    trigger: Literal["steps", "updates"] = f("steps", "`steps`: replay on steps divisible by `freq` (released); `updates`: after every `freq`-th update instead.")
    rule: Literal["abs", "pos"] = f("abs", "Which trained samples enter: |A| > threshold (`abs`, released code) or A > threshold (`pos`, paper).")
    threshold: float = f(1.0, "Advantage threshold for the replay rule.")


@dataclass
class UECConfig:
    enabled: bool = f(False, "Unified Entropy Control (difficulty-targeted exploration, retention, replay).")
    hard_max_pass_rate: float = f(0.0, "A prompt is HARD iff its group pass rate <= this (released: 0 = no rollout correct).")
    solved_min_pass_rate: float = f(1.0, "A prompt is SOLVED iff its pass rate >= this (no learning signal).")
    explore: bool = f(True, "Targeted exploration: extra rollouts for hard prompts.")
    explore_n: int = f(20, "G': extra rollouts per hard prompt.")
    explore_temperature: float = f(1.2, "t': exploration temperature (must be > 0).")
    importance_correction: bool = f(False, "Weight exploration samples by pi_1.0 / pi_t' (off = released behaviour: trained as on-policy).")
    retention: bool = f(True, "Selective retention of informative samples.")
    regular_min_abs_adv: float = f(0.05, "Regular samples kept iff |A| > this.")
    explore_rule: Literal["abs", "pos"] = f("abs", "Exploration samples kept iff |A| > explore_threshold (`abs`, released code, threshold 1.0) or A > explore_threshold (`pos`; the paper: threshold 0).")
    explore_threshold: float = f(1.0, "Threshold of uec.explore_rule.")
    drop_truncated_positive: bool = f(True, "Drop samples that hit the length limit with A > 0.")
    batch_buffer: bool = f(True, "Accumulate retained samples; update once n0 wait.")
    n0: int = f(0, "Samples per update (N0); 0 = prompts_per_step * rollout.n.")
    replay: ReplayConfig = field(default_factory=ReplayConfig, metadata={"help": "Replay stabilizer."})


@dataclass
class OptimConfig:
    lr: float = f(1e-6, "AdamW learning rate.")
    weight_decay: float = f(0.01, "AdamW weight decay.")
    betas: list[float] = f([0.9, 0.999], "AdamW betas.")
    eps: float = f(1e-8, "AdamW epsilon (larger values damp steps of parameters whose gradients are near zero).")
    grad_clip: float = f(1.0, "Gradient-norm clip.")
    warmup_steps: int = f(0, "Linear warm-up over the first N optimizer steps.")
    schedule: Literal["constant", "cosine", "linear"] = f("constant", "LR decay over training progress (reaches its end value, 0 for cosine/linear, after the last optimizer step of the last rollout step; docs/training.md).")


@dataclass
class SFTConfig:
    steps: int = f(0, "Supervised warm-start updates run by `uec-vlm sft` (the demo uses it before RL).")
    lr: float = f(1e-3, "Warm-start learning rate.")
    batch_size: int = f(16, "Warm-start examples per update.")
    response: Literal["boxed", "think_boxed"] = f("think_boxed", "Target format: `\\boxed{answer}` alone or with a short <think> block.")


@dataclass
class TrainerConfig:
    steps: int = f(100, "Rollout steps (each samples prompts_per_step prompts).")
    prompts_per_step: int = f(8, "Prompts sampled per step and per rank (the global batch is this x the number of ranks).")
    rollout_token_budget: int = f(0, "Stop once this many response tokens were generated in all (rollouts, UEC exploration, DAPO resampling; summed over ranks); 0 = off. Equal-budget studies set it with trainer.steps as a cap.")
    ppo_epochs: int = f(1, "Passes over each update batch.")
    mini_batch_size: int = f(0, "Samples per optimizer step and per rank (global: this x ranks; 0 = the whole update batch).")
    micro_batch_size: int = f(8, "Samples per forward/backward (gradient accumulation, normalised by token count).")
    seed: int = f(0, "Seed for data order, sampling and initialisation.")
    output_dir: str = f("runs/default", "Run folder: config, metrics.jsonl, summary, checkpoints, plots.")
    resume: str = f("auto", "`auto` (latest complete checkpoint in output_dir), `never`, or a checkpoint path.")
    allow_config_change: bool = f(False, "Resume even when the run folder's config.yaml differs in keys that change training (they are printed). Off: such a resume is refused, naming the keys.")
    save_every: int = f(0, "Checkpoint every N steps (0 = only at the end).")
    keep_last: int = f(2, "Checkpoints kept besides the best by validation.")
    val_every: int = f(0, "Validate every N steps (0 = only before and after training).")
    val_n: int = f(1, "Samples per validation problem.")
    val_temperature: float = f(0.5, "Validation temperature (UEC-RL: 0.5); 0 = greedy.")
    max_bad_steps: int = f(3, "Stop after this many skipped steps with NaN/inf loss or gradients.")
    distributed: Literal["auto", "ddp", "fsdp2"] = f("auto", "torchrun: how the policy is spread over ranks: `fsdp2` shards parameters, gradients and AdamW moments (fully_shard per decoder layer and vision block), `ddp` replicates; `auto` = fsdp2 on CUDA, ddp on CPU.")
    dist_timeout_s: float = f(1800.0, "torchrun: time-out of every collective (s); must exceed the longest rank-local phase (a step's generation).")
    console: bool = f(True, "One console line per step (ETA, reward, accuracy, entropy, length, validation), and a warning for steps without an optimizer update.")
    tensorboard: bool = f(True, "TensorBoard event files under output_dir/events.")
    wandb: bool = f(False, "Log to Weights & Biases (needs the logging extra).")
    wandb_project: str = f("uec-vlm", "wandb project.")


@dataclass
class EvalConfig:
    suite: list[str] = f(["synthgeo:test?n=100&seed=0"], "Dataset specs to evaluate.")
    n: int = f(1, "Samples per problem.")
    ks: list[int] = f([1], "Pass@k values reported (each <= n).")
    greedy: bool = f(False, "Greedy decoding (forces n = 1).")
    temperature: float = f(0.6, "Sampling temperature.")
    top_p: float = f(0.95, "Nucleus threshold.")
    max_new_tokens: int = f(512, "Response length limit.")
    mode: Literal["official", "strict", "boxed"] = f(
        "official", "Benchmark scoring mode: official (published rules; MathVista nearest-choice fallback), strict "
        "(MathVista: an answer naming no option is wrong), boxed (We-Math also reads boxed letters; not official).")
    output_dir: str = f("runs/eval", "Eval run folder (resumable).")
    batch_prompts: int = f(8, "Reserved: the harness generates one prompt at a time, each with its own seed, so results never depend on batching or sharding.")
    bootstrap: int = f(1000, "Bootstrap resamples for confidence intervals.")
    seed: int = f(0, "Sampling seed.")


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "Policy model."})
    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "Datasets."})
    prompt: PromptConfig = field(default_factory=PromptConfig, metadata={"help": "Prompt template and image budget."})
    rollout: RolloutConfig = field(default_factory=RolloutConfig, metadata={"help": "Generation."})
    reward: RewardConfig = field(default_factory=RewardConfig, metadata={"help": "Reward function."})
    algo: AlgoConfig = field(default_factory=AlgoConfig, metadata={"help": "Advantage, loss, KL and entropy control."})
    uec: UECConfig = field(default_factory=UECConfig, metadata={"help": "UEC-RL components."})
    optim: OptimConfig = field(default_factory=OptimConfig, metadata={"help": "Optimizer."})
    sft: SFTConfig = field(default_factory=SFTConfig, metadata={"help": "Supervised warm start."})
    trainer: TrainerConfig = field(default_factory=TrainerConfig, metadata={"help": "Training loop."})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "Evaluation harness."})


class ConfigError(ValueError):
    """A config that cannot run: the message names the key and what is allowed."""


def validate(cfg: Config) -> Config:
    """Cross-field checks a type system cannot express. Raises ConfigError naming the keys."""
    problems = []
    if cfg.rollout.n < 1:
        problems.append(f"rollout.n must be >= 1 (got {cfg.rollout.n})")
    if cfg.rollout.temperature <= 0:
        problems.append(f"rollout.temperature must be > 0 (got {cfg.rollout.temperature})")
    if cfg.uec.enabled and cfg.uec.explore and cfg.uec.explore_temperature <= 0:
        problems.append(f"uec.explore_temperature (t') must be > 0 (got {cfg.uec.explore_temperature})")
    if cfg.uec.enabled and cfg.uec.explore and cfg.uec.explore_n < 2:
        problems.append(f"uec.explore_n (G') must be >= 2 so that advantages within the group exist (got {cfg.uec.explore_n})")
    if not 0.0 <= cfg.uec.hard_max_pass_rate < cfg.uec.solved_min_pass_rate <= 1.0:
        problems.append("need 0 <= uec.hard_max_pass_rate < uec.solved_min_pass_rate <= 1 "
                        f"(got {cfg.uec.hard_max_pass_rate}, {cfg.uec.solved_min_pass_rate})")
    if cfg.uec.enabled and cfg.uec.batch_buffer:
        per_step_max = cfg.trainer.prompts_per_step * (cfg.rollout.n + (cfg.uec.explore_n if cfg.uec.explore else 0))
        if cfg.uec.n0 > per_step_max * 2:
            problems.append(f"uec.n0={cfg.uec.n0} is not reachable: the batch buffer holds 2*n0 but a step adds at most "
                            f"{per_step_max} samples; lower uec.n0 or raise trainer.prompts_per_step")
    ks_bad = [k for k in cfg.eval.ks if k < 1 or k > (1 if cfg.eval.greedy else cfg.eval.n)]
    if ks_bad:
        problems.append(f"eval.ks {ks_bad} must satisfy 1 <= k <= eval.n ({cfg.eval.n}{', greedy forces n=1' if cfg.eval.greedy else ''})")
    from uec_vlm.algos.rules import check_algo_config  # the algorithms' own rules live next to them

    problems.extend(check_algo_config(cfg))
    if cfg.trainer.micro_batch_size < 1:
        problems.append("trainer.micro_batch_size must be >= 1")
    if cfg.trainer.prompts_per_step < 1:
        problems.append("trainer.prompts_per_step must be >= 1")
    if not cfg.reward.name:
        problems.append("reward.name is empty: every training dataset needs a reward function")
    if cfg.prompt.min_pixels > cfg.prompt.max_pixels:
        problems.append(f"prompt.min_pixels ({cfg.prompt.min_pixels}) > prompt.max_pixels ({cfg.prompt.max_pixels})")
    from uec_vlm.config_checks import problems as field_problems

    problems += field_problems(cfg)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    return cfg
