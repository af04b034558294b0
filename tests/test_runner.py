"""The runner end to end on fake models: records, reports, and the three failure kinds."""

import json
import sys

import pytest

from parity.results import store as results
from parity.run.runner import FAILED, OK, UNAVAILABLE, run


def _cells(record):
    return {c["cell_id"]: c for p in record["pairs"] for c in p["cells"]}


def test_run_writes_results_and_report(fake_pair, quick_config):
    config = quick_config()
    record = run([fake_pair()], config)
    saved = results.load_dict(config.out_dir / "results.json")
    assert saved["schema_version"] == results.SCHEMA_VERSION
    assert saved["run_id"] == record["run_id"]
    assert {"cpu", "cores_usable", "python"} <= set(saved["machine"])
    assert "numpy" in saved["libraries"] and "sha" in saved["commit"]
    cells = _cells(saved)
    assert {c["mode"] for c in cells.values()} == {"eager", "graph"}
    assert all(c["status"] == OK for c in cells.values())
    for cell in cells.values():  # raw samples are kept, statistics are derived from them
        for batch, stats in cell["latency_stats"].items():
            assert stats["n"] == len(cell["metrics"]["latency"][batch]["samples_ms"])
    evaluation = saved["pairs"][0]["evaluation"]
    assert evaluation["agreement"]["max_abs_diff"] == 0.0 and evaluation["agreement"]["passed"]
    accuracy = list(evaluation["accuracy"].values())
    assert len(accuracy) == 4 and len({a["spearman"] for a in accuracy}) == 1
    assert set(evaluation["latency"]) == {"1", "4"}
    assert evaluation["latency"]["4"]["torch_over_tf"]["verdict"] in (
        "tie",
        "PyTorch faster",
        "TensorFlow faster",
    )
    report = (config.out_dir / "report.md").read_text()
    assert "## Summary" in report and "## fake-ok-ok" in report and "pass: max abs" in report


def test_parent_imports_no_framework(fake_pair, quick_config):
    record = run([fake_pair()], quick_config())
    assert record["parent_framework_modules"] == []
    assert not set(results.FRAMEWORK_MODULES) & set(sys.modules)


def test_disagreement_fails_the_tolerance(fake_pair, quick_config):
    record = run(
        [fake_pair("fake:ok", "fake:noisy")],
        quick_config(modes={"torch": ("eager",), "tensorflow": ("eager",)}),
    )
    agreement = record["pairs"][0]["evaluation"]["agreement"]
    assert not agreement["passed"] and agreement["max_abs_diff"] > 1e-4


@pytest.mark.parametrize(
    "handle, reason",
    [
        ("fake:segfault", "crashed: killed by SIGSEGV"),
        ("fake:hang", "timed out after 4 s"),
        ("fake:raise", "RuntimeError: fake model refused to load: corrupt header"),
    ],
)
def test_a_failing_worker_becomes_a_failed_cell_and_the_run_goes_on(
    fake_pair, quick_config, handle, reason
):
    config = quick_config(timeout_s=4.0)
    record = run([fake_pair("fake:ok", handle), fake_pair("fake:ok", "fake:ok")], config)
    broken, healthy = record["pairs"]
    failed = [c for c in broken["cells"] if c["side"] == "tensorflow"]
    assert len(failed) == 2 and all(c["status"] == FAILED for c in failed)
    assert all(reason in c["reason"] for c in failed), [c["reason"] for c in failed]
    assert all("[worker" in c["stderr_tail"] for c in failed)  # the child's own log lines
    # The other side of the same pair, and the next pair, were measured all the same.
    assert all(c["status"] == OK for c in broken["cells"] if c["side"] == "torch")
    assert all(c["status"] == OK for c in healthy["cells"])
    assert broken["evaluation"]["agreement"] is None
    saved = json.loads((config.out_dir / "results.json").read_text())
    assert [
        reason in c["reason"] for c in saved["pairs"][0]["cells"] if c["side"] == "tensorflow"
    ] == [True, True]
    report = (config.out_dir / "report.md").read_text()
    assert "Cells that did not complete" in report and reason in report


def test_an_unavailable_model_is_marked_so(fake_pair, quick_config):
    record = run([fake_pair("fake:ok", "fake:unavailable")], quick_config())
    cells = [c for c in record["pairs"][0]["cells"] if c["side"] == "tensorflow"]
    assert {c["status"] for c in cells} == {UNAVAILABLE}
    assert "needs the network" in cells[0]["reason"]


def test_an_unknown_architecture_fails_its_cell_with_the_closest_names(fake_pair, quick_config):
    record = run([fake_pair("fake:ok", "fake:oj")], quick_config())
    cells = [c for c in record["pairs"][0]["cells"] if c["side"] == "tensorflow"]
    assert {c["status"] for c in cells} == {FAILED}  # a typo to fix, not a download to retry
    assert "unknown architecture 'oj'" in cells[0]["reason"]
    assert "did you mean 'ok'?" in cells[0]["reason"]
    assert "needs the network" not in cells[0]["reason"]


