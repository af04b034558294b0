"""The executor layer without a cluster: shard bounds, sharded evaluation on the local
executor, the preflight's version check and the options the Ray executor refuses. (The
cluster itself: tests/test_ray.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from parity.cli.main import main
from parity.run import shards
from parity.run.executors.ray_cluster import driver_versions, probe, version_mismatches

EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def test_shards_are_whole_evaluation_batches_covering_every_row():
    assert shards.bounds(20, 8, 4) == [(0, 8), (8, 16), (16, 20)]
    assert shards.bounds(10, 5, 4) == [(0, 4), (4, 8), (8, 10)]  # 5 rows: one batch of 4
    assert shards.bounds(3, 1, 4) == [(0, 3)]  # never less than one batch
    for rows, size, batch in ((1000, 96, 32), (999, 100, 7), (50, 50, 8)):
        spans = shards.bounds(rows, size, batch)
        assert spans[0][0] == 0 and spans[-1][1] == rows
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert all(start % batch == 0 for start, _ in spans)


def test_a_sharded_local_run_gives_the_unsharded_outputs(fake_pair, quick_config, tmp_path):
    from parity.run.runner import run

    # Deterministic models (fake:noisy draws its noise from one stream over all its calls).
    pair = fake_pair("fake:ok", "fake:ok")
    common = dict(modes=EAGER_ONLY, latency_batches=(1,), keep_work=True, limit=12)
    whole = run([pair], quick_config(out_dir=tmp_path / "whole", **common))
    split = run([pair], quick_config(out_dir=tmp_path / "split", shard_rows=8, **common))
    assert "executor" not in split  # the local executor, as before
    for a, b in zip(whole["pairs"][0]["cells"], split["pairs"][0]["cells"], strict=True):
        assert a["status"] == b["status"] == "ok"
        assert np.array_equal(np.load(a["output_path"]), np.load(b["output_path"]))
        assert len(b["metrics"]["shards"]) == 3 and "shards" not in a["metrics"]
        assert b["metrics"]["eval"]["rows"] == a["metrics"]["eval"]["rows"] == 24
        assert set(b["latency_stats"]) == {"1"}
    evaluation = {k: v for k, v in whole["pairs"][0]["evaluation"].items() if k != "latency"}
    assert evaluation == {
        k: v for k, v in split["pairs"][0]["evaluation"].items() if k != "latency"
    }


def test_a_failed_shard_fails_its_cell_and_says_which():
    spans = [(0, 4), (4, 8)]
    records = [
        {"status": "ok", "metrics": {}},
        {"status": "failed", "reason": "crashed: killed by SIGSEGV", "stderr_tail": "x"},
    ]
    merged = shards.merge(records, [{}, {}], spans)
    assert merged["status"] == "failed"
    assert merged["reason"] == "evaluation shard 2/2: crashed: killed by SIGSEGV"


def test_a_node_with_other_library_versions_is_named():
    driver = driver_versions()
    node = {**driver, "libraries": {**driver["libraries"], "numpy": "0.0.1"}}
    assert version_mismatches(driver, driver) == []
    differ = version_mismatches(driver, node)
    assert differ == [f"numpy 0.0.1 (driver {driver['libraries']['numpy']})"]
    assert version_mismatches(driver, {**driver, "protocol": -1}) == [
        f"protocol -1 (driver {driver['protocol']})"
    ]


def test_a_malformed_cluster_address_is_refused():
    from parity.errors import OptionsError

    with pytest.raises(OptionsError, match="HOST:PORT"):
        probe("no-port-here")


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--jobs", "2"], "--jobs is for --executor local"),
        (["--shard-rows", "-1"], "--shard-rows must be at least 0"),
    ],
)
def test_options_the_ray_executor_refuses(extra, says, capsys, tmp_path):
    argv = ["run", "all-MiniLM-L6-v2", "--executor", "ray", "--out", str(tmp_path), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_ray_without_an_address_asks_for_one(capsys, tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="Ray is not installed")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["run", "all-MiniLM-L6-v2", "--executor", "ray", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cluster HOST:PORT or set RAY_ADDRESS" in err[0]


def test_a_lost_cell_is_left_out_of_the_journal_and_measured_on_resume(
    fake_pair, quick_config, monkeypatch
):
    """The runner's side of a lost node, with an executor that loses one cell once."""
    from parity.run import executors
    from parity.run.executors.local import LocalExecutor
    from parity.run.journal import runs_folder
    from parity.run.runner import run

    class LosesOnce(LocalExecutor):
        losing = True

        def run_worker(self, job):
            if job.spec["cell_id"].endswith("/torch/eager") and LosesOnce.losing:
                LosesOnce.losing = False
                raise executors.CellLost("NodeDiedError: the node running it died")
            return super().run_worker(job)

    monkeypatch.setattr(executors, "open_executor", LosesOnce)
    pair = fake_pair()
    config = quick_config(modes=EAGER_ONLY, latency_batches=(1,))
    first = run([pair], config)
    cells = {c["cell_id"]: c for c in first["pairs"][0]["cells"]}
    lost = cells[f"{pair.id}/torch/eager"]
    assert lost["status"] == "failed" and "lost on its node (NodeDiedError" in lost["reason"]
    assert cells[f"{pair.id}/tensorflow/eager"]["status"] == "ok"
    (work,) = runs_folder(config.out_dir).iterdir()  # kept: the run did not complete
    journaled = sorted(p.parent.name for p in work.glob("cells/*/record.json"))
    assert journaled == [f"{pair.id}__tensorflow__eager"]
    again = run([pair], quick_config(modes=EAGER_ONLY, latency_batches=(1,), resume=work))
    cells = {c["cell_id"]: c for c in again["pairs"][0]["cells"]}
    assert cells[f"{pair.id}/torch/eager"]["status"] == "ok"
    assert not cells[f"{pair.id}/torch/eager"].get("resumed")
    assert cells[f"{pair.id}/tensorflow/eager"]["resumed"] is True
    assert not runs_folder(config.out_dir).exists()  # completed this time


