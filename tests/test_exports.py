"""Export modes in the parent: planned only when asked for, kept out of the native
comparison, judged against a tolerance scaled to the output, and shown in the verdict
rows. The exports themselves are in test_exports_frameworks.py."""

from __future__ import annotations

import numpy as np
import pytest

from parity.evaluate import checks
from parity.publish.verdicts import claim_evidence
from parity.results.record import RunRecord
from parity.run.budget import plan_budget, suite_work
from parity.run.runner import compare_latency, evaluate_pair
from parity.vocabulary import EXPORT_MODES, default_modes
from zoo.catalog import PAIRS, get_suite


def test_export_modes_run_only_when_named(quick_config):
    assert not set(default_modes("torch")) & EXPORT_MODES
    assert default_modes("tensorflow", ("eager", "litert")) == ("eager", "litert")
    assert quick_config(modes=None).modes_for("torch", "torch") == (
        "eager",
        "compile",
        "torchscript",
    )
    both = quick_config(modes={"torch": ("eager", "onnx")})
    assert both.modes_for("torch", "torch") == ("eager", "onnx")
    assert "onnx" not in both.modes_for("tensorflow", "tensorflow")


def test_the_default_suite_exports_its_real_weights_pairs_within_budget():
    by_id = {pair.id: entry for pair, entry in get_suite("default")}
    for pair_id in ("all-MiniLM-L6-v2", "efficientnet-lite0"):
        modes = dict(by_id[pair_id].modes)
        assert "onnx" in modes["torch"] and {"onnx", "litert"} <= set(modes["tensorflow"])
    work = suite_work(get_suite("default"))
    unbounded = plan_budget(work, 473.0, budget_s=1e9)
    onnx_duels = [c for c in unbounded.comparisons if set(c.modes.values()) == {"onnx"}]
    assert {c.pair_id for c in onnx_duels} == {"all-MiniLM-L6-v2", "efficientnet-lite0"}
    native = [c for c in unbounded.comparisons if c not in onnx_duels]
    assert not any(set(c.modes.values()) & EXPORT_MODES for c in native)
    # On a slow machine the export cells go (after TorchScript), and the plan says so.
    slow = plan_budget(work, 473.0 / 6, budget_s=15 * 60)
    if not any(c.mode in EXPORT_MODES for c in slow.cells):
        assert any("export cells of" in c.what for c in slow.changes)


def test_mode_consistency_is_scaled_to_the_output():
    eager = np.array([[10.0, -20.0, 5.0]])
    close = checks.mode_consistency(checks.logits_agreement(eager, eager + 1e-4, atol=1e-4))
    assert close["passed"] and close["max_abs_diff_over_scale"] == pytest.approx(1e-4 / 20)
    far = checks.mode_consistency(checks.logits_agreement(eager, eager + 0.01, atol=1e-4))
    assert far["passed"] is False and far["rtol"] == checks.MODE_RTOL


def _cell(tmp_path, side, mode, output, medians, status="ok", **extra):
    path = tmp_path / f"{side}-{mode}.npy"
    np.save(path, output)
    metrics = {
        "model": {"parameters": 1000},
        "eval": {"batch": 1},
        "timings": {"eval_first_call_s": 1.0},
        "latency": {b: {"samples_ms": [m] * 5} for b, m in medians.items()},
        **extra,
    }
    return {
        "cell_id": f"p/{side}/{mode}",
        "side": side,
        "mode": mode,
        "diagnostic": None,
        "status": status,
        "framework": side,
        "handle": f"{side}:m",
        "location": {"availability": "shipped"},
        "output_path": str(path),
        "latency_stats": {b: {"median": m} for b, m in medians.items()},
        "metrics": metrics if status == "ok" else None,
        **({"reason": "ExportError: tf2onnx failed: TypeError: boom"} if status != "ok" else {}),
    }


class _Logits:
    """The image task's same-side agreement, without its prepared inputs."""

    @staticmethod
    def agreement(pair, prepared, a, b):
        return checks.logits_agreement(
            np.load(a["output_path"]), np.load(b["output_path"]), atol=pair.atol
        )

    @staticmethod
    def accuracy(pair, prepared, cell):
        return {"error": "no labels"}


EXPORTED = {
    "exporter": "torch.onnx.export(dynamo=True)",
    "runtime": "onnxruntime",
    "batch": 1,
    "dynamic_batch": True,
    "export_s": 2.5,
    "file_bytes": 3 * 2**20,
    "versions": {},
}


def test_export_cells_are_judged_and_shown_in_the_three_verdict_rows(tmp_path):
    pair = PAIRS["efficientnet-lite0"]
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 1000)).astype(np.float32) * 5
    cells = [
        _cell(tmp_path, "torch", "eager", logits, {"1": 10.0}),
        _cell(tmp_path, "torch", "onnx", logits + 1e-6, {"1": 4.0}, exports=[EXPORTED]),
        _cell(tmp_path, "tensorflow", "eager", logits + 2e-6, {"1": 20.0}),
        _cell(tmp_path, "tensorflow", "function", logits, {"1": 8.0}),
        _cell(tmp_path, "tensorflow", "onnx", logits + 0.5, {"1": 5.0}, exports=[EXPORTED]),
        _cell(tmp_path, "tensorflow", "litert", logits, {}, status="failed"),
    ]
    evaluation = evaluate_pair(pair, _Logits, None, cells, "pretrained", divergence_enabled=False)
    # The native comparison never picks an export, however fast; ONNX has its own.
    assert evaluation["latency"]["1"]["torch"]["best_mode"] == "eager"
    assert evaluation["latency"]["1"]["tensorflow"]["best_mode"] == "function"
    assert evaluation["onnx_latency"] == compare_latency([cells[1], cells[4]])
    assert evaluation["mode_consistency"]["p/torch/onnx"]["passed"]
    assert evaluation["mode_consistency"]["p/tensorflow/onnx"]["passed"] is False
    assert evaluation["export_agreement"]["p/torch/onnx"]["passed"]
    record = RunRecord.from_dict(
        {
            "pairs": [
                {
                    "id": "p",
                    "relation": pair.relation,
                    "cells": cells,
                    "evaluation": evaluation,
                }
            ]
        }
    )
    evidence = {claim.row: dict(found)["p"] for claim, found in claim_evidence(record)}
    deployment = evidence["Model Deployment"]
    assert "PyTorch → onnx (onnxruntime): exported by torch.onnx.export(dynamo=True)" in deployment
    assert "3.0 MiB" in deployment and "matches its eager output" in deployment
    assert "latency 0.4x eager at batch 1" in deployment  # 4 ms against eager's 10 ms
    assert "TensorFlow → onnx (onnxruntime)" in deployment and "DIFFERS FROM" in deployment
    assert "0.625x function at batch 1" in deployment  # against TF's fastest native mode
    assert "failed: ExportError: tf2onnx failed: TypeError: boom" in evidence["Mobile & Edge"]
    interop = evidence["Interoperability"]
    assert "batch 1: PyTorch→ONNX / TensorFlow→ONNX in onnxruntime 0.8" in interop
    # The graph-mode rows still compare framework modes only.
    assert "onnx" not in evidence["Performance Optimization"]
    assert record.to_dict()["pairs"][0]["evaluation"] == evaluation
