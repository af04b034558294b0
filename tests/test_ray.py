"""`parity run --executor ray` on a simulated cluster (ray.cluster_utils.Cluster).

One cluster serves every test here: tests/ray_scenarios.py starts it inside a network
namespace of its own (`unshare -n -r`: its only interface is loopback, so every Ray
service binds 127.0.0.1 and nothing listens on, or reaches, another address), runs the
scenarios and leaves their results under one folder; each test judges those files.
Skipped, with the reason, where Ray or an unprivileged network namespace is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parent.parent
SCENARIOS_TIMEOUT_S = 900
RAY_LOG_LINE = re.compile(r"\[\d{4}-\d\d-\d\d [\d:,]+ [DIWEF] \d+ \d+\] \w+\.cc:\d+: ")


def _namespace_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2) for a loopback-only namespace"
    done = subprocess.run(
        ["unshare", "-n", "-r", "ip", "link", "set", "lo", "up"], capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"cannot make an unprivileged network namespace here: {done.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory, word_tokenizer) -> Path:
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'zoo-parity[ray]'")
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    out = tmp_path_factory.mktemp("ray-scenarios")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ["PYTHONPATH"]])}
    done = subprocess.run(
        [
            "unshare",
            "-n",
            "-r",
            sys.executable,
            str(ROOT / "tests" / "ray_scenarios.py"),
            str(out),
            str(word_tokenizer),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=SCENARIOS_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    return out


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _results(folder: Path, name: str = "results.json") -> dict:
    return json.loads((folder / name).read_text())


def _cells(record: dict) -> dict[str, dict]:
    return {cell["cell_id"]: cell for pair in record["pairs"] for cell in pair["cells"]}


def test_two_timed_workers_never_overlap_on_a_node(scenarios):
    """From the workers' own traces (start of loading to exit): while a timed worker runs,
    no other worker runs on its node; untimed shards do share nodes."""
    record = _results(scenarios / "mixed-ray")
    runs = []  # (node, timed, pid)
    for cell in _cells(record).values():
        metrics = cell.get("metrics") or {}
        if cell["status"] != "ok":
            continue
        runs.append((cell["node"]["id"], bool(metrics["latency"]), metrics["pid"]))
        for shard in metrics.get("shards", [])[1:]:
            runs.append((shard["node"]["id"], False, shard["pid"]))
    traces = {
        int(path.stem): json.loads(path.read_text())
        for path in (scenarios / "traces").glob("*.json")
    }
    spans = [(node, timed, traces[pid]) for node, timed, pid in runs if pid in traces]
    timed = [s for s in spans if s[1]]
    # The check means something only if timed workers, and untimed ones, competed for a node.
    contested = [
        node
        for node in {s[0] for s in spans}
        if sum(s[0] == node for s in timed) >= 2 and any(s[0] == node and not s[1] for s in spans)
    ]
    assert contested, "no node ran two timed workers and an untimed one"
    for node, _, span in timed:
        for other_node, _, other in spans:
            if other is span or other_node != node:
                continue
            overlap = min(span["end"], other["end"]) - max(span["start"], other["start"])
            assert overlap <= 0, f"a worker ran beside a timed one on node {node[:8]}"
    # A pair's timed cells ran on one node.
    for pair in record["pairs"]:
        nodes = {c["node"]["id"] for c in pair["cells"] if c.get("node")}
        assert len(nodes) <= 1, pair["id"]


def _without_latency(evaluation: dict) -> dict:
    return {k: v for k, v in evaluation.items() if k not in ("latency", "onnx_latency")}


def test_a_mixed_suite_on_the_cluster_equals_the_local_run_but_for_latency(scenarios):
    on_ray, local = _results(scenarios / "mixed-ray"), _results(scenarios / "mixed-local")
    assert record_nodes(on_ray) <= set(_summary(scenarios)["parity_nodes"])
    assert on_ray["executor"]["name"] == "ray" and "executor" not in local
    assert [p["id"] for p in on_ray["pairs"]] == [p["id"] for p in local["pairs"]]
    for ray_pair, local_pair in zip(on_ray["pairs"], local["pairs"], strict=True):
        assert _without_latency(ray_pair["evaluation"]) == _without_latency(
            local_pair["evaluation"]
        )
        for ray_cell, local_cell in zip(ray_pair["cells"], local_pair["cells"], strict=True):
            assert ray_cell["status"] == local_cell["status"], ray_cell["cell_id"]
            assert ray_cell.get("reason") == local_cell.get("reason")
            if ray_cell["status"] == "ok":
                shown = ("rows", "output_shape", "nonfinite", "extra")
                ray_eval, local_eval = ray_cell["metrics"]["eval"], local_cell["metrics"]["eval"]
                assert {k: ray_eval.get(k) for k in shown} == {k: local_eval.get(k) for k in shown}
                assert set(ray_cell["latency_stats"]) == set(local_cell["latency_stats"])


def record_nodes(record: dict) -> set[str]:
    return {c["node"]["id"] for c in _cells(record).values() if c.get("node")}


def test_a_duel_runs_on_the_cluster_as_locally(scenarios):
    on_ray, local = _results(scenarios / "mixed-ray"), _results(scenarios / "mixed-local")
    for record in (on_ray, local):
        block = record["pairs"][0]["evaluation"]["latency"]["1"]["replicated"]
        assert "error" not in block, block
        medians = block["replicate_medians_ms"]
        assert len(medians["torch"]) == len(medians["tensorflow"]) == 2
    assert "replicated" not in on_ray["pairs"][1]["evaluation"]["latency"]["1"]


def test_a_sharded_evaluation_equals_the_unsharded_one(scenarios):
    on_ray, local = (
        _cells(_results(scenarios / "mixed-ray")),
        _cells(_results(scenarios / "mixed-local")),
    )
    sharded = [cid for cid, cell in on_ray.items() if (cell.get("metrics") or {}).get("shards")]
    assert any(cid.startswith("fakeimg") for cid in sharded)
    assert any(cid.startswith("text-") for cid in sharded)
    shard_nodes = {s["node"]["id"] for c in sharded for s in on_ray[c]["metrics"]["shards"]}
    assert len(shard_nodes) == 2  # spread over the cluster's nodes
    for cell_id in sharded:
        shards = on_ray[cell_id]["metrics"]["shards"]
        assert len(shards) >= 2 and all(s["rows"][0] % 4 == 0 for s in shards)
        ray_out = np.load(on_ray[cell_id]["output_path"])
        local_out = np.load(local[cell_id]["output_path"])
        assert np.array_equal(ray_out, local_out), cell_id  # bit for bit
        if cell_id.startswith("fakeimg"):
            assert np.array_equal(ray_out.argmax(-1), local_out.argmax(-1))
            for track in on_ray[cell_id].get("extra_output_paths") or {}:
                assert np.array_equal(
                    np.load(on_ray[cell_id]["extra_output_paths"][track]),
                    np.load(local[cell_id]["extra_output_paths"][track]),
                )
    image = next(p for p in _results(scenarios / "mixed-ray")["pairs"] if p["id"].startswith("fa"))
    local_image = next(
        p for p in _results(scenarios / "mixed-local")["pairs"] if p["id"].startswith("fa")
    )
    assert image["evaluation"]["accuracy"] == local_image["evaluation"]["accuracy"]
    assert image["evaluation"]["tracks"] == local_image["evaluation"]["tracks"]


def test_a_segfaulting_cell_is_a_failed_cell(scenarios):
    cells = _cells(_results(scenarios / "mixed-ray"))
    crashed = cells["segfault/torch/eager"]
    assert crashed["status"] == "failed" and "SIGSEGV" in crashed["reason"]
    assert cells["segfault/tensorflow/eager"]["status"] == "ok"


def test_a_cell_lost_with_its_node_is_measured_again_on_resume(scenarios):
    summary = _summary(scenarios)
    killed = summary.get("killed_node")
    assert killed, "the slow cell's worker was never seen running"
    first = _cells(_results(scenarios / "killed", "first-results.json"))
    lost = first["killed/torch/eager"]
    assert lost["status"] == "failed" and "lost on its node" in lost["reason"]
    assert summary["killed_work"], "the interrupted run's work folder was not kept"
    assert "killed__torch__eager" not in summary["journaled_before_resume"]
    resumed = _cells(_results(scenarios / "killed"))
    assert resumed["killed/torch/eager"]["status"] == "ok"
    assert not resumed["killed/torch/eager"].get("resumed")  # measured again, not kept
    nodes = {cell["node"]["id"] for cell in resumed.values()}
    assert len(nodes) == 1 and killed not in nodes  # the pair's timings on one live node


@pytest.mark.parametrize(
    "scenario, says", [("no_node", "parity_node"), ("unreachable", "cannot be reached")]
)
def test_a_cluster_that_cannot_run_the_cells_is_refused_in_one_line(scenarios, scenario, says):
    found = _summary(scenarios)[scenario]
    assert found["returncode"] == 2, found
    # In the namespace Ray's C++ core logs that it found no route outside (a machine with a
    # network does not): its log lines aside, the answer is one line.
    lines = [line for line in found["stderr"].splitlines() if not RAY_LOG_LINE.match(line)]
    assert len(lines) == 1 and says in lines[0], found["stderr"]
    assert lines[0].startswith("parity run: ")
