"""Text encoders through the real loaders: checkpoints transformers writes with
save_pretrained, loaded by transformers on PyTorch and converted by keras-hub on
TensorFlow. Same weights, so their hidden states must agree."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from parity.run.runner import OK, run
from zoo.catalog import SAME_WEIGHTS, Pair, Side

NEEDED = ("torch", "transformers", "tensorflow", "keras_hub")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf")
    code = f"""
        import torch
        from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertForMaskedLM
        torch.manual_seed(0)
        # keras-hub's BERT uses the tanh GELU, so the checkpoint asks for it too.
        bert = BertModel(BertConfig(vocab_size=1024, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=64,
                                    max_position_embeddings=64, hidden_act="gelu_pytorch_tanh"))
        bert.save_pretrained({str(folder / "bert")!r}, safe_serialization=True)
        # Saved as the hub's distilbert-base-uncased is (keys under "distilbert."): keras-hub's
        # converter reads only that layout, not a bare DistilBertModel's.
        distil = DistilBertForMaskedLM(DistilBertConfig(vocab_size=1024, dim=32, n_layers=2,
                                                        n_heads=2, hidden_dim=64,
                                                        max_position_embeddings=64))
        distil.save_pretrained({str(folder / "distilbert")!r}, safe_serialization=True)
        from transformers import ViTConfig, ViTForImageClassification
        vit = ViTForImageClassification(ViTConfig(image_size=32, patch_size=8, hidden_size=32,
                                                  num_hidden_layers=2, num_attention_heads=2,
                                                  intermediate_size=64, num_labels=1000))
        vit.save_pretrained({str(folder / "vit")!r}, safe_serialization=True)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def _hf_pair(pair_id: str, folder, recipe=None, **extra) -> Pair:
    """One save_pretrained folder: transformers on PyTorch, keras-hub's conversion on TF."""
    return Pair(
        id=pair_id,
        relation=SAME_WEIGHTS,
        torch=Side(f"hf:{folder}", preprocessing=recipe),
        tensorflow=Side(f"keras-hub:{folder}", preprocessing=recipe),
        **extra,
    )


def _eager_config(quick_config, **settings):
    return quick_config(latency_batches=(1,), modes=EAGER_ONLY, timeout_s=300.0, **settings)


@pytest.mark.parametrize("name", ["bert", "distilbert"])
def test_save_pretrained_checkpoint_agrees_across_frameworks(
    checkpoints, word_tokenizer, quick_config, name
):
    folder = checkpoints / name
    pair = _hf_pair(
        f"tiny-{name}",
        folder,
        task="text-encoder",
        tokenizer=f"hf:{word_tokenizer}",
        dataset="sts-smoke",
    )
    config = _eager_config(quick_config, eval_batch=4, limit=12)
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK, OK], [c.get("stderr_tail") for c in cells]
    assert cells[0]["metrics"]["model"]["parameters"] == cells[1]["metrics"]["model"]["parameters"]
    agreement = record["pairs"][0]["evaluation"]["agreement"]
    assert agreement["passed"], agreement  # atol 1e-4 on the masked hidden states
    assert agreement["min_embedding_cosine"] > 0.99999


def test_save_pretrained_vit_classifier_and_the_layer_norm_epsilon(checkpoints, quick_config):
    from zoo.catalog import VIT_LN_EPS
    from zoo.preprocessing import Preprocessing

    recipe = Preprocessing(size=32, resize=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    folder = checkpoints / "vit"
    pair = _hf_pair(
        "tiny-vit",
        folder,
        recipe,
        task="image-classifier",
        dataset="photos",
        diagnostics=(VIT_LN_EPS,),
    )
    config = _eager_config(quick_config, eval_batch=1, limit=3)
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK] * 3, [c.get("stderr_tail") for c in cells]
    evaluation = record["pairs"][0]["evaluation"]
    # The checkpoint says layer_norm_eps 1e-12; keras-hub's converter keeps its own 1e-6.
    # With PyTorch at 1e-6 too, the two agree within atol and predict the same classes.
    diagnostic = evaluation["diagnostics"][0]["agreement"]
    assert diagnostic["passed"] and diagnostic["top1_agreement"] == 1.0, diagnostic
    assert diagnostic["max_abs_diff"] < evaluation["agreement"]["max_abs_diff"]


def test_an_input_size_the_model_rejects_fails_its_cells_with_one_line(checkpoints, quick_config):
    from zoo.preprocessing import Preprocessing

    # The tiny ViT was built for 32 x 32 images; feed it 48 x 48.
    wrong = Preprocessing(size=48, resize=48, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    folder = checkpoints / "vit"
    pair = _hf_pair("tiny-vit-wrong-size", folder, wrong, task="image-classifier", dataset="photos")
    config = _eager_config(quick_config, eval_batch=1, limit=1)
    record = run([pair], config)
    cells = record["pairs"][0]["cells"]
    for cell in cells:
        assert cell["status"] == "failed", cell
        assert "\n" not in cell["reason"] and "48" in cell["reason"], cell["reason"]


def test_a_gpu_run_without_a_gpu_fails_each_side_with_the_fix(
    checkpoints, word_tokenizer, quick_config
):
    folder = checkpoints / "bert"
    pair = _hf_pair(
        "tiny-bert-on-cuda",
        folder,
        task="text-encoder",
        tokenizer=f"hf:{word_tokenizer}",
        dataset="sts-smoke",
    )
    config = _eager_config(quick_config, limit=4, device="cuda")
    record = run([pair], config)
    torch_cell, tf_cell = record["pairs"][0]["cells"]
    if torch_cell["status"] == tf_cell["status"] == OK:
        pytest.skip("this machine has a GPU both frameworks can use")
    assert "PyTorch sees no CUDA device" in torch_cell["reason"]
    assert "TensorFlow" in tf_cell["reason"] and "sees no GPU" in tf_cell["reason"]
    assert all("--device cpu" in c["reason"] for c in (torch_cell, tf_cell))
