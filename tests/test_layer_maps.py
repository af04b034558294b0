"""Layer maps: automatic ones for keras-hub conversions (the matching logic, on fake
records), the hand-written one for EfficientNet-Lite0, and the padding rule of text
captures; no framework imported."""

from __future__ import annotations

import json

import numpy as np
import pytest

from parity.child.capture import _successors, zero_padding
from parity.evaluate import divergence
from zoo.catalog import EFFICIENTNET_LITE0, MINILM, PAIRS
from zoo.converters import efficientnet_lite as lite
from zoo.layer_maps import (
    MODEL_LOGITS,
    automatic_groups,
    automatic_pair,
    layer_map_for,
    state_key_for,
    state_keys_for,
)


def _checkpoint(tmp_path, name: str, config: dict) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def test_keras_hub_conversions_get_automatic_maps_not_hand_written_ones(tmp_path):
    bert = _checkpoint(tmp_path, "bert", {"model_type": "bert", "num_hidden_layers": 3})
    for torch_handle, tf_handle in (
        (f"hf:{bert}", f"keras-hub:{bert}"),
        ("hf:nobody/absent-model", "keras-hub:hf://nobody/absent-model"),
        ("timm:densenet121.tv_in1k@/x/model.safetensors", "keras-hub:/x"),
        ("timm:efficientnet_b0", "keras-hub:hf://timm/efficientnet_b0"),
        (MINILM.torch.handle, MINILM.tensorflow.handle),
    ):
        assert layer_map_for(torch_handle, tf_handle) is None, torch_handle
        assert automatic_pair(torch_handle, tf_handle), torch_handle
    # No conversion between them, so nothing to derive a map from.
    assert not automatic_pair(f"hf:{bert}", f"keras-apps:{bert}")
    assert not automatic_pair(EFFICIENTNET_LITE0.torch.handle, EFFICIENTNET_LITE0.tensorflow.handle)


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
    heads = zero_padding({"q": np.ones((2, 4, 2, 3), np.float32)}, mask)["q"]  # (.., heads, dim)
    assert heads[1, 2:].sum() == 0 and heads[1, :2].all()


def test_a_shared_value_follows_its_module_to_its_state_key():
    # An untrained checkpoint: the biases are zeros alike; the weights tell the modules.
    state = {
        "layers.0.q_proj.weight": "4x4:q",
        "layers.0.q_proj.bias": "4:zero",
        "layers.0.k_proj.weight": "4x4:k",
        "layers.0.k_proj.bias": "4:zero",
    }
    checkpoint = {
        "encoder.layer.0.query.weight": "4x4:q",
        "encoder.layer.0.query.bias": "4:zero",
        "encoder.layer.0.key.bias": "4:zero",
        "encoder.layer.0.key.weight": "4x4:k",
    }
    assert state_keys_for(checkpoint, state) == {
        "encoder.layer.0.query.weight": "layers.0.q_proj.weight",
        "encoder.layer.0.query.bias": "layers.0.q_proj.bias",
        "encoder.layer.0.key.bias": "layers.0.k_proj.bias",
        "encoder.layer.0.key.weight": "layers.0.k_proj.weight",
    }


# --- automatic layer maps: the matching logic on fake records ------------------------------

