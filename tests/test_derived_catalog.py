"""The derived catalog: the join of zoo tables with what the installed zoos say they hold.

Fast tests join the made-up install of tests/catalog_facts.py; the framework test reads the
real installed packages in children."""

from __future__ import annotations

import copy

import pytest
from catalog_facts import FACTS

from parity.run import catalog
from parity.run.catalog import find_pair
from parity.run.names import check_handle
from zoo.catalog import INDEPENDENT, PAIRS, SAME_WEIGHTS, SIDES, TANH_GELU
from zoo.derived import derive
from zoo.sources import resolve


def _reasons(derived) -> dict[str, str]:
    return {dropped.row: dropped.reason for dropped in derived.dropped}


def test_twins_join_keras_applications_with_torchvision_and_timm():
    pairs = derive(FACTS).pairs
    tv = pairs["resnet101"]
    assert (tv.torch.handle, tv.tensorflow.handle) == (
        "torchvision:resnet101.IMAGENET1K_V2",
        "keras-apps:ResNet101",
    )
    assert tv.relation == INDEPENDENT and tv.task == "image-classifier"
    assert tv.torch.preprocessing.resize == 232 and tv.torch.preprocessing.size == 224
    assert tv.tensorflow.preprocessing.channel_order == "BGR"  # ResNet: caffe mode
    assert [(p.metric, p.value) for p in tv.published] == [("top-1 %", 81.886), ("top-5 %", 95.0)]
    # timm's first tag is what pretrained=True loads
    assert pairs["resnet101-vs-ResNet101"].torch.handle == "timm:resnet101.a1h_in1k"
    # a tag written in the table is kept, and its relation too
    convnext = pairs["convnext_tiny-vs-ConvNeXtTiny"]
    assert convnext.torch.handle == "timm:convnext_tiny.fb_in1k"
    assert convnext.relation == SAME_WEIGHTS
    xception = pairs["legacy_xception-vs-Xception"]
    # one checkpoint: both sides see keras' geometry, each normalised its own way
    assert (xception.torch.preprocessing.size, xception.torch.preprocessing.resize) == (
        xception.tensorflow.preprocessing.size,
        xception.tensorflow.preprocessing.resize,
    )
    assert xception.torch.preprocessing.size == 299


def test_keras_hub_presets_join_the_checkpoint_they_were_converted_from():
    pairs = derive(FACTS).pairs
    image = pairs["resnet_50_imagenet"]
    assert (image.torch.handle, image.tensorflow.handle) == (
        "timm:resnet50.a1_in1k",
        "keras-hub:kaggle://keras/resnetv1/keras/resnet_50_imagenet/3",
    )
    assert image.relation == SAME_WEIGHTS
    assert image.torch.preprocessing == image.tensorflow.preprocessing
    assert image.torch.preprocessing.resize == round(224 / 0.95)
    text = pairs["bert_base_en_uncased"]
    assert text.task == "text-encoder" and text.tokenizer == "hf:google-bert/bert-base-uncased"
    assert text.diagnostics == (TANH_GELU,)
    # a preset without a recorded Kaggle handle goes by its keras-hub name
    assert text.tensorflow.handle == "keras-hub:bert_base_en_uncased"
    lm = pairs["gpt2_base_en"]
    assert lm.task == "text-generation" and lm.torch.handle == "hf:gpt2"
    assert lm.dataset == "lm-prompts"


def test_a_name_the_installed_package_lacks_is_dropped_with_a_reason():
    derived = derive(FACTS)
    reasons = _reasons(derived)
    assert reasons["ResNet152 ~ torchvision:resnet152"] == (
        "torchvision 0.0-fake has no classification model 'resnet152'"
    )
    assert reasons["ResNet152 ~ timm:resnet152"] == "timm 0.0-fake has no architecture 'resnet152'"
    assert reasons["ResNet152V2 ~ timm:resnetv2_152"] == (
        "timm 0.0-fake has resnetv2_152 but no pretrained weights for it"
    )
    assert reasons["VGG16 ~ torchvision:vgg16"] == (
        "keras 0.0-fake has no keras.applications.VGG16"
    )
    assert "no known source" in reasons["resnet_vd_18_imagenet ~ ?"]
    assert "11821 classes" in reasons["efficientnet_b5_sw_imagenet ~ timm:efficientnet_b5.sw_in12k"]
    assert reasons["vgg_16_imagenet ~ timm:vgg16.tv_in1k"] == ("keras-hub 0.0-fake has no preset")
    # a family no task runs (SAM) is neither a pair nor a dropped row
    assert not any("sam_base" in row for row in reasons)
    assert not {"resnet152", "ResNet152V2", "vgg_16_imagenet"} & set(derived.pairs)


