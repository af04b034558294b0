"""Export modes on real frameworks (parity.child.export): tiny seeded models exported at
batch 1 and run at batch 4, checked against their own eager outputs; a weight changed
after export is caught by the agreement check; a missing optional package fails its own
cell with its message while the run goes on.

Each framework runs in its own child process (never torch and TensorFlow in one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest
from framework_child import run_in_child

from parity.run.runner import FAILED, OK, run
from parity.spawn import child_environment
from zoo.catalog import SAME_WEIGHTS, Pair, Side

pytestmark = pytest.mark.frameworks


def _needs(*modules: str) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


# Exported at batch 1 (the first call), then compiled and run at batch 4; the agreement
# check is the runner's (checks.mode_consistency over the same-side logits agreement).
JUDGE = """
    import json
    import numpy as np
    from parity.evaluate import checks

    def judge(eager, exported):
        found = checks.logits_agreement(np.asarray(eager), np.asarray(exported), atol=1e-4)
        return checks.mode_consistency(found)

    def judge_int8(eager, exported):
        return checks.prediction_consistency(np.asarray(eager), np.asarray(exported))
"""

TORCH_CNN = (
    JUDGE
    + """
    import torch
    from parity.child.engines.torch_engine import ENGINE

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10),
    )
    # Batch-norm statistics from a random batch, so outputs are not degenerate.
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 3, 16, 16))
    model.eval()
    forward = lambda inputs: model(inputs["images"])
    ENGINE.configure_threads(1)
    one = {"images": torch.randn(1, 3, 16, 16)}
    four = {"images": torch.randn(4, 3, 16, 16)}