TORCH_RECORD = {
    "keys": {
        "model.embed.weight": "64x8:e",
        "model.layers.0.norm.weight": "8:n0",
        "model.layers.0.proj.weight": "8x8:p0",
        "model.layers.0.proj.bias": "8:b0",
        "model.layers.1.norm.weight": "8:n1",
        "model.layers.1.qkv.weight": "24x8:qkv",  # fused on load: no checkpoint tensor has it
        "model.layers.1.proj.weight": "8x8:p1",
        "lm_head.weight": "64x8:e",  # tied to the embedding: the same values
        "model.position_ids": "16:pos",  # a buffer the converter never reads
    },
    "order": [
        "model.embed",
        "model.layers.0.norm",
        "model.layers.0.proj",
        "model.layers.0",
        "model.layers.1.norm",
        "model.layers.1.proj",
        "model.layers.1.act",
        "model.layers.1",
        "model",
        "lm_head",
    ],
    "types": {"model.layers.0.norm": "RMSNorm", "model.layers.0.proj": "Linear"},
    "successors": {"model.layers.1.proj": ["model.layers.1.act"]},  # its activation
}
# As keras-hub's converter reads them: the checkpoint's keys (a "base." prefix PyTorch's
# model does not have), the Keras layer each filled, the tensors' fingerprints.
KERAS_RECORD = {
    "variables": [
        {"layer": "embedding", "keys": ["base.model.embed.weight"], "fingerprints": ["64x8:e"]},
        {
            "layer": "block_0/norm",
            "keys": ["base.model.layers.0.norm.weight"],
            "fingerprints": ["8:n0"],
        },
        {
            "layer": "block_0/dense",
            "keys": ["base.model.layers.0.proj.weight"],
            "fingerprints": ["8x8:p0"],
        },
        {
            "layer": "block_0/dense",
            "keys": ["base.model.layers.0.proj.bias"],
            "fingerprints": ["8:b0"],
        },
        {
            "layer": "block_1/norm",
            "keys": ["base.model.layers.1.norm.weight"],
            "fingerprints": ["8:n1"],
        },
        {
            "layer": "block_1/attention",
            "keys": ["base.model.layers.1.q.weight", "base.model.layers.1.k.weight"],
            "fingerprints": ["8x8:q", "8x8:k"],
        },
        {
            "layer": "block_1/dense",
            "keys": ["base.model.layers.1.proj.weight"],
            "fingerprints": ["8x8:p1"],
        },
    ],
    "successors": {"block_0/dense": ["block_0/relu"]},
}


def test_automatic_groups_join_owners_of_the_same_converted_tensors():
    groups = {g.keys: (g.torch, g.tensorflow) for g in automatic_groups(TORCH_RECORD, KERAS_RECORD)}
    assert groups == {
        # the tied lm_head holds the same values; the name decides
        frozenset({"model.embed.weight"}): (("model.embed",), ("embedding",)),
        frozenset({"model.layers.0.norm.weight"}): (("model.layers.0.norm",), ("block_0/norm",)),
        # the Dense's ReLU follows it and holds nothing: a candidate too
        frozenset({"model.layers.0.proj.weight", "model.layers.0.proj.bias"}): (
            ("model.layers.0.proj",),
            ("block_0/dense", "block_0/relu"),
        ),
        frozenset(
            {"model.layers.0.norm.weight", "model.layers.0.proj.weight", "model.layers.0.proj.bias"}
        ): (
            ("model.layers.0",),
            ("block_0",),
        ),
        frozenset({"model.layers.1.norm.weight"}): (("model.layers.1.norm",), ("block_1/norm",)),
        frozenset({"model.layers.1.proj.weight"}): (
            ("model.layers.1.act", "model.layers.1.proj"),
            ("block_1/dense",),
        ),
        # block_1 holds tensors PyTorch fused on load, so it is no candidate for
        # model.layers.1; nor is anything a candidate for the whole model.
    }
    # Only what was captured is a candidate.
    captured = automatic_groups(
        TORCH_RECORD, KERAS_RECORD, torch_captured={"model.embed"}, keras_captured={"embedding"}
    )
    assert [(g.torch, g.tensorflow) for g in captured] == [(("model.embed",), ("embedding",))]


def test_state_keys_are_found_by_value_then_by_the_longest_shared_name():
    by_print = {"8:a": ["encoder.x.weight"], "8:z": ["encoder.y.bias", "encoder.z.bias"]}
    assert state_key_for("bert.encoder.x.weight", "8:a", by_print) == "encoder.x.weight"
    assert state_key_for("bert.encoder.z.bias", "8:z", by_print) == "encoder.z.bias"
    assert state_key_for("bert.encoder.w.bias", "8:z", by_print) is None  # a tie: no guess
    assert state_key_for("bert.encoder.x.weight", "8:other", by_print) is None
    # No equal tensor (one side's file changed): by name, among tensors of its shape.
    by_shape = {"8": ["encoder.x.weight", "encoder.y.bias"], "4": ["decoder.x.weight"]}
    assert state_key_for("bert.encoder.x.weight", "8:other", by_print, by_shape) == (
        "encoder.x.weight"
    )
    assert state_key_for("decoder.x.weight", "8:other", by_print, by_shape) is None  # shape
    assert state_key_for("bert.pooler.x.weight", "8:other", by_print, by_shape) is None


