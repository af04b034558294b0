"""The duel (parity.run.duel, parity.child.serve): warm workers taking turns in timed
rounds over fresh process pairs, on the numpy engine's busy-looping fake model."""

import numpy as np
import pytest
from cpu_hog import cpu_hog

from parity.evaluate.replicates import CONTENDED, compare
from parity.files import save_npy
from parity.run.duel import Contender, DuelPlan, run_duel


@pytest.fixture
def inputs(tmp_path):
    ids = np.arange(12, dtype=np.int64).reshape(2, 6) + 4
    paths = {}
    for name, array in {"input_ids": ids, "attention_mask": np.ones_like(ids)}.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        save_npy(paths[name], array)
    return paths


def _side(side, inputs, handle="fake:spin", work=20):
    location = {"handle": handle, "availability": "local", "path": "/fake", "hub_id": None}
    return Contender(
        side,
        "numpy",
        "fake",
        {**location, "note": ""},
        "text-encoder",
        "eager",
        inputs,
        load_options={"work": work},
    )


def _plan(**changes):
    settings = dict(batch=2, threads=1, replicates=3, rounds=3, round_min_time_s=0.05, warmup=2)
    return DuelPlan(**{**settings, **changes})


def test_duel_alternates_rounds_over_fresh_process_pairs(tmp_path, inputs):
    # The PyTorch side does twice the work per call: its latency is about twice as long.
    torch, tf = _side("torch", inputs, work=40), _side("tensorflow", inputs, work=20)
    result = run_duel(torch, tf, _plan(), tmp_path / "duel")
    assert result.error is None and len(result.replicates) == 3
    firsts = [rep.first for rep in result.replicates]
    assert firsts == ["torch", "tensorflow", "torch"]  # who starts alternates
    assert result.replicates[1].order == ["tensorflow", "torch"] * 3  # A B A B within
    pids = [rep.ready[side]["pid"] for rep in result.replicates for side in ("torch", "tensorflow")]
    assert len(set(pids)) == 6  # every replicate is a fresh process pair
    for rep in result.replicates:
        for side in ("torch", "tensorflow"):
            assert len(rep.rounds[side]) == 3
            assert all(len(r.samples_ms) >= 3 and r.cpu_share > 0 for r in rep.rounds[side])
            assert rep.ready[side]["first_call_s"] > 0
    a, b = result.round_medians()
    found = compare(a, b, result.cpu_shares())
    assert found.replicates == 3 and found.ratio > 1.3
    assert result.to_dict()["replicates"][0]["first"] == "torch"


def test_a_worker_that_fails_to_load_ends_the_duel_with_why(tmp_path, inputs):
    result = run_duel(
        _side("torch", inputs, handle="fake:raise"),
        _side("tensorflow", inputs),
        _plan(),
        tmp_path / "duel",
    )
    assert result.replicates == []
    assert "torch: RuntimeError: fake model refused to load" in result.error
    assert "corrupt header" in result.stderr_tail


def test_a_duel_beside_a_cpu_hog_gives_no_verdict_and_says_why(tmp_path, inputs):
    torch, tf = _side("torch", inputs, work=40), _side("tensorflow", inputs, work=20)
    with cpu_hog():
        result = run_duel(torch, tf, _plan(rounds=2, round_min_time_s=0.2), tmp_path / "d")
    assert result.error is None
    found = compare(*result.round_medians(), result.cpu_shares())
    assert found.status == CONTENDED and found.verdict == "no verdict"
    assert found.why.startswith("machine busy: rerun on an idle machine")
    assert found.contended_rounds > 0