def test_each_cell_is_set_against_the_peak_of_its_own_node():
    from parity.run.peak import attach_efficiency

    def cell(node: str) -> dict:
        return {
            "node": {"id": node},
            "metrics": {"flops": {"per_sample": 1e9}},
            "latency_stats": {"1": {"median": 100.0}},  # 10 GFLOP/s achieved
        }

    record = {
        "machine": {
            "gemm_peak": {"gflops_per_s": None, "error": "measured per node"},
            "nodes": {"a": {"gemm_peak": {"gflops_per_s": 20.0}}, "b": {"gemm_peak": {}}},
        },
        "pairs": [{"cells": [cell("a"), cell("b")]}],
    }
    attach_efficiency(record)
    on_a, on_b = (c["efficiency"]["1"] for c in record["pairs"][0]["cells"])
    assert on_a["gflops_per_s"] == 10.0 and on_a["percent_of_peak"] == 50.0
    assert on_b["percent_of_peak"] is None  # its node's peak is unknown: never another's


def test_a_task_that_raises_on_its_node_loses_its_cell_in_one_line(quick_config):
    """A failure of the task's own Python on a node (a full disk, say) is that cell lost,
    named in one line, not a traceback that stops the run."""
    ray = pytest.importorskip("ray")
    from parity.run.executors import CellLost
    from parity.run.executors.ray_cluster import RayExecutor

    class NodeWithFullDisk:
        exceptions = ray.exceptions

        def remote(self, **options):
            return lambda function: function

        def wait(self, refs, timeout):
            return refs, []

        def get(self, ref):
            cause = OSError(28, "No space left on device")
            raise ray.exceptions.RayTaskError("run_worker", "Traceback ...", cause, ip="127.0.0.2")

    executor = RayExecutor(NodeWithFullDisk(), "127.0.0.1:6379", [], quick_config())
    with pytest.raises(CellLost) as lost:
        executor._wait("a task")
    said = str(lost.value)
    assert said.startswith("the task failed on 127.0.0.2: OSError:")
    assert "No space left on device" in said and "\n" not in said
