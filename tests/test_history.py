"""Run history (SQLite) and `parity compare`: round trips, and regressions planted on purpose.

Records come from the real runner on the fake numpy models (under a second each) or from
a fixed published record (tests/golden/results_v1.json); nothing here imports torch or TensorFlow.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from parity.cli.main import build_parser, main
from parity.cli.run import _history_path
from parity.errors import OptionsError
from parity.evaluate.statistics import summarize
from parity.history import compare, rules
from parity.history import store as history
from parity.results import store as results
from parity.run.runner import FAILED, run

# A fixed record (the published results.json of run 20261122T070012Z), not reports/, which
# every publish rewrites.
COMMITTED = Path(__file__).resolve().parent / "golden" / "results_v1.json"


@pytest.fixture
def real_run(fake_pair, quick_config):
    """A fresh record of the real runner on the fake same-weights pair."""
    return run([fake_pair()], quick_config())


def _later(record: dict, run_id: str, started_utc: str) -> dict:
    copied = copy.deepcopy(record)
    copied["run_id"], copied["started_utc"] = run_id, started_utc
    return copied


def _write(path: Path, record: dict) -> str:
    results.save(path, record)
    return str(path)


def _cell(record: dict, cell_id: str) -> dict:
    return next(c for p in record["pairs"] for c in p["cells"] if c["cell_id"] == cell_id)


def _compare(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["compare", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- flatten ----------------------------------------------------------------------------


def test_flatten_names_every_comparable_figure_of_the_committed_record():
    record = results.load(COMMITTED)
    flat = compare.flatten(record)
    pair = "all-MiniLM-L6-v2"
    eager = record.pairs[0].cells[0]
    assert flat[f"{pair}/torch/eager/b1/median_ms"] == eager.latency_stats["1"].median
    assert flat[f"{pair}/torch/eager/b8/p90_ms"] == eager.latency_stats["8"].p90
    assert flat[f"{pair}/torch/eager/status"] == "ok"
    assert flat[f"{pair}/torch/eager/peak_infer_mib"] == eager.metrics.memory.peak_infer_mib
    assert flat[f"{pair}/torch/eager/peak_load_mib"] == eager.metrics.memory.peak_load_mib
    assert flat[f"{pair}/agreement/passed"] == 0.0  # the committed MiniLM run fails atol 1e-4
    assert flat[f"{pair}/agreement/max_abs_diff"] == pytest.approx(0.00449, abs=1e-5)
    assert flat[f"{pair}/accuracy/tensorflow/xla/spearman"] == pytest.approx(0.7616, abs=1e-4)
    diagnostic = f"{pair}/torch/diagnostic:torch-tanh-gelu"
    assert flat[f"{diagnostic}/status"] == "ok"
    assert flat[f"{diagnostic}/agreement/passed"] == 1.0
    assert not any(k.startswith(f"{diagnostic}/b") for k in flat)  # diagnostics are not timed
    assert all(isinstance(v, (float, str)) for v in flat.values())


def test_flatten_of_a_failed_cell_and_an_errored_agreement():
    record = results.load_dict(COMMITTED)
    (cell,) = [
        c
        for c in record["pairs"][0]["cells"]
        if c["cell_id"] == "all-MiniLM-L6-v2/tensorflow/eager"
    ]
    for name in ("metrics", "latency_stats"):
        cell.pop(name)
    cell.update(status=FAILED, reason="crashed: killed by SIGSEGV")
    record["pairs"][0]["evaluation"]["agreement"] = {"error": "outputs contain NaN"}
    flat = compare.flatten(record)
    assert flat["all-MiniLM-L6-v2/tensorflow/eager/status"] == "failed"
    assert "all-MiniLM-L6-v2/tensorflow/eager/b1/median_ms" not in flat
    assert flat["all-MiniLM-L6-v2/agreement/error"] == "outputs contain NaN"
    assert "all-MiniLM-L6-v2/agreement/passed" not in flat


# --- the database -----------------------------------------------------------------------


def test_append_and_load_run_round_trip(real_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.append(db, real_run)
    assert history.load_run(real_run["run_id"], db).to_dict() == json.loads(json.dumps(real_run))
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == (
            history.HISTORY_SCHEMA_VERSION
        )
        row = connection.execute(
            "SELECT started_utc, commit_sha, commit_dirty, machine, libraries, settings "
            "FROM runs WHERE run_id = ?",
            (real_run["run_id"],),
        ).fetchone()
        metrics = dict(
            connection.execute(
                "SELECT key, coalesce(value, text) FROM metrics WHERE run_id = ?",
                (real_run["run_id"],),
            ).fetchall()
        )
    assert row[0] == real_run["started_utc"] and row[1] == real_run["commit"]["sha"]
    assert json.loads(row[3])["cpu"] == real_run["machine"]["cpu"]
    assert "numpy" in json.loads(row[4]) and json.loads(row[5])["threads"] == 1
    assert metrics == compare.flatten(real_run)
    assert metrics["fake-ok-ok/torch/eager/status"] == "ok"


def test_latest_and_previous_follow_start_time_not_insertion_order(tmp_path):
    record = results.load_dict(COMMITTED)
    db = tmp_path / "h.sqlite"
    newer = _later(record, "20270101T000000Z-bbbbbb", "2027-01-01T00:00:00+00:00")
    older = _later(record, "20260101T000000Z-aaaaaa", "2026-01-01T00:00:00+00:00")
    history.append(db, newer)
    history.append(db, older)
    assert history.load_run("latest", db).run_id == newer["run_id"]
    assert history.load_run("previous", db).run_id == older["run_id"]
    assert [r.run_id for r in history.runs(db)] == [newer["run_id"], older["run_id"]]
    # A results.json path is read directly, without the database.
    assert history.load_run(str(COMMITTED), tmp_path / "absent.sqlite").run_id == (record["run_id"])


def test_previous_needs_two_runs(tmp_path):
    db = tmp_path / "h.sqlite"
    history.append(db, results.load(COMMITTED))
    with pytest.raises(history.HistoryError, match="only 1 run"):
        history.load_run("previous", db)


def test_reappending_a_run_id_replaces_it(real_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.append(db, real_run)
    changed = copy.deepcopy(real_run)
    changed["pairs"][0]["cells"].pop()  # one cell fewer, so its metrics must go too
    gone = f"{real_run['pairs'][0]['cells'][-1]['cell_id']}/status"
    changed["wall_s"] = 123.0
    history.append(db, changed)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*), max(wall_s) FROM runs").fetchone() == (
            1,
            123.0,
        )
        keys = {k for (k,) in connection.execute("SELECT key FROM metrics")}
    assert gone not in keys and keys == set(compare.flatten(changed))
    assert history.load_run("latest", db).wall_s == 123.0


def test_a_newer_history_schema_is_refused_and_left_untouched(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute(f"PRAGMA user_version = {history.HISTORY_SCHEMA_VERSION + 1}")
    record = results.load(COMMITTED)
    with pytest.raises(history.HistoryError, match="newer than this parity"):
        history.append(db, record)
    with pytest.raises(history.HistoryError, match="newer than this parity"):
        history.load_run("latest", db)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    code, _, err = _compare(capsys, "latest", "previous", "--db", str(db))
    assert code == 2 and "newer than this parity" in err


def test_a_results_file_with_a_newer_schema_is_refused(tmp_path, capsys):
    record = results.load_dict(COMMITTED)
    record["schema_version"] = results.SCHEMA_VERSION + 1
    path = _write(tmp_path / "future.json", record)
    with pytest.raises(history.HistoryError, match="newer than this parity"):
        history.load_run(path)
    code, _, err = _compare(capsys, str(COMMITTED), path)
    assert code == 2 and "upgrade zoo-parity" in err


def test_run_records_the_history_even_when_a_cell_fails(fake_pair, quick_config, tmp_path):
    db = tmp_path / "h.sqlite"
    record = run([fake_pair("fake:ok", "fake:raise")], quick_config(history=db))
    stored = history.load_run("latest", db)
    assert stored.run_id == record["run_id"]
    flat = compare.flatten(stored)
    assert flat["fake-ok-raise/tensorflow/eager/status"] == FAILED
    assert flat["fake-ok-raise/torch/eager/status"] == "ok"


def test_an_interrupted_run_is_recorded(fake_pair, quick_config, tmp_path, monkeypatch):
    from parity.run import runner

    measured = runner.run_pair

    def interrupt_second(pair, *args):
        if pair.id == "fake-ok-noisy":
            raise KeyboardInterrupt
        return measured(pair, *args)

    monkeypatch.setattr(runner, "run_pair", interrupt_second)
    db = tmp_path / "h.sqlite"
    with pytest.raises(KeyboardInterrupt):
        run([fake_pair(), fake_pair("fake:ok", "fake:noisy")], quick_config(history=db))
    stored = history.load_run("latest", db)
    assert [p.id for p in stored.pairs] == ["fake-ok-ok"]
    assert compare.flatten(stored)["fake-ok-ok/agreement/passed"] == 1.0


def test_a_history_failure_keeps_results_json(fake_pair, quick_config, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 99")
    config = quick_config(history=db)
    record = run([fake_pair()], config)
    assert results.load(config.out_dir / "results.json").run_id == record["run_id"]
    err = capsys.readouterr().err
    assert f"could not record run {record['run_id']}" in err and "results.json is saved" in err


def test_run_command_history_options():
    parser = build_parser()
    assert _history_path(parser.parse_args(["run", "p", "--out", "o"])) == Path("o/history.sqlite")
    assert _history_path(parser.parse_args(["run", "p", "--history", "h.db"])) == Path("h.db")
    assert _history_path(parser.parse_args(["run", "p", "--no-history"])) is None
    with pytest.raises(OptionsError, match="not allowed with argument --history"):
        parser.parse_args(["run", "p", "--history", "h.db", "--no-history"])


# --- compare and planted regressions ----------------------------------------------------


def test_compare_rows_mark_changes_and_one_sided_keys(real_run):
    slower = copy.deepcopy(real_run)
    _cell(slower, "fake-ok-ok/torch/eager")["latency_stats"]["1"]["median"] *= 2
    slower["pairs"][0]["cells"].pop()
    rows = {row.key: row for row in compare.compare(real_run, slower)}
    assert rows["fake-ok-ok/torch/eager/b1/median_ms"].change == "+100.0%"
    assert rows["fake-ok-ok/torch/eager/status"].change == ""
    removed = real_run["pairs"][0]["cells"][-1]["cell_id"]
    assert rows[f"{removed}/status"].change == "only in A" and rows[f"{removed}/status"].b is None
    assert not any(row.changed for row in compare.compare(real_run, real_run))


def _slow_down(record: dict, cell_id: str, factor: float) -> dict:
    """B: every latency sample of one cell multiplied, its statistics recomputed."""
    slower = copy.deepcopy(record)
    cell = _cell(slower, cell_id)
    for batch, entry in cell["metrics"]["latency"].items():
        entry["samples_ms"] = [s * factor for s in entry["samples_ms"]]
        cell["latency_stats"][batch] = summarize(entry["samples_ms"]).to_dict()
    return slower


def test_planted_latency_regression_fails_compare(real_run, tmp_path, capsys):
    a = _write(tmp_path / "a.json", real_run)
    same = _write(tmp_path / "same.json", copy.deepcopy(real_run))
    b = _write(tmp_path / "b.json", _slow_down(real_run, "fake-ok-ok/tensorflow/graph", 1.5))

    code, out, _ = _compare(capsys, a, b, "--fail-on", "median:+10%")
    assert code == 1, out
    assert "[median:+10%] fake-ok-ok/tensorflow/graph/b1/median_ms" in out
    assert "+50.0%" in out
    assert "fake-ok-ok/torch/eager/b1" not in out.split("regression(s)")[1]  # only that cell

    code, out, _ = _compare(capsys, a, same, "--fail-on", "median:+10%")
    assert code == 0, out
    assert "no regressions (median:+10%)" in out and "no differences" in out

    # 50% slower is within a 60% allowance; without rules a difference is only shown.
    assert _compare(capsys, a, b, "--fail-on", "median:+60%")[0] == 0
    code, out, _ = _compare(capsys, a, b)
    assert code == 0 and "fake-ok-ok/tensorflow/graph" in out


def test_planted_latency_regression_through_the_history(real_run, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    history.append(db, real_run)
    slower = _slow_down(real_run, "fake-ok-ok/torch/eager", 1.5)
    slower["run_id"], slower["started_utc"] = "20991231T235959Z-beefed", "2099-12-31T23:59:59+00:00"
    history.append(db, slower)
    code, out, _ = _compare(
        capsys, "previous", "latest", "--db", str(db), "--fail-on", "median:+10%"
    )
    assert code == 1 and "fake-ok-ok/torch/eager/b4/median_ms" in out
    code, out, _ = _compare(capsys, real_run["run_id"], real_run["run_id"], "--db", str(db))
    assert code == 0


def test_planted_agreement_regression_fails_compare(real_run, tmp_path, capsys):
    assert real_run["pairs"][0]["evaluation"]["agreement"]["passed"]
    a = _write(tmp_path / "a.json", real_run)
    failing = copy.deepcopy(real_run)
    failing["pairs"][0]["evaluation"]["agreement"]["passed"] = False
    errored = copy.deepcopy(real_run)
    errored["pairs"][0]["evaluation"]["agreement"] = {"error": "outputs contain NaN"}

    code, out, _ = _compare(
        capsys, a, _write(tmp_path / "b.json", failing), "--fail-on", "agreement"
    )
    assert code == 1 and "[agreement] fake-ok-ok/agreement/passed: passed in A, fails in B" in out
    code, out, _ = _compare(
        capsys, a, _write(tmp_path / "c.json", errored), "--fail-on", "agreement"
    )
    assert code == 1 and "could not be computed: outputs contain NaN" in out
    assert _compare(capsys, a, a, "--fail-on", "agreement")[0] == 0


def test_planted_status_regression_fails_compare(real_run, tmp_path, capsys):
    a = _write(tmp_path / "a.json", real_run)
    broken = copy.deepcopy(real_run)
    cell = _cell(broken, "fake-ok-ok/tensorflow/eager")
    for name in ("metrics", "latency_stats", "output_path"):
        cell.pop(name)
    cell.update(status=FAILED, reason="crashed: killed by SIGSEGV")
    b = _write(tmp_path / "b.json", broken)

    code, out, _ = _compare(capsys, a, b, "--fail-on", "status")
    assert code == 1
    assert "[status] fake-ok-ok/tensorflow/eager/status: ok in A, failed in B" in out
    assert "ok -> failed" in out and "only in A" in out  # the table shows it too
    assert _compare(capsys, a, a, "--fail-on", "status")[0] == 0
    # The other way round (failed in A, ok in B) is a recovery, not a regression.
    assert _compare(capsys, b, a, "--fail-on", "status")[0] == 0


def test_accuracy_rule_is_an_absolute_drop(real_run, tmp_path, capsys):
    a = _write(tmp_path / "a.json", real_run)
    accuracy = real_run["pairs"][0]["evaluation"]["accuracy"]

    def dropped(by: float) -> str:
        lower = copy.deepcopy(real_run)
        lower["pairs"][0]["evaluation"]["accuracy"]["fake-ok-ok/torch/graph"]["spearman"] = (
            accuracy["fake-ok-ok/torch/graph"]["spearman"] - by
        )
        return _write(tmp_path / f"drop{by}.json", lower)

    code, out, _ = _compare(capsys, a, dropped(0.02), "--fail-on", "accuracy:-0.01")
    assert code == 1 and "fake-ok-ok/accuracy/torch/graph/spearman" in out
    assert _compare(capsys, a, dropped(0.005), "--fail-on", "accuracy:-0.01")[0] == 0


def test_several_rules_comma_separated_or_repeated(real_run, tmp_path, capsys):
    a = _write(tmp_path / "a.json", real_run)
    b = _write(tmp_path / "b.json", _slow_down(real_run, "fake-ok-ok/torch/graph", 1.5))
    code, out, _ = _compare(
        capsys, a, b, "--fail-on", "status,agreement", "--fail-on", "median:+5%"
    )
    assert code == 1 and "regression(s) (status, agreement, median:+5%)" in out
    assert "[median:+5%] fake-ok-ok/torch/graph/b1/median_ms" in out
    assert "[status]" not in out and "[agreement]" not in out


@pytest.mark.parametrize(
    "rule", ["median:+10", "median:-10%", "speed:+10%", "accuracy:-1%", "agreement:1", "", "p90"]
)
def test_a_malformed_rule_exits_2_naming_the_forms(rule, capsys):
    code, out, err = _compare(capsys, str(COMMITTED), str(COMMITTED), "--fail-on", rule)
    assert code == 2 and out == ""
    assert "is not a rule; accepted forms: median:+N%" in err and "accuracy:-X" in err
    with pytest.raises(rules.RuleError):
        rules.parse_rule(rule)


def test_accepted_rule_forms():
    assert rules.parse_rule("median:+10%") == rules.Rule("median:+10%", "growth", "median_ms", 0.1)
    assert rules.parse_rule("peak_infer_mib:5%").limit == 0.05
    assert rules.parse_rule(" accuracy:-0.01 ").limit == 0.01
    assert rules.parse_rule("status").kind == "status"


def test_unknown_run_id_exits_2_with_the_closest_ids(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    record = results.load(COMMITTED)
    history.append(db, record)
    typo = record.run_id[:-1] + "x"
    code, out, err = _compare(capsys, typo, "latest", "--db", str(db))
    assert code == 2 and out == ""
    assert f"no run {typo!r}" in err and record.run_id in err


@pytest.mark.parametrize(
    "ref, message",
    [
        ("missing.json", "no such results file"),
        ("bad.json", "is not valid JSON"),
        ("latest", "no history database"),
    ],
)
def test_unreadable_input_exits_2(ref, message, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    if ref.endswith(".json"):
        ref = str(tmp_path / ref)
    code, _, err = _compare(capsys, str(COMMITTED), ref, "--db", str(tmp_path / "none.sqlite"))
    assert code == 2 and message in err
    assert not (tmp_path / "none.sqlite").exists()  # reading never creates a database


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: r.update(pairs="oops"), "record.pairs should be a list, not str"),
        (lambda r: r["pairs"][0].update(cells="x"), "record.pairs[0].cells should be a list"),
        (lambda r: r.update(machine=None), "record.machine should be an object, not null"),
        (lambda r: r["pairs"][0]["cells"].__setitem__(0, 7), "cells[0] should be an object"),
    ],
)
def test_a_results_file_of_the_wrong_shape_exits_2(damage, message, tmp_path, capsys):
    """Valid JSON with a schema_version, but edited or truncated into another shape: one
    line naming the place, not a traceback from deep in the comparison."""
    record = json.loads(COMMITTED.read_text())
    damage(record)
    (tmp_path / "edited.json").write_text(json.dumps(record))
    code, out, err = _compare(capsys, str(COMMITTED), str(tmp_path / "edited.json"))
    assert code == 2 and out == "" and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_compare_command_imports_no_framework():
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['parity', 'compare', {str(COMMITTED)!r}, {str(COMMITTED)!r}, "
        "'--fail-on', 'median:+10%,agreement,accuracy:-0.01,status']\n"
        "try:\n    runpy.run_module('parity.cli', run_name='__main__')\n"
        "except SystemExit as done:\n    print('EXIT', done.code)\n"
        f"print('LOADED', sorted(m for m in {results.FRAMEWORK_MODULES!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "EXIT 0" in done.stdout and "LOADED []" in done.stdout, done.stdout + done.stderr


def test_flatten_keeps_image_accuracy_tracks_and_divergence():
    record = {
        "pairs": [
            {
                "id": "p",
                "status": "ok",
                "cells": [],
                "evaluation": {
                    "accuracy": {
                        "p/torch/eager": {"top1": 0.8, "top5": 1.0, "track_b": {"top1": 0.6}}
                    },
                    "divergence": {
                        "layers": [{"label": "stem"}],
                        "first_over_atol": {"label": "stem", "max_abs_diff": 7.5},
                        "largest": {"label": "stem", "max_abs_diff": 7.5},
                    },
                },
            }
        ]
    }
    flat = compare.flatten(record)
    assert flat["p/accuracy/torch/eager/top1"] == 0.8
    assert flat["p/accuracy/torch/eager/track_b/top1"] == 0.6
    assert flat["p/divergence/first_over_atol"] == "stem"
    assert flat["p/divergence/largest_max_abs_diff"] == 7.5


def test_accuracy_rule_watches_image_top1_too():
    def run_with(top1: float) -> dict:
        accuracy = {"p/torch/eager": {"top1": top1, "top5": 1.0}}
        return {"pairs": [{"id": "p", "cells": [], "evaluation": {"accuracy": accuracy}}]}

    found = rules.regressions(run_with(0.8), run_with(0.6), ["accuracy:-0.1"])
    assert [r.key for r in found] == ["p/accuracy/torch/eager/top1"]
    assert not rules.regressions(run_with(0.8), run_with(0.75), ["accuracy:-0.1"])
