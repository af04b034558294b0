"""Divergence localisation on real models: the layer maps fit timm and keras-hub, capture
works on both frameworks, and the padding diagnostic pads as TensorFlow does.

Each framework runs in a child process (never torch and TensorFlow in one process).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from parity.results import store as results
from parity.run.runner import OK, run
from zoo.catalog import timm_vs_keras_hub
from zoo.layer_maps import DENSENET_REPEATS, densenet_map

NEEDED = ("torch", "timm", "tensorflow", "keras_hub")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


def _child(code: str, framework: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(results.PROJECT_ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    if framework == "tensorflow":
        env["KERAS_BACKEND"] = "tensorflow"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


TORCH_SHAPES = """
import json, timm, torch
from parity.child.capture import torch_module_outputs
names = {names!r}
model = timm.create_model("densenet121", pretrained=False).eval()
x = torch.zeros(1, 3, 64, 64)
found = torch_module_outputs(model, lambda: model(x), names)
print(json.dumps({{n: list(a.shape) for n, a in found.items()}}))
"""

KERAS_SHAPES = """
import json, numpy as np, keras_hub
from parity.child.capture import keras_layer_outputs
backbone = keras_hub.models.DenseNetBackbone(stackwise_num_repeats={repeats!r})
classifier = keras_hub.models.DenseNetImageClassifier(backbone=backbone, num_classes=1000)
found = keras_layer_outputs(classifier, np.zeros((1, 64, 64, 3), "float32"), {names!r})
print(json.dumps({{n: list(a.shape) for n, a in found.items()}}))
"""


def test_densenet121_map_fits_timm_and_keras_hub_with_equal_nhwc_shapes():
    matches = densenet_map(DENSENET_REPEATS["densenet121"])
    torch_shapes = _child(TORCH_SHAPES.format(names=[m.torch for m in matches]), "torch")
    keras_shapes = _child(
        KERAS_SHAPES.format(
            repeats=list(DENSENET_REPEATS["densenet121"]), names=[m.tensorflow for m in matches]
        ),
        "tensorflow",
    )
    for match in matches:
        assert torch_shapes[match.torch] == keras_shapes[match.tensorflow], match


TF_SAME = """
import json, torch, torch.nn.functional as F
from parity.child.loaders.timm import pad_like_tf_same
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 7, stride=2, padding=3, bias=False),
                            torch.nn.MaxPool2d(3, stride=2, padding=1)).eval()
x = torch.randn(1, 3, 224, 224)
conv = F.conv2d(F.pad(x, (2, 3, 2, 3)), model[0].weight, stride=2)
want = F.max_pool2d(F.pad(conv, (0, 1, 0, 1), value=float("-inf")), 3, stride=2)
before = (model(x) - want).abs().max().item()
pad_like_tf_same(model, ["0", "1"])
print(json.dumps({"before": before, "after": (model(x) - want).abs().max().item()}))
"""


def test_tf_same_padding_puts_the_extra_row_and_column_at_the_bottom_right():
    found = _child(TF_SAME, "torch")
    assert found["before"] > 1e-2 and found["after"] < 1e-6, found


def test_seeded_resnet18_pair_captures_every_mapped_layer(quick_config):
    config = quick_config(
        weights="seeded",
        limit=2,
        latency_batches=(1,),
        eval_batch=2,
        threads=2,
        timeout_s=300.0,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
    )
    pair = timm_vs_keras_hub("resnet18-timm", "resnet18", 0.875, "bicubic")
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK, OK], [c.get("reason") for c in cells]
    found = record["pairs"][0]["evaluation"]["divergence"]
    assert "error" not in found and found["errors"] == 0, found
    assert len(found["layers"]) == 4 + 8 + 2 and found["rows"] == 2
    # resnet18 through keras-hub agrees (explicit torch-style padding in its ResNet).
    assert found["first_over_atol"] is None
    assert found["layers"][-1]["shape"] == [2, 1000]