def test_automatic_map_takes_the_agreeing_candidate_in_execution_order_and_localises():
    rng = np.random.default_rng(0)
    torch_acts = {
        name: rng.standard_normal((2, 8)).astype(np.float32) for name in TORCH_RECORD["order"]
    }
    tf_acts = {
        "embedding": torch_acts["model.embed"],
        "block_0/norm": torch_acts["model.layers.0.norm"],
        "block_0/dense": torch_acts["model.layers.0.proj"] - 1.0,  # before its activation
        "block_0/relu": torch_acts["model.layers.0.proj"],
        "block_0": torch_acts["model.layers.0"],
        "block_1/norm": torch_acts["model.layers.1.norm"] * 1.01,  # the divergence
        "block_1/dense": torch_acts["model.layers.1.proj"] * 1.01,
    }
    matches = divergence.automatic_map(TORCH_RECORD, KERAS_RECORD, torch_acts, tf_acts)
    assert [(m.torch, m.tensorflow) for m in matches] == [
        ("model.embed", "embedding"),
        ("model.layers.0.norm", "block_0/norm"),
        ("model.layers.0.proj", "block_0/relu"),
        ("model.layers.0", "block_0"),
        ("model.layers.1.norm", "block_1/norm"),
        ("model.layers.1.proj", "block_1/dense"),
    ]
    assert matches[1].label == "RMSNorm model.layers.0.norm" and matches[0].label == "model.embed"
    found = divergence.localise(matches, torch_acts, tf_acts)
    assert found["first_over_rtol"]["torch"] == "model.layers.1.norm"
    # A point over tolerance whose next point agrees again computed different tensors
    # from the same inputs (a scale inside one side's module): it leaves the map. The
    # last point over tolerance stays, with nothing after it.
    tf_acts["embedding"] = torch_acts["model.embed"] * 8.0
    matches = divergence.automatic_map(TORCH_RECORD, KERAS_RECORD, torch_acts, tf_acts)
    assert [m.torch for m in matches][:1] == ["model.layers.0.norm"]
    assert matches[-1].torch == "model.layers.1.proj"
    # Where the Dense and its ReLU both agree, the point nearest the weights is taken.
    tf_acts["block_0/dense"] = torch_acts["model.layers.0.proj"]
    matches = divergence.automatic_map(TORCH_RECORD, KERAS_RECORD, torch_acts, tf_acts)
    assert ("model.layers.0.proj", "block_0/dense") in [(m.torch, m.tensorflow) for m in matches]
    # A shape that differs rules a candidate out rather than failing the map.
    tf_acts["block_0/relu"] = tf_acts["block_0/relu"][:, :4]
    tf_acts["block_0/dense"] = torch_acts["model.layers.0.proj"]
    matches = divergence.automatic_map(TORCH_RECORD, KERAS_RECORD, torch_acts, tf_acts)
    assert ("model.layers.0.proj", "block_0/dense") in [(m.torch, m.tensorflow) for m in matches]


def test_keras_successors_follow_the_call_order_inside_one_parent():
    order = ["b/conv", "b/bn", "b/relu", "b/pad", "b/conv2", "c/relu"]
    free = {"b/relu", "b/pad", "c/relu"}
    assert _successors("b/bn", order, free) == ["b/relu", "b/pad"]
    assert _successors("b/conv2", order, free) == []  # c/relu is another layer's
    assert _successors("b/conv", order, free) == []  # the norm after it holds weights
    assert _successors("b/absent", order, free) == []


