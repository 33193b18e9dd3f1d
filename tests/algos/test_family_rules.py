"""Config load refuses nonsense combinations and bad algorithm parameters, naming the keys."""

import pytest

from uec_vlm.config import ConfigError
from uec_vlm.config_loader import load_config


@pytest.mark.parametrize("sources, overrides, message", [
    (["gspo"], ["algo.dual_clip=3.0"], "algo.policy_loss=gspo has no dual clip (its ratio is per sequence): set "
                                       "algo.dual_clip=null (got 3.0)"),
    (["gspo"], ["algo.top_entropy_quantile=0.2"], "algo.policy_loss=gspo optimises whole sequences; "
                                                  "algo.top_entropy_quantile=0.2"),
    (["gspo"], ["uec.enabled=true", "uec.importance_correction=true"], "uec.importance_correction"),
    (["cispo"], ["algo.dual_clip=3.0"], "algo.policy_loss=cispo has no min/max branch"),
    (["kl_cov"], ["algo.policy_loss=cispo", "algo.dual_clip=null"],
     "algo.entropy_control='kl_cov' replaces the PPO-clip token loss with 'kl_cov', so it cannot be combined "
     "with algo.policy_loss='cispo'"),
    (["passk"], ["rollout.n=3"], "algo.params.passk.k=4 exceeds rollout.n=3"),
    (["passk"], ["rollout.n=8", "uec.enabled=true", "uec.explore_n=2"], "algo.params.passk.k=4 exceeds uec.explore_n=2"),
    (["passk"], ["algo.params.passk.kk=2"], "algo.params.passk: unknown key(s) ['kk']; advantage 'passk' accepts "
                                            "['k', 'threshold']"),
    (["grpo"], ["algo.params.cispo.x=1"], "algo.params.cispo: 'cispo' is not the selected advantage, policy loss "
                                          "or entropy control (grpo, ppo_clip, none)"),
    (["aer"], ["algo.params.aer.tau=0.5"], "algo.params.aer: entropy control 'aer' takes its parameters from algo.aer"),
    (["skywork"], ["algo.params.skywork.target=0"], "algo.params.skywork: skywork: set exactly one of target"),
    (["entropic"], ["algo.params.entropic.alpha_max=2"], "algo.params.entropic: entropic: need 0 < alpha_max <= 1"),
    (["grpo"], ["algo.top_entropy_quantile=0"], "algo.top_entropy_quantile must be in (0, 1] (got 0.0)"),
    (["noisy_rollout"], ["algo.noisy_rollout.n_noisy=6"], "algo.noisy_rollout.n_noisy=6 must be in [1, rollout.n=5]"),
    (["noisy_rollout"], ["rollout.backend=vllm"], "only rollout.backend=hf"),
    (["papo"], ["algo.papo.mask_ratio=0"], "algo.papo.mask_ratio=0.0 must be in (0, 1]"),
    (["papo"], ["algo.papo.eta_masked=-0.1"], "algo.papo.eta_masked=-0.1 must be >= 0"),
    (["papo"], ["algo.papo.gamma=0"], "algo.papo.enabled=true with gamma, eta_full and eta_masked all 0"),
])
def test_refused_with_the_keys_named(sources, overrides, message):
    with pytest.raises(ConfigError) as e:
        load_config(sources, overrides)
    assert message in str(e.value)


@pytest.mark.parametrize("overrides, message", [
    (["algo.policy_loss=nope"], "algo.policy_loss: unknown policy loss 'nope'; registered: ['ce_gppo', 'cispo'"),
    (["algo.modules=[no_such_module_xyz]"], "algo.modules: cannot import 'no_such_module_xyz'"),
])
def test_unknown_names_are_left_to_resolve_names(overrides, message):
    from uec_vlm.resolve import resolve_names

    cfg = load_config(["grpo"], [*overrides, "data.val="])  # loads: the name is checked where all names are
    with pytest.raises(ConfigError) as e:
        resolve_names(cfg, model=False)
    assert message in str(e.value)


def test_sensible_combinations_load():
    # every entropy control and token selection combines with UEC; CE-GPPO with Entropy-Adv; Pass@k with UEC
    for sources, overrides in [
        (["skywork"], ["uec.enabled=true"]), (["entropic"], ["uec.enabled=true", "algo.top_entropy_quantile=0.2"]),
        (["ce_gppo"], ["algo.entropy_control=entropy_adv"]), (["passk"], ["uec.enabled=true", "uec.explore_n=8"]),
        (["noisy_rollout"], ["uec.enabled=true"]), (["cispo"], ["algo.entropy_control=aer"]),
        (["reinforce_pp"], ["uec.enabled=true"]),
    ]:
        cfg = load_config(sources, overrides)
        assert cfg.uec.enabled == ("uec.enabled=true" in overrides)


@pytest.mark.parametrize("preset, phrase", [
    ("kl_cov", "KL-Cov's penalty |logp - old_logp| is 0 with zero gradient"),
    ("cispo", "CISPO's clipped importance weight is 1, so its gradient is GRPO's"),
    ("ce_gppo", "CE-GPPO's clipped-token gradients never occur"),
    ("dapo", "clip-higher (algo.clip_high=0.28) never binds"),
])
def test_single_pass_updates_note_what_cannot_act(preset, phrase):
    from uec_vlm.algos.rules import single_pass_notes

    (note,) = single_pass_notes(load_config([preset]))
    assert note.startswith("note: trainer.ppo_epochs=1 and trainer.mini_batch_size=0 make every update "
                           "on-policy") and phrase in note
    assert single_pass_notes(load_config([preset], ["trainer.mini_batch_size=4"])) == []
    assert single_pass_notes(load_config([preset], ["trainer.ppo_epochs=2"])) == []
    assert single_pass_notes(load_config(["grpo"])) == []
