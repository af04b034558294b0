"""Divergence localisation on real models: automatic layer maps of keras-hub's timm and
transformers conversions (a planted difference is found, in a CNN and in a causal LM),
capture on both frameworks, and the padding diagnostic pads as TensorFlow does.

Each framework runs in a child process (never torch and TensorFlow in one process).
"""

from __future__ import annotations

import importlib.util

import pytest
from framework_child import run_in_child

from parity.run.runner import OK, run
from zoo.catalog import custom_pair, timm_vs_keras_hub
from zoo.layer_maps import MODEL_LOGITS, layer_map_for

NEEDED = ("torch", "timm", "tensorflow", "keras_hub")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


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
    found = run_in_child("torch", TF_SAME)
    assert found["before"] > 1e-2 and found["after"] < 1e-6, found


@pytest.mark.heavy
def test_seeded_resnet18_pair_captures_by_its_automatic_map(quick_config):
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
    assert found["automatic"] and found["rows"] == 2
    by_torch = {layer["torch"]: layer for layer in found["layers"]}
    # Every conv and norm (20 of each; keras-hub's functional ResNet has no layer for a
    # whole block), and the classifier.
    assert {"conv1", "bn1", "layer1.0.conv1", "layer4.1.bn2", "fc"} <= set(by_torch)
    assert len(found["layers"]) >= 20 + 20 + 1
    # resnet18 through keras-hub agrees (explicit torch-style padding in its ResNet).
    assert found["first_over_atol"] is None and found["first_over_rtol"] is None
    assert found["layers"][-1]["torch"] == "fc" and found["layers"][-1]["shape"] == [2, 1000]


PLANTED = """
import json, timm, torch
from parity.child.conversions import build_timm
torch.manual_seed(0)
model = build_timm("efficientnet_b0", {{}})  # random weights, biases and BatchNorm statistics
timm.models.save_for_hf(model, {folder!r} + "/original", safe_serialization=True)
with torch.no_grad():
    model.get_parameter({planted!r} + ".weight").mul_(1.5)
timm.models.save_for_hf(model, {folder!r} + "/planted", safe_serialization=True)
print(json.dumps({{}}))
"""


def test_an_adhoc_pair_without_a_hand_written_map_names_the_planted_layer(tmp_path, quick_config):
    # efficientnet_b0 has no hand-written map: the map comes from keras-hub's conversion.
    # The TensorFlow side loads a copy of the checkpoint with one conv's weight changed.
    planted = "blocks.3.1.conv_pwl"
    run_in_child("torch", PLANTED.format(folder=str(tmp_path), planted=planted))
    torch_handle = f"timm:efficientnet_b0@{tmp_path}/original/model.safetensors"
    tf_handle = f"keras-hub:{tmp_path}/planted"
    assert layer_map_for(torch_handle, tf_handle) is None
    config = quick_config(
        limit=2,
        latency_batches=(1,),
        eval_batch=2,
        threads=2,
        timeout_s=300.0,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
    )
    pair = custom_pair(torch_handle, tf_handle, "image-classifier", same_weights=True)
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK, OK], [c.get("reason") for c in cells]
    found = record["pairs"][0]["evaluation"]["divergence"]
    assert "error" not in found and found["automatic"], found
    first = found["first_over_rtol"]
    assert first["torch"] == planted, first
    # Every matched layer before it agrees, and there are many: the map spans the network.
    assert first["index"] > 50


# A seeded gpt2 (zoo/seeding.py's reduced config and tokenizer, written by the seeding
# child) trained for a few steps only, so its norms and biases are no longer their
# initial ones and are told apart by value, as a trained checkpoint's are; then a copy
# with one decoder layer's MLP projection scaled.
PLANTED_LM = """
import json, shutil
from safetensors.torch import load_file, save_file
from parity.child import seeding
seeding.LM_TRAIN_STEPS = 20  # a few steps: the test needs distinct tensors, not fluency
seeding.check_informative = lambda *args: {{}}
seeding.main(["hf", "openai-community/gpt2", {original!r}, "0"])
shutil.copytree({original!r}, {planted!r})
tensors = load_file({original!r} + "/model.safetensors")
tensors[{planted_key!r}] = tensors[{planted_key!r}] * 1.5
save_file(tensors, {planted!r} + "/model.safetensors", metadata={{"format": "pt"}})
print(json.dumps(sorted(tensors)))
"""


def test_a_causal_lm_pair_names_the_planted_decoder_layer(tmp_path, quick_config):
    """gpt2 through keras-hub: the map comes from the conversion (GPT-2's Conv1D weights are
    stored transposed, which fingerprints of the file's tensors do not mind). The curve
    runs from the embeddings through each decoder block's sublayers to the final norm and
    the logits (the head is tied to the embeddings, so the logits are the model's output),
    and names layer 1's MLP projection, scaled on the TensorFlow side, as the first over."""
    original, planted = tmp_path / "original", tmp_path / "planted"
    planted_module = "transformer.h.1.mlp.c_proj"
    keys = run_in_child(
        "torch",
        PLANTED_LM.format(
            original=str(original), planted=str(planted), planted_key=planted_module + ".weight"
        ),
    )
    assert planted_module + ".weight" in keys and "lm_head.weight" not in keys  # tied
    config = quick_config(
        limit=2,
        latency_batches=(),  # agreement and divergence only: no timed generation
        eval_batch=1,
        threads=2,
        timeout_s=300.0,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
    )
    pair = custom_pair(f"hf:{original}", f"keras-hub:{planted}", "text-generation", True)
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK, OK], [c.get("reason") for c in cells]
    found = record["pairs"][0]["evaluation"]["divergence"]
    assert "error" not in found and found["automatic"] and found["errors"] == 0, found
    assert found["rows"] == 2
    layers = [layer["torch"] for layer in found["layers"]]
    # embeddings first, each block's sublayers and the block, the final norm, the logits
    assert layers[0] == "transformer.wte"
    for block in ("transformer.h.0", "transformer.h.1"):
        assert {f"{block}.ln_1", f"{block}.attn", f"{block}.ln_2", block} <= set(layers)
        assert {f"{block}.mlp.c_proj", f"{block}.mlp.act"} <= set(layers)
    assert layers[-2:] == ["transformer.ln_f", MODEL_LOGITS]
    assert found["layers"][-1]["label"] == "logits"
    first = found["first_over_rtol"]
    assert first["torch"] == planted_module, first
    # Everything before it agrees: the whole of block 0 and block 1's attention.
    assert first["index"] == layers.index(planted_module) > layers.index("transformer.h.1.attn")
    assert all(layer["max_rel_diff"] < found["rtol"] for layer in found["layers"][: first["index"]])
    assert found["layers"][-1]["max_rel_diff"] > found["rtol"]  # it reaches the logits
    report = (config.out_dir / "report.md").read_text()
    assert "Divergence: where the sides part" in report
    assert planted_module in report
