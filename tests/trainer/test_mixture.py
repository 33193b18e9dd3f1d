"""Training mixtures: weighted draws, exact resume, rank shares, per-source metrics, contamination warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from data_zoo.registry import load_dataset
from uec_vlm.trainer.mixture import BLOCK, MixtureStream, source_metrics, train_specs
from uec_vlm.trainer.samples import Sample


@pytest.fixture(scope="module")
def sets():
    return [load_dataset("synthgeo:train?n=5&seed=0"), load_dataset("synthgeo:test?n=3&seed=0")]


def _uids(items):
    return [ex.uid for ex in items]


def test_train_specs_forms_and_errors():
    assert train_specs("a:train", []) == [("a:train", 0.0)]
    assert train_specs(["a:train", "b:train"], [1, 2]) == [("a:train", 1.0), ("b:train", 2.0)]
    with pytest.raises(ValueError, match="data.train_weights has 1 entries but data.train has 2 specs"):
        train_specs(["a:train", "b:train"], [1])
    with pytest.raises(ValueError, match="positive numbers"):
        train_specs(["a:train", "b:train"], [1, 0])
    with pytest.raises(ValueError, match=r"lists \['a:train'\] more than once"):
        train_specs(["a:train", "a:train"], [])
    with pytest.raises(ValueError, match="non-empty list"):
        train_specs([], [])


def test_weights_epochs_and_determinism(sets):
    s = MixtureStream(sets, [1, 2], seed=3)
    drawn = s.next(3000)
    by_source = Counter(ex.split for ex in drawn)
    assert abs(by_source["test"] / 3000 - 2 / 3) < 0.03  # binomial sd 0.009
    assert s.labels == ["synthgeo/train", "synthgeo/test"] and list(s.drawn) == [by_source["train"],
                                                                                     by_source["test"]]
    test_items = [ex.uid for ex in drawn if ex.split == "test"]
    for e in range(3):  # each epoch of a source is a permutation of it
        assert sorted(test_items[3 * e:3 * e + 3]) == sorted(ex.uid for ex in sets[1])
    assert _uids(MixtureStream(sets, [1, 2], seed=3).next(50)) == _uids(drawn[:50])
    assert _uids(MixtureStream(sets, [1, 2], seed=4).next(50)) != _uids(drawn[:50])
    sized = MixtureStream(sets, [], seed=3)  # no weights: proportional to size, 5:3
    assert sized.weights == [5.0, 3.0]


def test_resume_continues_exactly_across_blocks(sets):
    straight = MixtureStream(sets, [1, 2], seed=7)
    first = straight.next(BLOCK + 10)  # cross a block boundary before the checkpoint
    state = straight.state_dict()
    rest = straight.next(40)
    resumed = MixtureStream(sets, [1, 2], seed=7)
    resumed.load_state_dict(state)
    assert _uids(resumed.next(40)) == _uids(rest)
    assert list(resumed.drawn) == list(straight.drawn) and state["taken"] == len(first)
    with pytest.raises(ValueError, match="changed since the checkpoint.*'weights': \\(\\[1.0, 2.0\\], \\[1.0, 3.0\\]\\)"):
        MixtureStream(sets, [1, 3], seed=7).load_state_dict(state)
    with pytest.raises(ValueError, match="single-dataset run"):
        MixtureStream(sets, [1, 2], seed=7).load_state_dict({"epoch": 0, "position": 3})


def test_ranks_take_disjoint_interleaved_shares(sets):
    single = _uids(MixtureStream(sets, [1, 1], seed=5).next(60))
    r0 = MixtureStream(sets, [1, 1], seed=5, rank=0, world=3)
    r1 = MixtureStream(sets, [1, 1], seed=5, rank=1, world=3)
    r2 = MixtureStream(sets, [1, 1], seed=5, rank=2, world=3)
    assert [_uids(r.next(20)) for r in (r0, r1, r2)] == [single[0::3], single[1::3], single[2::3]]
    again = MixtureStream(sets, [1, 1], seed=5, rank=1, world=3)
    again.load_state_dict(r1.state_dict())
    assert _uids(again.next(5)) == _uids(MixtureStream(sets, [1, 1], seed=5).next(75))[61::3]


def test_source_metrics_counts_groups_and_pass_rates(sets):
    s = MixtureStream(sets, [1, 1], seed=0)
    s.next(4)

    def sample(ex, gid, ok):
        return Sample(prompt=None, example=ex, completion_ids=[1], text="", rollout_logprobs=[0.0],
                      finish_reason="stop", group_id=gid, temperature=1.0, correct=ok)

    a, b = sets[0][0], sets[1][0]
    m = source_metrics(s, [sample(a, 0, True), sample(a, 0, False), sample(b, 1, True), sample(b, 2, True)])
    assert m == {"data/synthgeo/train/drawn_total": float(s.drawn[0]), "data/synthgeo/train/prompts": 1.0,
                 "data/synthgeo/train/pass_rate": 0.5, "data/synthgeo/test/drawn_total": float(s.drawn[1]),
                 "data/synthgeo/test/prompts": 2.0, "data/synthgeo/test/pass_rate": 1.0}


def test_mixture_run_logs_sources_warns_and_resumes_exactly(make_cfg, tmp_path, capsys):
    from uec_vlm.trainer.loop import Trainer
    from uec_vlm.trainer.run_dir import read_metrics

    mix = ("grpo", "data.train=[synthgeo:train?n=8&seed=0, synthgeo:validation?n=4&seed=0]", "data.train_weights=[1, 3]",
           "trainer.save_every=1", "data.overlap_check=[eval.suite]", "eval.suite=[synthgeo:validation?n=4&seed=0]")
    Trainer(make_cfg(*mix, "trainer.steps=2", out=tmp_path / "straight")).train()
    out = capsys.readouterr().out
    assert "data: mixture synthgeo/train (8 examples, p=0.250), synthgeo/validation (4 examples, p=0.750)" in out
    assert "warning: training data overlaps synthgeo:validation?n=4&seed=0: 4 of 4 evaluation records (100.0% > " \
           "data.overlap_threshold=0.0)" in out
    Trainer(make_cfg(*mix, "trainer.steps=1", out=tmp_path / "halves")).train()
    Trainer(make_cfg(*mix, "trainer.steps=2", out=tmp_path / "halves")).train()
    a = read_metrics(tmp_path / "straight" / "metrics.jsonl")
    b = read_metrics(tmp_path / "halves" / "metrics.jsonl")
    keys = sorted(k for k in a[-1] if k.startswith("data/"))
    assert "data/synthgeo/validation/drawn_total" in keys and "data/synthgeo/train/drawn_total" in keys
    assert [{k: r.get(k) for k in keys} for r in a] == [{k: r.get(k) for k in keys} for r in b]
    assert a[-1]["data/synthgeo/train/drawn_total"] + a[-1]["data/synthgeo/validation/drawn_total"] == 4.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_ranks_share_one_sequence(tmp_path, sets):
    """Real torch.distributed (gloo, 2 processes): rank r gets global draws r, r+2, ... of the one sequence."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]))
    worker = Path(__file__).with_name("dist_mixture_worker.py")
    out = tmp_path / "draws.json"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
                           str(worker), str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    single = _uids(MixtureStream(sets, [1, 2], seed=11).next(14))
    assert got["draws"] == [single[0::2], single[1::2]] and got["state"]["taken"] == 7
