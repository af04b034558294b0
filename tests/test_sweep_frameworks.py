"""The conversion sweep through real children: keras-hub's conversion against the PyTorch
original, on seeded checkpoints. Starts PyTorch and TensorFlow children."""

from __future__ import annotations

import importlib.util

import pytest

from parity.run import sweep
from zoo.conversions import BY_ID, adhoc

NEEDED = ("torch", "timm", "transformers", "tensorflow", "keras_hub")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


def test_a_faithful_converter_passes(tmp_path):
    result = sweep.run_row(BY_ID["resnet18"], tmp_path)
    assert result.status == sweep.PASSED, result
    assert result.max_rel_diff <= sweep.RTOL and result.max_abs_diff > 0.0


def test_bert_fails_on_its_gelu_and_names_where(tmp_path):
    result = sweep.run_row(BY_ID["bert"], tmp_path)
    assert result.status == sweep.FAILED, result
    assert result.cause.startswith(BY_ID["bert"].cause + " (confirmed"), result.cause
    # the first transformer layer's feed-forward is where tanh and exact GELU part: the
    # automatic map meets transformers' BertIntermediate (Linear, then GELU) with
    # keras-hub's Dense that holds its GELU
    assert result.first_diverging_layer.startswith(
        "BertIntermediate bert.encoder.layer.0.intermediate / "
    ), result.first_diverging_layer


def test_a_handle_naming_no_architecture_fails_its_row_with_one_line(tmp_path):
    result = sweep.run_row(adhoc("timm:resnet_typo"), tmp_path)
    assert result.status == sweep.LOAD_ERROR
    assert result.error == (
        "torch: ValueError: timm has no architecture 'resnet_typo' (timm.list_models() lists them)"
    )