"""
)


def test_torch_cnn_exports_at_batch_1_runs_at_batch_4_and_a_changed_weight_is_caught():
    _needs("torch", "onnxruntime", "onnxscript")
    found = run_in_child(
        "torch",
        TORCH_CNN
        + """
    ENGINE.compile(forward, "onnx", one)(one)  # the export, at batch 1
    at_four = ENGINE.compile(forward, "onnx", four)
    with torch.inference_mode():
        eager = model(four["images"]).numpy()
    same = judge(eager, at_four(four))
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] += 0.5  # after the export: the file keeps the old weight
        changed = model(four["images"]).numpy()
    print(json.dumps({
        "same": same, "changed": judge(changed, at_four(four)),
        "exports": ENGINE.exports.report(), "scale": float(np.abs(eager).max()),
    }))
    """,
    )
    assert found["same"]["passed"], found
    assert found["same"]["max_abs_diff_over_scale"] < 1e-5, found
    assert found["changed"]["passed"] is False, found
    first = found["exports"][0]
    assert first["batch"] == 1 and first["runtime"] == "onnxruntime"
    assert first["exporter"].startswith("torch.onnx.export(dynamo=")
    assert first["file_bytes"] > 0 and first["export_s"] > 0
    # A file with a fixed batch axis is exported again at batch 4, and says so.
    batches = [e["batch"] for e in found["exports"]]
    assert batches == ([1] if first["dynamic_batch"] else [1, 4]), found["exports"]
    print(json.dumps(found["exports"], indent=1))  # figures for the report (pytest -s)


def test_torch_cnn_int8_keeps_its_predictions_and_a_reversed_layer_is_caught():
    _needs("torch", "onnxruntime", "onnxscript")
    found = run_in_child(
        "torch",
        TORCH_CNN
        + """
    many = {"images": torch.randn(64, 3, 16, 16)}
    ENGINE.compile(forward, "onnx-int8", one)(one)  # exported and quantised at batch 1
    at_many = ENGINE.compile(forward, "onnx-int8", many)
    with torch.inference_mode():
        eager = model(many["images"]).numpy()
    int8 = at_many(many)
    kept = judge_int8(eager, int8)
    with torch.no_grad():
        model[-1].weight.neg_()  # after the export: every prediction becomes the worst
        reversed_ = model(many["images"]).numpy()
    print(json.dumps({
        "kept": kept, "changed": judge_int8(reversed_, int8),
        "over_scale": float(np.abs(eager - int8).max() / np.abs(eager).max()),
        "exports": ENGINE.exports.report(),
    }))
    """,
    )
    assert found["kept"]["passed"], found  # at least 90% of 64 top-1 predictions kept
    assert found["changed"]["passed"] is False, found
    assert found["over_scale"] > 1e-5, found  # quantised for real: the values moved
    first = found["exports"][0]
    assert first["batch"] == 1 and first["exporter"].endswith("+ quantize_dynamic"), first
    assert first["quantisation"].startswith("dynamic int8"), first
    assert 0 < first["file_bytes"] and first["unquantised_bytes"] > 0, first
    print(json.dumps({k: found[k] for k in ("kept", "over_scale", "exports")}))


def test_torch_export_with_an_op_no_exporter_knows_fails_with_their_messages():
    _needs("torch", "onnxruntime", "onnxscript")
    found = run_in_child(
        "torch",
        TORCH_CNN
        + """
    from parity.child.export import ExportError

    def odd(inputs):  # singular values: no ONNX operator computes them
        return torch.linalg.svdvals(model(inputs["images"]).reshape(-1, 2, 5))

    try:
        ENGINE.compile(odd, "onnx", one)(one)
        message = None
    except ExportError as error:
        message = str(error)
    print(json.dumps({"message": message}))
    """,
    )
    message = found["message"]
    assert message and "torch.onnx.export(dynamo=True) failed" in message, found
    assert "torch.onnx.export(dynamo=False) failed" in message, found


def test_torch_litert_needs_its_own_environment_and_reports_what_it_said(monkeypatch):
    _needs("torch", "ai_edge_litert")
    code = (
        TORCH_CNN
        + """
    from parity.child.export import ExportError

    try:
        ENGINE.compile(forward, "litert", one)(one)
        message = None
    except ExportError as error:
        message = str(error)
    print(json.dumps({"message": message}))
    """
    )
    unset = run_in_child("torch", code)["message"]
    assert "PARITY_LITERT_TORCH_PYTHON" in unset and "typing-extensions<4.13" in unset, unset
    # An environment without litert-torch (this one): the converter's own error comes back.
    monkeypatch.setenv("PARITY_LITERT_TORCH_PYTHON", sys.executable)
    found = run_in_child("torch", code)["message"]
    if importlib.util.find_spec("litert_torch") or importlib.util.find_spec("ai_edge_torch"):
        assert found is None
    else:
        assert found.startswith("litert-torch failed: ModuleNotFoundError"), found


def test_a_missing_runtime_fails_the_export_with_the_package_and_the_extra():
    _needs("torch")
    found = run_in_child(
        "torch",
        TORCH_CNN
        + """
    import sys
    sys.modules["onnxruntime"] = None  # as if not installed
    from parity.child.export import ExportError
    try:
        ENGINE.compile(forward, "onnx", one)(one)
        message = None
    except ExportError as error:
        message = str(error)
    print(json.dumps({"message": message}))
    """,
    )
    assert found["message"].startswith("onnxruntime is not installed"), found
    assert "pip install 'zoo-parity[export]'" in found["message"]


KERAS_CNN = (
    JUDGE
    + """
    import keras
    import tensorflow as tf
    from parity.child.engines.tf_engine import ENGINE

    ENGINE.configure_threads(1)  # before TensorFlow runs anything
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    # 3 x 3 x 8 x 16 weights: above the 1024 elements LiteRT's dynamic-range quantisation
    # leaves smaller tensors in float32 below.
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    model(np.random.default_rng(1).normal(size=(16, 16, 16, 3)).astype("float32"), training=True)
    for layer in model.layers:  # batch-norm statistics away from their identity start
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.moving_mean.shape[0]
            layer.moving_mean.assign(np.random.default_rng(2).normal(size=size) * 0.1)
            layer.moving_variance.assign(np.random.default_rng(3).uniform(0.5, 2.0, size=size))
    forward = lambda inputs: model(inputs["images"], training=False)
    rng = np.random.default_rng(4)
    one = {"images": tf.constant(rng.normal(size=(1, 16, 16, 3)).astype("float32"))}
    four = {"images": tf.constant(rng.normal(size=(4, 16, 16, 3)).astype("float32"))}
