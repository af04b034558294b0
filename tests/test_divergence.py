"""Divergence localisation: the parent-side arithmetic on synthetic activations, the
layer maps, and the runner path end to end on the fake numpy models."""

from __future__ import annotations

import numpy as np
import pytest

from parity.child.capture import channels_last
from parity.child.worker import prompt_rows
from parity.evaluate import divergence
from parity.publish.markdown import render_markdown
from parity.publish.tables import divergence_table
from parity.results.record import Divergence
from parity.run.runner import Cell, run
from zoo.catalog import INDEPENDENT, SAME_WEIGHTS, Pair, Side
from zoo.layer_maps import LayerMatch

MATCHES = tuple(LayerMatch(f"l{i}", f"t{i}", f"k{i}") for i in range(5))


def _acts(diffs: list[float], scale: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    torch_acts, tf_acts = {}, {}
    for i, diff in enumerate(diffs):
        base = (scale * rng.standard_normal((2, 3, 4, 5))).astype(np.float64)
        torch_acts[f"t{i}"] = base
        tf_acts[f"k{i}"] = base.copy()
        tf_acts[f"k{i}"][1, 2, 3, 4] += diff
    return torch_acts, tf_acts


def test_the_first_layer_over_atol_is_named_with_the_step_into_it():
    torch_acts, tf_acts = _acts([0.0, 1e-7, 5e-5, 3e-4, 1e-2])
    found = divergence.localise(MATCHES, torch_acts, tf_acts, atol=1e-4)
    first = found["first_over_atol"]
    assert (first["index"], first["torch"], first["tensorflow"]) == (3, "t3", "k3")
    assert first["max_abs_diff"] == pytest.approx(3e-4)
    assert first["previous_label"] == "l2" and first["previous_max_abs_diff"] == pytest.approx(5e-5)
    assert [round(layer["max_abs_diff"], 9) for layer in found["layers"]] == [
        0.0,
        1e-7,
        5e-5,
        3e-4,
        1e-2,
    ]
    assert found["largest"]["label"] == "l4"


def test_relative_and_absolute_criteria_are_reported_apart():
    # Large activations: an abs gap of 1e-3 is over atol but only ~1e-7 relative.
    torch_acts, tf_acts = _acts([0.0, 1e-3, 1e-3, 1e-3, 1e-3], scale=1e3)
    tf_acts["k3"][0, 0, 0, 0] += 50.0  # 50 against |x| ~ 3e3: relative over 1e-4
    found = divergence.localise(MATCHES, torch_acts, tf_acts, atol=1e-4, rtol=1e-4)
    assert found["first_over_atol"]["index"] == 1
    assert found["first_over_rtol"]["index"] == 3
    assert found["layers"][1]["max_rel_diff"] < 1e-4


def test_nchw_torch_activations_meet_nhwc_keras_ones():
    torch_nchw = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    keras_nhwc = torch_nchw.transpose(0, 2, 3, 1).copy()
    errors = divergence.layer_errors(torch_nchw, keras_nhwc)
    assert errors["max_abs_diff"] == 0.0 and errors["shape"] == [2, 4, 5, 3]
    # The capture side's own conversion gives the same layout.
    assert np.array_equal(channels_last(torch_nchw), keras_nhwc)
    with pytest.raises(ValueError, match="shapes differ"):
        divergence.layer_errors(torch_nchw, keras_nhwc[:, :2])
    # A Linear's (batch, tokens, heads * dim) against an EinsumDense's (..., heads, dim)
    heads = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    assert divergence.layer_errors(heads.reshape(2, 3, 20), heads)["max_abs_diff"] == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        divergence.layer_errors(heads.reshape(2, 3, 20)[:, :, :10], heads)


def test_a_layer_that_cannot_be_compared_is_noted_and_the_rest_measured():
    torch_acts, tf_acts = _acts([0.0, 0.0, 1.0, 0.0, 0.0])
    tf_acts["k1"] = tf_acts["k1"][:, :1]  # a shape the map got wrong
    del tf_acts["k4"]
    found = divergence.localise(MATCHES, torch_acts, tf_acts)
    assert "shapes differ" in found["layers"][1]["error"]
    assert found["layers"][4]["error"] == "not captured: k4"
    assert found["first_over_atol"]["index"] == 2 and found["errors"] == 2
    table = divergence_table(Divergence.from_dict(found), every=1)
    assert len(table.rows) == 5 and "shapes differ" in table.rows[1][-1]


def _pair(relation: str = SAME_WEIGHTS) -> Pair:
    return Pair(
        "dn",
        "image-classifier",
        relation,
        Side("timm:densenet121"),
        Side("keras-hub:hf://timm/densenet121"),
        dataset="photos",
    )


def test_only_eager_main_cells_of_mapped_same_weights_pairs_capture(tmp_path):
    """timm against keras-hub's conversion of it: captured without a hand-written map."""

    def request(pair=None, mode="eager", diagnostic=None, enabled=None):
        cell = Cell(pair or _pair(), "tensorflow", mode, "h", {}, diagnostic)
        return divergence.capture_request(cell, enabled, tmp_path)

    asked = request()
    # a keras-hub conversion: an automatic capture, the map derived after both sides ran
    assert asked["layers"] is None and asked["rows"] == divergence.DEFAULT_ROWS
    assert request(mode="function") is None
    assert request(diagnostic="x") is None
    assert request(enabled=False) is None
    assert request(pair=_pair(INDEPENDENT)) is None


def _eager_only(quick_config, **extra):
    return quick_config(modes={"torch": ("eager",), "tensorflow": ("eager",)}, **extra)


def test_runner_localises_the_fake_noise_to_the_output_step(fake_pair, quick_config):
    config = _eager_only(quick_config)
    record = run([fake_pair("fake:ok", "fake:noisy")], config)
    found = record["pairs"][0]["evaluation"]["divergence"]
    assert [layer["max_abs_diff"] for layer in found["layers"][:3]] == [0.0, 0.0, 0.0]
    assert found["first_over_atol"]["label"] == "output"
    assert found["first_over_atol"]["previous_max_abs_diff"] == 0.0
    assert found["rows"] == divergence.DEFAULT_ROWS
    report = (config.out_dir / "report.md").read_text()
    assert "### Divergence" in report and "first over atol 0.0001: output" in report
    assert "<h3>Divergence" in (config.out_dir / "index.html").read_text()


def test_runner_reports_a_side_that_cannot_capture(fake_pair, quick_config):
    record = run([fake_pair("fake:ok", "fake:nocapture")], _eager_only(quick_config))
    found = record["pairs"][0]["evaluation"]["divergence"]
    assert "tensorflow capture failed" in found["error"] and "no capture hook" in found["error"]
    assert all(c["status"] == "ok" for c in record["pairs"][0]["cells"])
    assert "Not localised: tensorflow capture failed" in render_markdown(record)


def test_no_divergence_turns_capture_off(fake_pair, quick_config):
    record = run([fake_pair("fake:ok", "fake:noisy")], _eager_only(quick_config, divergence=False))
    pair = record["pairs"][0]
    assert "divergence" not in pair["evaluation"]
    assert all("capture" not in c["metrics"] for c in pair["cells"])


def test_log_curve_draws_zeros_at_the_floor_skips_gaps_and_marks_the_tolerance():
    from parity.publish.plots import log_curve

    svg = log_curve({"abs": [0.0, None, 3e-4, 2.0]}, ["a", "b", "c", "d"], "t", "y", 1e-4)
    assert svg.count("<circle") == 3  # the None is a gap
    assert "0 (drawn at the floor)" in svg and "stroke-dasharray" in svg
    assert ">1e-5<" in svg and ">1e0<" in svg  # a decade below the smallest value, up to 2
    assert log_curve({"abs": [0.0, None]}, ["a", "b"], "t", "y") == ""


def test_causal_lm_pairs_capture_their_first_prompts_automatically(tmp_path):
    # keras-hub converting the checkpoint transformers loads: an automatic capture in each
    # eager cell (a full forward over the first prompts), after generation is measured.
    pair = Pair(
        "lm",
        "text-generation",
        SAME_WEIGHTS,
        Side("hf:x/y"),
        Side("keras-hub:hf://x/y"),
        dataset="lm-prompts",
        tokenizer="hf:x/y",
    )
    asked = divergence.capture_request(Cell(pair, "torch", "eager", "h", {}, None), None, tmp_path)
    assert asked["layers"] is None and asked["rows"] == divergence.DEFAULT_ROWS
    assert (
        divergence.capture_request(Cell(pair, "torch", "compile", "h", {}, None), None, tmp_path)
        is None
    )
    found = divergence.pair_divergence(pair, {}, True, None)
    assert found == {"error": "an eager cell of one side did not complete: nothing to compare"}


def test_an_lm_capture_takes_the_first_prompts_to_the_longest_of_them(tmp_path):
    ids = np.array([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0], [1, 2, 3, 4, 5]], np.int64)
    paths = {"input_ids": tmp_path / "ids.npy", "lengths": tmp_path / "lengths.npy"}
    np.save(paths["input_ids"], ids)
    np.save(paths["lengths"], np.array([3, 2, 5]))
    found = prompt_rows({name: str(path) for name, path in paths.items()}, 2)
    assert found["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert found["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
