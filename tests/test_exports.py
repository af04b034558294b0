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


# --- quantised variants (dynamic int8): judged by predictions ----------------------------


def test_prediction_consistency_counts_changed_predictions():
    rng = np.random.default_rng(0)
    fp32 = rng.normal(size=(50, 10)) * 5
    # int8-like noise: 15% of the scale on every value, predictions mostly kept.
    kept = checks.prediction_consistency(fp32, fp32 + rng.normal(size=fp32.shape) * 0.05)
    assert kept["passed"] and kept["top1_agreement"] >= 0.9 and kept["compared_rows"] == 50
    flipped = fp32.copy()
    flipped[:10] = -flipped[:10]  # 10 of 50 rows predict their worst class: 80% kept
    found = checks.prediction_consistency(fp32, flipped)
    assert found["top1_agreement"] == pytest.approx(0.8)
    assert found["passed"] is False and found["min_top1"] == checks.QUANTISED_TOP1_MIN
    with pytest.raises(ValueError, match="shapes differ"):
        checks.prediction_consistency(fp32, fp32[:, :5])


def test_neighbour_scores_make_a_text_encoder_prediction():
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(30, 16))
    scores = checks.neighbour_scores(embeddings)
    assert scores.shape == (30, 30)
    assert np.all(np.argmax(scores, axis=1) != np.arange(30))  # never itself
    same = checks.prediction_consistency(scores, checks.neighbour_scores(embeddings * 3.0))
    assert same["top1_agreement"] == 1.0  # the scale of an embedding is no prediction
    noise = checks.neighbour_scores(embeddings + rng.normal(size=embeddings.shape) * 2)
    assert checks.prediction_consistency(scores, noise)["passed"] is False


class _Predicting(_Logits):
    @staticmethod
    def predictions(pair, prepared, cell):
        return np.load(cell["output_path"])


def _quantised_cells(tmp_path, int8_logits):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 1000)).astype(np.float32) * 5
    quantised = {**EXPORTED, "quantisation": "dynamic int8", "unquantised_bytes": 12 * 2**20}
    return [
        _cell(tmp_path, "torch", "eager", logits, {"1": 10.0}),
        _cell(tmp_path, "torch", "onnx", logits, {"1": 4.0}, exports=[EXPORTED]),
        _cell(tmp_path, "torch", "onnx-int8", int8_logits(logits), {"1": 5.0}, exports=[quantised]),
        _cell(tmp_path, "tensorflow", "eager", logits, {"1": 20.0}),
    ]


def test_a_quantised_cell_is_judged_by_its_predictions_and_timed_against_fp32(tmp_path):
    pair = PAIRS["efficientnet-lite0"]

    def int8(logits):  # off by 15% of the scale everywhere, the order of each row kept
        return logits * 1.15 + 0.1 * np.abs(logits).max()

    cells = _quantised_cells(tmp_path, int8)
    evaluation = evaluate_pair(
        pair, _Predicting, None, cells, "pretrained", divergence_enabled=False
    )
    found = evaluation["mode_consistency"]["p/torch/onnx-int8"]
    assert found["passed"] and found["top1_agreement"] == 1.0 and found["rtol"] is None
    assert found["max_abs_diff_over_scale"] > 0.1  # far over the fp32 tolerance, not judged
    other = evaluation["export_agreement"]["p/torch/onnx-int8"]
    assert other["passed"] and "top-1 agreement" in other["note"]
    latency = evaluation["export_latency"]["p/torch/onnx-int8"]["batches"]["1"]
    assert latency["over_native"] == pytest.approx(0.5) and latency["native_mode"] == "eager"
    assert latency["over_fp32"] == pytest.approx(1.25) and latency["fp32_mode"] == "onnx"


def test_a_quantised_cell_that_changes_predictions_fails(tmp_path):
    pair = PAIRS["efficientnet-lite0"]

    def broken(logits):  # a quarter of the rows reversed: their top-1 is their worst class
        found = logits.copy()
        found[::4] = -found[::4]
        return found

    cells = _quantised_cells(tmp_path, broken)
    evaluation = evaluate_pair(
        pair, _Predicting, None, cells, "pretrained", divergence_enabled=False
    )
    found = evaluation["mode_consistency"]["p/torch/onnx-int8"]
    assert found["top1_agreement"] == pytest.approx(0.75) and found["passed"] is False
    record = RunRecord.from_dict(
        {
            "pairs": [
                {"id": "p", "relation": pair.relation, "cells": cells, "evaluation": evaluation}
            ]
        }
    )
    evidence = {claim.row: dict(found)["p"] for claim, found in claim_evidence(record)}
    assert "CHANGES its fp32 eager predictions (top-1 agreement 75%" in evidence["Model Deployment"]


def test_a_task_without_predictions_reports_why_a_quantised_cell_is_not_judged(tmp_path):
    pair = PAIRS["efficientnet-lite0"]
    cells = _quantised_cells(tmp_path, lambda logits: logits)
    evaluation = evaluate_pair(pair, _Logits, None, cells, "pretrained", divergence_enabled=False)
    found = evaluation["mode_consistency"]["p/torch/onnx-int8"]
    assert "no predictions" in found["error"] and "passed" not in found


