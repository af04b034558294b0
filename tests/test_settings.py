"""Run settings are declared once (parity.run.settings): the seed is recorded and shown, and
a resume measured under another seed or by another commit is refused."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from parity.cli.main import main
from parity.run import journal, settings
from parity.run.runner import SEEDED, RunConfig, run
from zoo.catalog import INDEPENDENT

EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def test_config_record_resume_keys_and_options_come_from_one_table():
    assert [f.name for f in fields(RunConfig)] == [s.name for s in settings.SETTINGS]
    recorded = RunConfig(threads=2).recorded_settings()
    assert set(recorded) == {s.name for s in settings.SETTINGS if s.recorded} | {
        "latency_concurrent"
    }
    assert set(journal.RESUME_KEYS) <= set(recorded) and "seed" in journal.RESUME_KEYS
    from parity.cli.main import build_parser

    run_options = build_parser()._subparsers._group_actions[0].choices["run"]
    flags = {flag for action in run_options._actions for flag in action.option_strings}
    assert {s.option for s in settings.SETTINGS if s.option} <= flags


def test_the_seed_is_recorded_and_shown(fake_pair, quick_config):
    pair = replace(fake_pair(), relation=INDEPENDENT)  # seeded on both sides, unconverted
    config = quick_config(seed=7, weights=SEEDED, modes=EAGER_ONLY)
    record = run([pair], config)
    assert record["settings"]["seed"] == 7
    assert "seeded random weights (seed 7)" in (config.out_dir / "report.md").read_text()


def _interrupted_run(out, seed=0, sha="a" * 40):
    record = {
        "run_id": "r1",
        "started_utc": "x",
        "commit": {"sha": sha, "dirty": False},
        "settings": RunConfig(threads=1, seed=seed).recorded_settings(),
    }
    return journal.start(record, out, ["p"], None), record


def test_a_resume_with_another_seed_is_refused_naming_it(tmp_path):
    work_dir, record = _interrupted_run(tmp_path, seed=0)
    again = {**record, "settings": RunConfig(threads=1, seed=7).recorded_settings()}
    with pytest.raises(journal.JournalError, match=r"other settings \(seed 0 -> 7\)"):
        journal.resume(again, work_dir, ["p"])
    journal.resume({**record}, work_dir, ["p"])  # the same seed resumes


def test_a_resume_from_another_commit_is_refused_naming_both(tmp_path):
    work_dir, record = _interrupted_run(tmp_path, sha="a" * 40)
    moved = {**record, "commit": {"sha": "b" * 40, "dirty": False}}
    with pytest.raises(journal.JournalError, match="measured by commit aaaaaaaaaa, and this is "):
        journal.resume(moved, work_dir, ["p"])


def test_the_cli_refuses_a_resume_with_another_seed_in_one_line(
    fake_pair, quick_config, monkeypatch, capsys, tmp_path
):
    import parity.run.runner
    from zoo import catalog

    monkeypatch.setitem(catalog.PAIRS, "fake-ok-ok", fake_pair())
    out = tmp_path / "out"
    argv = ["run", "fake-ok-ok", "--out", str(out), "--seed", "3", "--threads", "1"]
    argv += ["--no-history", "--device", "cpu", "--modes", "torch=eager"]
    argv += ["--modes", "tensorflow=eager", "--batch-sizes", "1", "--profile", "quick"]
    interrupted = []

    def stop_after_the_first_cell(work_dir, cell_key, record):
        interrupted.append(work_dir)
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(parity.run.runner.journal, "save_cell", stop_after_the_first_cell)
        main(argv)
    run_id = interrupted[0].name
    assert main([*argv[:4], "--seed", "4", *argv[6:], "--resume", run_id]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("parity run: run ") and "(seed 3 -> 4)" in err[-1]


def test_every_option_reaches_the_run_config(monkeypatch, tmp_path):
    """An option declared in SETTINGS but not passed on by the CLI would be silently
    ignored: --replicates and --budget must reach RunConfig."""
    import parity.run.runner
    from parity.cli import main

    seen = {}

    def fake_run(pairs, config):
        seen["config"] = config
        return {"pairs": [], "run_id": "fake", "wall_s": 0.0}

    monkeypatch.setattr(parity.run.runner, "run", fake_run)
    status = main(
        ["run", "efficientnet-lite0", "--out", str(tmp_path), "--replicates", "2", "--budget", "1"]
    )
    assert status == 0
    assert seen["config"].replicates == 2
    assert seen["config"].budget_s == 60.0
