"""FLOPs counts and the TorchScript mode, checked in real framework children against
analytic figures. Each framework runs in its own child process (never both in one)."""

import pytest
from framework_child import run_in_child

pytestmark = pytest.mark.frameworks


TORCH_MODELS = """
    import json
    import torch
    from parity.child.engines.torch_engine import ENGINE, TorchScriptError

    torch.manual_seed(0)

    def closure(model):
        return lambda inputs: model(inputs["x"]) + inputs["y"].sum()

    linear = torch.nn.Linear(32, 10).eval()
    conv = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU()
    ).eval()
    conv[1].running_mean.uniform_()  # so freezing's conv + batch-norm folding matters
"""


def test_torch_flops_of_a_linear_layer_are_two_per_multiply_add():
    found = run_in_child(
        "torch",
        TORCH_MODELS
        + """
    example = {"x": torch.ones(3, 32), "y": torch.ones(3, 1)}
    attend = lambda i: torch.nn.functional.scaled_dot_product_attention(i["q"], i["q"], i["q"])
    print(json.dumps({
        "linear": ENGINE.count_flops(closure(linear), example),
        "attention": ENGINE.count_flops(attend, {"q": torch.ones(1, 2, 16, 8)}),
    }))
    """,
    )
    assert found["linear"]["per_sample"] == 2 * 32 * 10  # per sample, though the batch was 3
    assert "FlopCounterMode" in found["linear"]["method"]
    # Two products of 2 heads x 16 x 16 x 8 multiply-adds, on the CPU attention kernel.
    assert found["attention"]["per_sample"] == 2 * 2 * (2 * 16 * 16 * 8)


def test_torchscript_mode_matches_eager_and_fails_clearly():
    found = run_in_child(
        "torch",
        TORCH_MODELS
        + """
    result = {}
    example = {"x": torch.randn(2, 3, 16, 16), "y": torch.randn(2, 1)}
    forward = closure(conv)
    with torch.inference_mode():
        eager = forward(example)
    scripted = ENGINE.compile(forward, "torchscript", example)
    again = {"x": torch.randn(2, 3, 16, 16), "y": torch.randn(2, 1)}
    with torch.inference_mode():
        eager_again = forward(again)
    result["max_diff"] = max(
        (scripted(example) - eager).abs().max().item(),
        (scripted(again) - eager_again).abs().max().item(),
    )
    try:
        ENGINE.compile(lambda inputs: "not a tensor", "torchscript", example)(example)
        result["error"] = None
    except TorchScriptError as error:
        result["error"] = str(error)
    print(json.dumps(result))
    """,
    )
    assert found["max_diff"] < 1e-5
    assert found["error"].startswith("torch.jit.trace could not trace this model")
    assert "\n" not in found["error"] and "--modes torch=" in found["error"]


def test_tensorflow_flops_of_dense_and_einsum_layers_are_two_per_multiply_add():
    found = run_in_child(
        "tensorflow",
        """
    import json
    import keras
    import tensorflow as tf
    from parity.child.engines.tf_engine import ENGINE

    dense = keras.Sequential([keras.Input((32,)), keras.layers.Dense(10)])
    einsum = keras.Sequential(
        [keras.Input((4, 32)), keras.layers.EinsumDense("abc,cd->abd", output_shape=(4, 10))]
    )
    print(json.dumps({
        "dense": ENGINE.count_flops(lambda i: dense(i["x"]), {"x": tf.ones((1, 32))}),
        "einsum": ENGINE.count_flops(lambda i: einsum(i["x"]), {"x": tf.ones((1, 4, 32))}),
    }))
    """,
    )
    assert found["dense"]["per_sample"] == 2 * 32 * 10
    assert found["dense"]["per_sample_all_ops"] == 2 * 32 * 10 + 10  # plus the bias add
    assert found["einsum"]["per_sample"] == 2 * 4 * 32 * 10


def test_gemm_calibration_child_reports_a_rate_per_size():
    found = run_in_child(
        "torch",
        """
    import json
    from parity.child.peak_kernels import benchmark

    found = benchmark(
        sizes=(64, 128), conv_channels=(32,), rounds=2, round_s=0.01, batched_3x3=((2, 16, 8),)
    )
    print(json.dumps(found))
    """,
    )
    assert set(found["per_size"]) == {
        "mm n=64",
        "mm n=128",
        "conv1x1 c=32",
        "conv3x3 c=256",
        "conv3x3 b=2 c=16 8x8",
    }
    assert found["gflops_per_s"] == max(found["per_size"].values()) > 0