# --- a causal LM's records: GPT-2 as keras-hub converts it --------------------------------
# GPT-2's Conv1D keeps its weight as (in, out), transposed against a Linear. Fingerprints
# are taken of the tensors as the file holds them (PyTorch's state dict, and what
# keras-hub's loader reads before it transposes or splits anything), so they still meet.
GPT2_TORCH = {
    "keys": {
        "transformer.wte.weight": "512x64:e",
        "transformer.h.0.attn.c_attn.weight": "64x192:qkv0",  # (in, out): Conv1D
        "transformer.h.0.attn.c_attn.bias": "192:qkvb0",
        "transformer.h.0.mlp.c_proj.weight": "256x64:m0",
        "transformer.h.1.mlp.c_proj.weight": "256x64:m1",
        "lm_head.weight": "512x64:e",  # tied: the embedding's own tensor
    },
    "order": [
        "transformer.wte",
        "transformer.h.0.attn.c_attn",
        "transformer.h.0.attn",
        "transformer.h.0.mlp.c_proj",
        "transformer.h.1.mlp.c_proj",
        "lm_head",
    ],
    "types": {"transformer.h.1.mlp.c_proj": "Conv1D"},
}
# keras-hub reads the fused c_attn once for each of query, key and value (it splits the
# tensor after reading), and the TensorFlow side's file has layer 1's projection changed.
GPT2_KERAS = {
    "variables": [
        {"layer": "backbone/token_embedding", "keys": ["transformer.wte.weight"]},
        *(
            {"layer": f"backbone/layer_0/attention/{part}", "keys": [f"{tensor}"]}
            for part in ("query", "key", "value")
            for tensor in ("transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias")
        ),
        {"layer": "backbone/layer_0/ffn_out", "keys": ["transformer.h.0.mlp.c_proj.weight"]},
        {"layer": "backbone/layer_1/ffn_out", "keys": ["transformer.h.1.mlp.c_proj.weight"]},
    ],
    "successors": {},
}
_PRINTS = {**GPT2_TORCH["keys"], "transformer.h.1.mlp.c_proj.weight": "256x64:planted"}
for _variable in GPT2_KERAS["variables"]:
    _variable["fingerprints"] = [_PRINTS[key] for key in _variable["keys"]]


def test_a_gpt2_conversion_meets_its_tied_head_fused_qkv_and_a_changed_tensor():
    groups = {g.keys: (g.torch, g.tensorflow) for g in automatic_groups(GPT2_TORCH, GPT2_KERAS)}
    # The tied head holds the embedding's values; the embedding's name decides.
    assert groups[frozenset({"transformer.wte.weight"})] == (
        ("transformer.wte",),
        ("backbone/token_embedding",),
    )
    assert not any("lm_head" in torch for torch, _ in groups.values())
    # The fused projection was read into three layers: each a candidate for it, as the
    # attention layers holding the whole of it are.
    qkv = frozenset({"transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias"})
    assert groups[qkv][0] == ("transformer.h.0.attn", "transformer.h.0.attn.c_attn")
    assert set(groups[qkv][1]) == {
        "backbone/layer_0/attention",
        "backbone/layer_0/attention/query",
        "backbone/layer_0/attention/key",
        "backbone/layer_0/attention/value",
    }
    # The changed tensor has no equal: it is taken by its name among those of its shape.
    changed = groups[frozenset({"transformer.h.1.mlp.c_proj.weight"})]
    assert "transformer.h.1.mlp.c_proj" in changed[0] and "backbone/layer_1/ffn_out" in changed[1]