"""
)


@pytest.mark.parametrize("mode", ["onnx", "litert"])
def test_keras_cnn_exports_at_batch_1_and_runs_at_batch_4(mode):
    _needs("tensorflow", "keras", *(("tf2onnx", "onnxruntime") if mode == "onnx" else ()))
    if mode == "litert":
        _needs("ai_edge_litert")
    found = run_in_child(
        "tensorflow",
        KERAS_CNN
        + f"""
    ENGINE.compile(forward, {mode!r}, one)(one)
    at_four = ENGINE.compile(forward, {mode!r}, four)
    eager = forward(four).numpy()
    same = judge(eager, at_four(four))
    layer = model.layers[1]
    layer.kernel.assign(layer.kernel + 0.5)
    changed = judge(forward(four).numpy(), at_four(four))
    print(json.dumps({{"same": same, "changed": changed, "exports": ENGINE.exports.report()}}))
    """,
    )
    assert found["same"]["passed"], found
    assert found["changed"]["passed"] is False, found
    first = found["exports"][0]
    assert first["batch"] == 1 and first["dynamic_batch"] is True, found["exports"]
    assert len(found["exports"]) == 1  # one file served batch 4 too
    assert first["file_bytes"] > 0
    print(json.dumps(found["exports"], indent=1))


@pytest.mark.parametrize("mode", ["onnx-int8", "litert-int8"])
def test_keras_cnn_int8_keeps_its_predictions_and_a_reversed_layer_is_caught(mode):
    _needs("tensorflow", "keras", "onnxruntime", *(("tf2onnx",) if mode == "onnx-int8" else ()))
    if mode == "litert-int8":
        _needs("ai_edge_litert")
    found = run_in_child(
        "tensorflow",
        KERAS_CNN
        + f"""
    many = {{"images": tf.constant(rng.normal(size=(64, 16, 16, 3)).astype("float32"))}}
    ENGINE.compile(forward, {mode!r}, one)(one)
    at_many = ENGINE.compile(forward, {mode!r}, many)
    eager = forward(many).numpy()
    int8 = at_many(many)
    kept = judge_int8(eager, int8)
    dense = model.layers[-1]
    dense.kernel.assign(-dense.kernel)
    dense.bias.assign(-dense.bias)
    changed = judge_int8(forward(many).numpy(), int8)
    print(json.dumps({{
        "kept": kept, "changed": changed, "exports": ENGINE.exports.report(),
        "over_scale": float(np.abs(eager - int8).max() / np.abs(eager).max()),
    }}))
    """,
    )
    assert found["kept"]["passed"], found
    assert found["changed"]["passed"] is False, found
    assert found["over_scale"] > 1e-5, found  # quantised for real: the values moved
    first = found["exports"][0]
    assert first["batch"] == 1 and first["quantisation"], first
    print(json.dumps({k: found[k] for k in ("kept", "over_scale", "exports")}))


def test_keras_export_with_an_op_no_converter_knows_fails_its_cell():
    _needs("tensorflow", "keras", "tf2onnx", "onnxruntime", "ai_edge_litert")
    found = run_in_child(
        "tensorflow",
        KERAS_CNN
        + """
    from parity.child.export import ExportError

    def odd(inputs):  # Python inside the graph: neither file format can hold it
        out = forward(inputs)
        return tf.py_function(lambda x: x * 2.0, [out], tf.float32)

    messages = {}
    for mode in ("onnx", "litert"):
        try:
            ENGINE.compile(odd, mode, one)(one)
            messages[mode] = None
        except ExportError as error:
            messages[mode] = str(error)
    print(json.dumps(messages))
    """,
    )
    # tf2onnx writes the op it cannot convert; onnxruntime refuses the file, naming it.
    assert found["onnx"] and "EagerPyFunc" in found["onnx"], found
    assert found["litert"] and "EagerPyFunc" in found["litert"], found
    print(json.dumps(found))


# --- a run: a tiny BERT, both sides, padded text batches -----------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    _needs("torch", "transformers", "tensorflow", "keras_hub")
    folder = tmp_path_factory.mktemp("hf") / "bert"
    code = f"""
        import torch
        from transformers import BertConfig, BertModel
        torch.manual_seed(0)
        bert = BertModel(BertConfig(vocab_size=1024, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=64,
                                    max_position_embeddings=64, hidden_act="gelu_pytorch_tanh"))
        bert.save_pretrained({str(folder)!r}, safe_serialization=True)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_environment(1, "torch"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.fixture
def tiny_bert_pair(tiny_bert, word_tokenizer) -> Pair:
    """The tiny BERT on both sides (transformers; keras-hub converting the same folder)."""
    return Pair(
        id="tiny-bert",
        relation=SAME_WEIGHTS,
        torch=Side(f"hf:{tiny_bert}"),
        tensorflow=Side(f"keras-hub:{tiny_bert}"),
        task="text-encoder",
        tokenizer=f"hf:{word_tokenizer}",
        dataset="sts-smoke",
    )


@pytest.mark.heavy
def test_bert_export_cells_agree_and_a_missing_package_fails_only_its_cell(
    tiny_bert_pair, quick_config, tmp_path, monkeypatch
):
    _needs("onnxruntime", "onnxscript", "tf2onnx")
    # ai_edge_litert shadowed by a package that cannot be imported: the LiteRT cell fails
    # with the message, the others go on.
    shadow = tmp_path / "shadow" / "ai_edge_litert"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('ai_edge_litert hidden by the test')\n")
    paths = (str(shadow.parent), os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    pair = tiny_bert_pair
    config = quick_config(
        modes={"torch": ("eager", "onnx"), "tensorflow": ("eager", "onnx", "litert")},
        eval_batch=1,  # the export happens at the first call: batch 1
        latency_batches=(4,),
        limit=12,
        timeout_s=300.0,
    )
    record = run([pair], config)
    found = record["pairs"][0]
    status = {c["cell_id"]: c["status"] for c in found["cells"]}
    assert status == {
        "tiny-bert/torch/eager": OK,
        "tiny-bert/torch/onnx": OK,
        "tiny-bert/tensorflow/eager": OK,
        "tiny-bert/tensorflow/onnx": OK,
        "tiny-bert/tensorflow/litert": FAILED,
    }, [c.get("stderr_tail") for c in found["cells"] if c["status"] != OK]
    litert = next(c for c in found["cells"] if c["mode"] == "litert")
    assert "ai-edge-litert is not installed" in litert["reason"], litert["reason"]
    assert "zoo-parity[export]" in litert["reason"]
    evaluation = found["evaluation"]
    for cell_id in ("tiny-bert/torch/onnx", "tiny-bert/tensorflow/onnx"):
        consistency = evaluation["mode_consistency"][cell_id]
        assert consistency["passed"], consistency  # masked hidden states, padded batches
        assert evaluation["export_agreement"][cell_id]["passed"], evaluation["export_agreement"]
    # Native and one-runtime comparisons are apart: the native one never picks an export.
    assert {e["torch"]["best_mode"] for e in evaluation["latency"].values()} == {"eager"}
    assert evaluation["onnx_latency"]["4"]["torch"]["best_mode"] == "onnx"
    for cell in found["cells"]:
        if cell["mode"] == "onnx":
            first = cell["metrics"]["exports"][0]
            assert first["batch"] == 1 and first["file_bytes"] > 0
            assert "4" in cell["latency_stats"]
    report = (config.out_dir / "report.md").read_text()
    assert "### Model Deployment" in report and "### Interoperability" in report
    assert "ai-edge-litert is not installed" in report
    print(
        json.dumps({c: evaluation["mode_consistency"][c] for c in evaluation["export_agreement"]})
    )


def test_bert_litert_cell_runs_a_keras_hub_backbone_with_padded_batches(
    tiny_bert_pair, quick_config
):
    _needs("ai_edge_litert")
    pair = tiny_bert_pair
    config = quick_config(
        modes={"torch": (), "tensorflow": ("eager", "litert")},
        eval_batch=1,
        latency_batches=(4,),
        limit=12,
        timeout_s=300.0,
    )
    found = run([pair], config)["pairs"][0]
    assert [c["status"] for c in found["cells"]] == [OK, OK], [
        c.get("stderr_tail") for c in found["cells"]
    ]
    consistency = found["evaluation"]["mode_consistency"]["tiny-bert/tensorflow/litert"]
    assert consistency["passed"], consistency
    exported = found["cells"][1]["metrics"]["exports"]
    assert exported[0]["batch"] == 1 and exported[0]["dynamic_batch"], exported
    print(json.dumps({"consistency": consistency, "exports": exported}))


def test_the_same_runtime_comparison_is_a_replicated_duel_of_both_onnx_exports(
    tiny_bert_pair, quick_config
):
    """Both sides' ONNX cells, then the duel: each replicate's workers load, export and
    time their file in onnxruntime in alternating rounds; the ratio gets a rerun interval."""
    _needs("onnxruntime", "onnxscript", "tf2onnx")
    from parity.publish.exports import SAME_RUNTIME_TITLE
    from parity.run.profiles import Profile

    pair = tiny_bert_pair
    profile = Profile(
        "test-duel",
        warmup=1,
        min_count=3,
        min_time_s=0.0,
        max_count=50,
        max_time_s=5.0,
        replicates=2,
        rounds=2,
        round_min_time_s=0.05,
    )
    config = quick_config(
        modes={"torch": ("onnx",), "tensorflow": ("onnx",)},
        eval_batch=1,
        latency_batches=(2,),
        limit=6,
        timeout_s=300.0,
        profile=profile,
    )
    found = run([pair], config)["pairs"][0]
    assert [c["status"] for c in found["cells"]] == [OK, OK], [
        c.get("stderr_tail") for c in found["cells"]
    ]
    replicated = found["evaluation"]["onnx_latency"]["2"]["replicated"]
    assert "error" not in replicated, replicated
    assert replicated["modes"] == {"torch": "onnx", "tensorflow": "onnx"}
    assert replicated["replicates"] == 2 and replicated["interval"] == "rerun"
    assert replicated["ci_low"] < replicated["ratio"] < replicated["ci_high"], replicated
    report = (config.out_dir / "report.md").read_text()
    assert SAME_RUNTIME_TITLE in report
    assert f"{replicated['ratio']:.3f} [{replicated['ci_low']:.3f}" in report
    print(json.dumps({k: replicated[k] for k in ("ratio", "ci_low", "ci_high", "wall_s")}))


def test_an_idle_onnxruntime_worker_leaves_the_cores_to_the_other_side(tmp_path):
    """A duel's idle worker must not burn CPU inside the other side's round. onnxruntime's
    default spinning keeps its intra-op threads busy for tens of ms after each call (about
    34 ms of CPU in the half second after a burst of calls, measured here with spinning
    on); the runtime wrapper turns it off."""
    _needs("onnxruntime", "onnx")
    found = run_in_child(
        "torch",
        f"""
        import json, time
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper, save
        from parity.child.export import OnnxRuntime

        weight = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
        nodes, names = [], ["x"]
        for i in range(4):
            nodes.append(helper.make_node("MatMul", [names[-1], f"w{{i}}"], [f"h{{i}}"]))
            names.append(f"h{{i}}")
        graph = helper.make_graph(
            nodes, "chain",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 256])],
            [helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, [16, 256])],
            [numpy_helper.from_array(weight, f"w{{i}}") for i in range(4)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        save(model, r"{tmp_path}/chain.onnx")
        run = OnnxRuntime(__import__("pathlib").Path(r"{tmp_path}/chain.onnx"), 2).prepare(
            {{"x": None}}
        )
        x = {{"x": np.ones((16, 256), np.float32)}}
        for _ in range(200):
            run(x)
        cpu0 = time.process_time()
        time.sleep(0.5)
        print(json.dumps({{"idle_cpu_ms": (time.process_time() - cpu0) * 1000}}))
        """,
    )
    assert found["idle_cpu_ms"] < 5.0, found