def test_a_missing_tag_and_a_missing_task_class_are_dropped_too():
    facts = copy.deepcopy(FACTS)
    facts["timm"]["tags"]["convnext_tiny"] = ["in12k_ft_in1k"]
    facts["keras-hub"]["presets"]["gpt2_base_en"]["tasks"] = []
    reasons = _reasons(derive(facts))
    assert (
        "no pretrained tag 'fb_in1k' for convnext_tiny"
        in (reasons["ConvNeXtTiny ~ timm:convnext_tiny.fb_in1k"])
    )
    assert (
        reasons["gpt2_base_en ~ hf:gpt2"] == "keras-hub 0.0-fake has no CausalLM for gpt2_base_en"
    )


def test_hand_written_pairs_stay_authoritative():
    derived = derive(FACTS)
    # the TorchVision twins of ResNet50 and ConvNeXtTiny are hand-written pairs already
    assert (
        "already in the catalog as resnet50" in _reasons(derived)["ResNet50 ~ torchvision:resnet50"]
    )
    assert "resnet50" not in derived.pairs and PAIRS["resnet50"].published[0].value == 80.858
    assert not set(derived.pairs) & set(PAIRS)


def test_a_library_that_could_not_be_read_drops_only_its_rows():
    facts = {**FACTS, "keras-hub": {"error": "ModuleNotFoundError: No module named 'keras_hub'"}}
    derived = derive(facts)
    assert "resnet101" in derived.pairs and "resnet_50_imagenet" not in derived.pairs
    assert (
        "keras-hub could not be read (ModuleNotFoundError"
        in (_reasons(derived)["resnet_50_imagenet ~ timm:resnet50.a1_in1k"])
    )
    without_timm = derive({k: v for k, v in FACTS.items() if k != "timm"})
    assert "resnet101" in without_timm.pairs and "resnet101-vs-ResNet101" not in without_timm.pairs
    assert "bert_base_en_uncased" in without_timm.pairs  # Hugging Face origins need no timm


def test_every_derived_pair_is_found_by_id_and_its_handles_resolve():
    """What `parity run ID` needs offline: the pair by its id, each side's source accepting
    its handle (the network is asked for only when the run loads it)."""
    for pair_id, pair in derive(FACTS).pairs.items():
        assert find_pair(pair_id.upper()) == pair
        for side in SIDES:
            assert resolve(pair.side(side).handle).handle == pair.side(side).handle


@pytest.mark.frameworks
def test_the_installed_zoos_derive_at_least_150_pairs(monkeypatch, tmp_path):
    monkeypatch.setenv(catalog.CACHE_ENV, str(tmp_path / "catalog"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the names cache too
    whole = catalog.whole_catalog()
    assert whole.problems == []
    assert len(whole.pairs) >= 150, (len(whole.pairs), whole.dropped[:10])
    assert set(whole.versions) == {"torchvision", "timm", "keras", "keras-hub"}
    cached = sorted(p.name for p in (tmp_path / "catalog").iterdir())
    assert len(cached) == 2  # one facts file per framework side
    # every derived handle passes its library's own list of names
    for pair in whole.derived.values():
        for side in SIDES:
            check_handle(pair.side(side).handle)
    # a Keras 3 install has no RegNet in keras.applications: dropped, with the reason
    reasons = {d.row: d.reason for d in whole.dropped}
    assert (
        "has no keras.applications.RegNetX004" in reasons["RegNetX004 ~ torchvision:regnet_x_400mf"]
    )
