"""Suites: each entry's settings reach its pair, and the user's own options win."""

from __future__ import annotations

from dataclasses import replace

import pytest

from parity.machine import batch_fits
from parity.run.runner import SEEDED, run
from zoo.catalog import INDEPENDENT, PAIRS, SUITES, SuiteEntry, get_suite


def test_every_suite_entry_names_a_catalog_pair_modes_and_a_profile():
    from parity.child.engines import MODES
    from parity.run.profiles import PROFILES

    for name, entries in SUITES.items():
        for entry in entries:
            assert entry.pair_id in PAIRS, f"suite {name}: {entry.pair_id} is not in the catalog"
            assert entry.profile in (None, *PROFILES)
            for side, modes in entry.modes or ():  # sides are named after their frameworks
                assert set(modes) <= set(MODES[side]), (entry.pair_id, modes)


def test_default_suite_is_the_real_pairs_and_the_seeded_performance_rows():
    by_id = {pair.id: entry for pair, entry in get_suite("default")}
    assert by_id["all-MiniLM-L6-v2"].weights is None
    assert by_id["efficientnet-lite0"].weights is None
    for pair_id in ("resnet50-timm", "mobilenet_v2", "efficientnet_b0", "vit_b_16"):
        assert by_id[pair_id].weights == SEEDED


def test_entry_settings_apply_unless_the_user_gave_them(quick_config):
    config = quick_config()
    entry = SuiteEntry(
        "x", weights=SEEDED, batch_sizes=(1,), profile="quick", modes=(("torch", ("eager",)),)
    )
    applied = config.with_overrides(entry.overrides())
    assert applied.weights == SEEDED
    assert applied.latency_batches == (1,)
    assert applied.eval_batch == 1  # timed, so the compile cost has a median to set against
    assert applied.profile.name == "quick"
    assert applied.modes_for("torch", "torch") == ("eager",)
    kept = config.with_overrides(entry.overrides(), frozenset({"weights", "latency_batches"}))
    assert kept.weights == config.weights
    assert kept.latency_batches == config.latency_batches
    assert kept.profile.name == "quick"


def test_each_pair_runs_under_its_own_settings(fake_pair, quick_config):
    config = quick_config()
    plain = fake_pair()
    # Seeded same-weights pairs need a real conversion; an independent pair is seeded per side.
    narrow = replace(fake_pair("fake:noisy"), relation=INDEPENDENT)
    narrow_config = config.with_overrides({"latency_batches": (1,), "weights": SEEDED})
    record = run([(plain, config), (narrow, narrow_config)], config)
    first, second = record["pairs"]
    assert first["settings"]["latency_batches"] == [1, 4]
    assert second["settings"]["latency_batches"] == [1]
    assert second["settings"]["weights"] == SEEDED
    assert all(set(c["metrics"]["latency"]) == {"1"} for c in second["cells"])
    assert all(set(c["metrics"]["latency"]) == {"1", "4"} for c in first["cells"])
    # Seeded rows are labelled, and show no accuracy.
    report = (config.out_dir / "report.md").read_text()
    assert "seeded random weights" in report
    assert all("error" in found for found in second["evaluation"]["accuracy"].values())
    from parity.publish.verdicts import model_zoo
    from parity.results.record import PairRecord

    assert "built with seeded weights" in model_zoo(PairRecord.from_dict(second))
    assert "built with seeded weights" not in model_zoo(PairRecord.from_dict(first))


def test_a_batch_the_free_memory_cannot_hold_is_skipped(monkeypatch):
    from parity import machine as memory

    monkeypatch.setattr(memory, "available_mib", lambda: 1000.0)
    monkeypatch.setattr(memory, "rss_mib", lambda: 500.0)
    # Loaded at 500 MiB, 8 rows peaked at 900: 50 MiB a row.
    fits, why = batch_fits(8, 8, rss_loaded=500.0, peak_measured=900.0)
    assert fits
    fits, why = batch_fits(32, 8, rss_loaded=500.0, peak_measured=900.0)
    assert not fits and "batch 32 needs about 1,600 MiB more" in why


@pytest.mark.parametrize("text", ["0,8", "a,b", ","])
def test_bad_batch_sizes_are_explained(text, capsys):
    from parity.cli.main import main

    assert main(["run", "all-MiniLM-L6-v2", "--batch-sizes", text]) == 2
    assert capsys.readouterr().err.startswith(f"parity run: --batch-sizes {text!r} needs positive")