def test_nan_outputs_are_reported_never_averaged(fake_pair, quick_config):
    record = run([fake_pair("fake:ok", "fake:nan")], quick_config())
    evaluation = record["pairs"][0]["evaluation"]
    assert "NaN/Inf" in evaluation["agreement"]["error"]
    nan_cells = [k for k in evaluation["accuracy"] if "/tensorflow/" in k]
    assert all("NaN/Inf" in evaluation["accuracy"][k]["error"] for k in nan_cells)
    tf_cell = next(c for c in record["pairs"][0]["cells"] if c["side"] == "tensorflow")
    assert tf_cell["metrics"]["eval"]["nonfinite"] > 0


def test_missing_tokenizer_fails_the_pair_with_a_clear_reason(fake_pair, quick_config, tmp_path):
    from dataclasses import replace

    pair = replace(fake_pair(), tokenizer=f"hf:{tmp_path}/no-tokenizer-here")
    record = run([pair, fake_pair()], quick_config())
    assert record["pairs"][0]["status"] == FAILED
    assert "inputs could not be prepared" in record["pairs"][0]["reason"]
    assert record["pairs"][1]["status"] == OK


def test_results_loader_refuses_newer_and_broken_files(tmp_path):
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema_version": results.SCHEMA_VERSION + 1}))
    with pytest.raises(results.ResultsFileError, match="newer than this parity"):
        results.load(newer)
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1, ')
    with pytest.raises(results.ResultsFileError, match="not valid JSON"):
        results.load(broken)
    assert broken.read_text() == '{"schema_version": 1, '


def test_interrupting_the_parent_kills_the_running_worker(fake_pair, quick_config, monkeypatch):
    import os
    import subprocess

    started = []
    real_wait = subprocess.Popen.wait

    def interrupted_wait(self, timeout=None):
        if "parity.child.worker" in self.args and timeout is not None:  # simulate Ctrl-C
            started.append(self.pid)
            raise KeyboardInterrupt
        return real_wait(self)

    monkeypatch.setattr(subprocess.Popen, "wait", interrupted_wait)
    config = quick_config()
    with pytest.raises(KeyboardInterrupt):
        run([fake_pair("fake:hang", "fake:ok")], config)
    assert started
    with pytest.raises(ProcessLookupError):
        os.kill(started[0], 0)
    # What was measured before the interruption is still written.
    assert results.load_dict(config.out_dir / "results.json")["pairs"] == []


def test_published_files_are_readable_by_others(fake_pair, quick_config):
    import stat

    config = quick_config(modes={"torch": ("eager",), "tensorflow": ("eager",)})
    run([fake_pair()], config)
    for name in ("results.json", "report.md"):
        mode = (config.out_dir / name).stat().st_mode
        assert mode & stat.S_IROTH, f"{name} is not world-readable: {oct(mode)}"


def test_older_results_are_migrated_on_load(tmp_path, monkeypatch):
    def add_wall_s(record):
        return {**record, "wall_s": record.get("wall_s", 0.0)}

    monkeypatch.setattr(results, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(results.MIGRATIONS, 1, add_wall_s)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": 1, "pairs": []}))
    assert results.load_dict(old) == {"schema_version": 2, "pairs": [], "wall_s": 0.0}
    assert json.loads(old.read_text())["schema_version"] == 1  # the file itself is untouched
    monkeypatch.delitem(results.MIGRATIONS, 1)
    with pytest.raises(results.ResultsFileError, match="no migration from schema_version 1"):
        results.load(old)


def test_the_headline_comparison_is_replicated_over_fresh_process_pairs(fake_pair, quick_config):
    """Each batch's best modes duel in R fresh process pairs; the record carries the
    hierarchical comparison beside the cells' single-process ratio."""
    from dataclasses import replace

    config = quick_config(latency_batches=(1,), eval_batch=1)
    config = replace(
        config, profile=replace(config.profile, replicates=2, rounds=2, round_min_time_s=0.0)
    )
    record = run([fake_pair()], config)
    entry = record["pairs"][0]["evaluation"]["latency"]["1"]
    replicated = entry["replicated"]
    assert "error" not in replicated, replicated
    assert replicated["replicates"] == 2
    assert replicated["rounds"] == [2, 2]
    assert replicated["modes"] == {
        side: entry[side]["best_mode"] for side in ("torch", "tensorflow")
    }
    assert replicated["ci_low"] <= replicated["ratio"] <= replicated["ci_high"]
    assert replicated["interval"] == "rerun"
    assert len(replicated["replicate_medians_ms"]["torch"]) == 2
    assert "torch_over_tf" in entry  # the single-process ratio is kept beside it