def test_the_budget_plans_quantised_cells_and_an_export_per_onnx_duel_replicate():
    from parity.run.budget import COMPILE_S, PairWork, _Costs
    from parity.run.profiles import get_profile

    work = PairWork(
        "efficientnet-lite0",
        {"torch": "torch", "tensorflow": "tensorflow"},
        {"torch": ("eager", "onnx", "onnx-int8"), "tensorflow": ("eager", "onnx", "litert-int8")},
        (1,),
        get_profile("standard"),
        7.7e8,
        "test",
    )
    plan = plan_budget([work], 473.0, budget_s=1e9)
    modes = {(c.side, c.mode) for c in plan.cells}
    assert {("torch", "onnx-int8"), ("tensorflow", "litert-int8")} <= modes
    costs = _Costs(473.0)
    int8 = next(c for c in plan.cells if c.mode == "onnx-int8")
    fp32 = next(c for c in plan.cells if c.side == "torch" and c.mode == "onnx")
    assert int8.estimated_s > fp32.estimated_s  # the fp32 export again, then quantising
    onnx_duel = next(c for c in plan.comparisons if set(c.modes.values()) == {"onnx"})
    # Every replicate's workers export afresh: R exports, not one and R-1 half ones.
    assert onnx_duel.estimated_s > onnx_duel.replicates * costs.scale * COMPILE_S["onnx"]


def _replicated(ratio, low, high):
    return {
        "ratio": ratio,
        "ci_low": low,
        "ci_high": high,
        "replicates": 3,
        "rounds": [4, 4, 4],
        "replicate_ratios": [ratio] * 3,
        "between_cv": 0.012,
        "status": "faster",
        "verdict": "PyTorch faster",
        "why": f"95% interval [{low:.3f}, {high:.3f}] lies below the tie band",
        "interval": "rerun",
        "modes": {"torch": "onnx", "tensorflow": "onnx"},
    }


def test_the_report_shows_export_cells_the_same_runtime_headline_and_verdict_rows(tmp_path):
    from parity.publish import report

    pair = PAIRS["efficientnet-lite0"]
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(8, 1000)).astype(np.float32) * 5
    memory = {"memory": {"peak_load_mib": 410.0, "peak_infer_mib": 455.0}}
    versions = {**EXPORTED, "versions": {"torch": "2.14.1", "onnxscript": "0.5.1"}}
    int8 = {**EXPORTED, "quantisation": "dynamic int8 (test)", "unquantised_bytes": 12 * 2**20}
    cells = [
        _cell(tmp_path, "torch", "eager", logits, {"1": 10.0}, **memory),
        _cell(tmp_path, "torch", "onnx", logits, {"1": 4.0}, exports=[versions], **memory),
        _cell(tmp_path, "torch", "onnx-int8", logits * 1.1, {"1": 6.0}, exports=[int8], **memory),
        _cell(tmp_path, "torch", "litert", logits, {}, status="failed"),
        _cell(tmp_path, "tensorflow", "eager", logits, {"1": 20.0}, **memory),
        _cell(tmp_path, "tensorflow", "onnx", logits, {"1": 5.0}, exports=[EXPORTED], **memory),
        _cell(tmp_path, "tensorflow", "litert", logits, {"1": 7.0}, exports=[EXPORTED], **memory),
    ]
    cells[3]["reason"] = "ExportError: PyTorch -> LiteRT needs litert-torch (test)"
    evaluation = evaluate_pair(
        pair, _Predicting, None, cells, "pretrained", divergence_enabled=False
    )
    evaluation["onnx_latency"]["1"]["replicated"] = _replicated(0.812, 0.790, 0.835)
    evaluation["latency"]["1"]["replicated"] = {
        **_replicated(0.5, 0.48, 0.52),
        "modes": {"torch": "eager", "tensorflow": "eager"},
    }
    record = {
        "run_id": "r1",
        "settings": {
            "threads": 1,
            "profile": {"name": "test", "warmup": 1, "min_count": 3, "min_time_s": 0.0},
        },
        "pairs": [
            {
                "id": pair.id,
                "relation": pair.relation,
                "description": "d",
                "sides": {"torch": {"handle": "t:m"}, "tensorflow": {"handle": "f:m"}},
                "cells": cells,
                "evaluation": evaluation,
            }
        ],
    }
    markdown, html = (path.read_text() for path in report.publish(record, tmp_path / "out"))
    for page in (markdown, html):
        # The same-runtime headline with its interval, beside the native one.
        assert "Same runtime: both sides exported to ONNX, run in onnxruntime" in page
        assert "0.812 [0.790, 0.835]" in page and "0.500 [0.480, 0.520]" in page
        # Each export: exporter and versions, file size, agreement, latency, peak memory.
        assert "torch.onnx.export(dynamo=True)" in page and "onnxscript 0.5.1" in page
        assert "3.0 MiB" in page and "410 / 455" in page
        assert "0.4x eager at batch 1" in page  # 4 ms against eager's 10 ms
        assert "1.5x its fp32 onnx" in page  # int8 6 ms against fp32 onnx 4 ms
        # The quantised table: predictions, file size beside fp32.
        assert "top-1 agreement with fp32 eager" in page and "(fp32 12.0 MiB)" in page
        # Failed exports are failed cells with the exporter's message.
        assert "needs litert-torch (test)" in page
        for row in ("Model Deployment", "Mobile &amp; Edge" if page is html else "Mobile & Edge"):
            assert row in page
        assert "Interoperability" in page and "Limited support via Torch Mobile" in page
    results = RunRecord.from_dict(record).pairs[0].evaluation
    assert results.export_latency["p/torch/onnx"].batches["1"].over_native == pytest.approx(0.4)