def test_a_causal_lms_logits_are_the_curves_last_point():
    rng = np.random.default_rng(0)
    tokens = rng.standard_normal((2, 5, 64)).astype(np.float32)
    torch_acts = {
        "transformer.wte": tokens,
        "transformer.h.0.attn.c_attn": rng.standard_normal((2, 5, 192)).astype(np.float32),
        "transformer.h.0.attn": tokens * 2,
        "transformer.h.0.mlp.c_proj": tokens * 3,
        "transformer.h.1.mlp.c_proj": tokens * 4,
        "lm_head": rng.standard_normal((2, 5, 512)).astype(np.float32),
        MODEL_LOGITS: rng.standard_normal((2, 5, 512)).astype(np.float32),
    }
    tf_acts = {
        "backbone/token_embedding": tokens,
        # per head: (batch, tokens, heads, width), a third of the fused output each
        **{
            f"backbone/layer_0/attention/{part}": tokens.reshape(2, 5, 4, 16)
            for part in ("query", "key", "value")
        },
        "backbone/layer_0/attention": tokens * 2,
        "backbone/layer_0/ffn_out": tokens * 3,
        "backbone/layer_1/ffn_out": tokens * 4 * 1.5,  # the changed tensor's output
        MODEL_LOGITS: torch_acts[MODEL_LOGITS] * 1.2,
    }
    matches = divergence.automatic_map(GPT2_TORCH, GPT2_KERAS, torch_acts, tf_acts)
    # The fused projection meets no layer of its shape; the attention output stands for it.
    assert [(m.torch, m.tensorflow) for m in matches] == [
        ("transformer.wte", "backbone/token_embedding"),
        ("transformer.h.0.attn", "backbone/layer_0/attention"),
        ("transformer.h.0.mlp.c_proj", "backbone/layer_0/ffn_out"),
        ("transformer.h.1.mlp.c_proj", "backbone/layer_1/ffn_out"),
        (MODEL_LOGITS, MODEL_LOGITS),
    ]
    assert matches[-1].label == "logits"
    found = divergence.localise(matches, torch_acts, tf_acts)
    assert found["first_over_rtol"]["label"] == "Conv1D transformer.h.1.mlp.c_proj"
    assert found["layers"][-1]["max_rel_diff"] > 0.1
    # Only where both sides kept their logits is there a logits point.
    del tf_acts[MODEL_LOGITS]
    matches = divergence.automatic_map(GPT2_TORCH, GPT2_KERAS, torch_acts, tf_acts)
    assert matches[-1].torch == "transformer.h.1.mlp.c_proj"


def test_an_untied_heads_embedding_layer_is_still_the_embeddings_candidate():
    # keras-hub's ReversibleEmbedding holds an untied head's matrix beside the embedding's
    # (TinyLlama): no PyTorch module holds both, yet its output is the embedding's.
    torch_record = {
        "keys": {
            "model.embed_tokens.weight": "512x64:e",
            "model.norm.weight": "64:n",
            "lm_head.weight": "512x64:h",
        },
        "order": ["model.embed_tokens", "model.norm", "lm_head"],
    }
    keras_record = {
        "variables": [
            {
                "layer": "backbone/token_embedding",
                "keys": ["model.embed_tokens.weight"],
                "fingerprints": ["512x64:e"],
            },
            {
                "layer": "backbone/token_embedding",
                "keys": ["lm_head.weight"],
                "fingerprints": ["512x64:h"],
            },
            {"layer": "backbone/norm", "keys": ["model.norm.weight"], "fingerprints": ["64:n"]},
        ],
    }
    groups = {g.keys: (g.torch, g.tensorflow) for g in automatic_groups(torch_record, keras_record)}
    assert groups[frozenset({"model.embed_tokens.weight"})] == (
        ("model.embed_tokens",),
        ("backbone/token_embedding",),
    )
    # a candidate for the head too, which the shapes of their outputs rule out
    assert groups[frozenset({"lm_head.weight"})] == (("lm_head",), ("backbone/token_embedding",))
    rng = np.random.default_rng(0)
    torch_acts = {
        "model.embed_tokens": rng.standard_normal((2, 5, 64)).astype(np.float32),
        "model.norm": rng.standard_normal((2, 5, 64)).astype(np.float32),
        "lm_head": rng.standard_normal((2, 5, 512)).astype(np.float32),
        MODEL_LOGITS: rng.standard_normal((2, 5, 512)).astype(np.float32),
    }
    tf_acts = {
        "backbone/token_embedding": torch_acts["model.embed_tokens"],
        "backbone/norm": torch_acts["model.norm"],
        MODEL_LOGITS: torch_acts[MODEL_LOGITS],
    }
    matches = divergence.automatic_map(torch_record, keras_record, torch_acts, tf_acts)
    assert [m.torch for m in matches] == ["model.embed_tokens", "model.norm", MODEL_LOGITS]
