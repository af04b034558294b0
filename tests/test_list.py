"""`parity list` filters and --json, in this process (no framework): over the hand-written
pairs and those derived from the made-up install in tests/catalog_facts.py (cached for the
session by conftest.py, so no child is started)."""

from __future__ import annotations

import json

import pytest

from parity import spawn
from parity.cli.main import main
from parity.run import catalog
from zoo.catalog import PAIRS

DERIVED = {
    "resnet50-vs-ResNet50",
    "resnet101",
    "resnet101-vs-ResNet101",
    "legacy_xception-vs-Xception",
    "convnext_tiny-vs-ConvNeXtTiny",
    "resnet_50_imagenet",
    "bert_base_en_uncased",
    "gpt2_base_en",
}


@pytest.fixture
def no_children(monkeypatch):
    """Any child started from here fails the test: the catalog must come from the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a child was started: {args}")

    monkeypatch.setattr(spawn, "run_child", refuse)


def _listing(capsys, *args: str) -> dict:
    assert main(["list", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _json(capsys, *args: str) -> list[dict]:
    return _listing(capsys, *args)["pairs"]


def test_json_lists_every_pair_with_its_sides(capsys, no_children):
    pairs = _json(capsys)
    assert [p["id"] for p in pairs if not p["derived"]] == list(PAIRS)
    assert {p["id"] for p in pairs if p["derived"]} == DERIVED
    lite1 = next(p for p in pairs if p["id"] == "efficientnet-lite1")
    assert lite1["torch"]["source"] == "timm" and lite1["tensorflow"]["source"] == "keras-build"
    assert lite1["relation"] == "same-weights"
    preset = next(p for p in pairs if p["id"] == "resnet_50_imagenet")
    assert preset["torch"]["handle"] == "timm:resnet50.a1_in1k"
    assert (
        preset["tensorflow"]["handle"]
        == "keras-hub:kaggle://keras/resnetv1/keras/resnet_50_imagenet/3"
    )
    assert preset["relation"] == "same-weights"


def test_filters_narrow_the_list(capsys, no_children):
    text = _json(capsys, "--task", "text-encoder")
    assert text and all(p["task"] == "text-encoder" for p in text)
    assert "bert_base_en_uncased" in {p["id"] for p in text}
    timm = _json(capsys, "--source", "timm")
    assert {"resnet50-timm", "efficientnet-lite2", "resnet_50_imagenet"} <= {p["id"] for p in timm}
    assert all("timm" in (p["torch"]["source"], p["tensorflow"]["source"]) for p in timm)
    independent = _json(capsys, "--relation", "independent")
    assert independent and all(p["relation"] == "independent" for p in independent)
    assert {"resnet101", "resnet50-vs-ResNet50"} <= {p["id"] for p in independent}
    assert {p["id"] for p in _json(capsys, "LITE")} == {
        "efficientnet-lite0",
        "efficientnet-lite1",
        "efficientnet-lite2",
    }
    assert {p["id"] for p in _json(capsys, "xception")} == {"legacy_xception-vs-Xception"}
    loadable = _json(capsys, "--loadable")
    assert all(
        p[side]["availability"] in ("local", "shipped", "cached")
        for p in loadable
        for side in ("torch", "tensorflow")
    )


def test_loadable_means_both_real_weights_are_on_disk(capsys, no_children, monkeypatch, tmp_path):
    """A derived keras-hub pair is loadable once the preset's version is in kagglehub's cache
    and its timm checkpoint in the Hugging Face cache; with either alone it is not."""
    preset = tmp_path / "kaggle" / "models/keras/resnetv1/keras/resnet_50_imagenet"
    (preset / "3").mkdir(parents=True)
    (preset / "3.complete").touch()
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    assert "resnet_50_imagenet" not in {p["id"] for p in _json(capsys, "--loadable")}
    (tmp_path / "hf/models--timm--resnet50.a1_in1k/snapshots/abc").mkdir(parents=True)
    found = {p["id"]: p for p in _json(capsys, "--loadable")}
    assert found["resnet_50_imagenet"]["tensorflow"]["availability"] == "cached"
    assert found["resnet_50_imagenet"]["offline"] == {"weights": True, "seeded": True}


def test_seeded_says_which_pairs_run_offline_with_random_weights(capsys, no_children):
    seeded = {p["id"]: p for p in _json(capsys, "--seeded")}
    # independent pairs whose loaders build random weights; timm -> keras-hub conversions
    # keras-hub's timm loader dispatches; Hugging Face ones with a seeded config written out
    assert {"resnet101", "resnet50-vs-ResNet50", "resnet_50_imagenet", "resnet50-timm"} <= set(
        seeded
    )
    assert {"gpt2", "vit_b_16"} <= set(seeded)
    # same weights through keras.applications or keras-build: no seeded checkpoint both load;
    # keras-hub presets of Hugging Face checkpoints without a seeded config
    assert not {
        "legacy_xception-vs-Xception",
        "efficientnet-lite0",
        "bert_base_en_uncased",
        "gpt2_base_en",
        "all-MiniLM-L6-v2",
    } & set(seeded)
    assert all(p["offline"]["seeded"] for p in seeded.values())


def test_the_table_says_how_many_are_shown_and_a_bad_source_is_one_line(capsys, no_children):
    assert main(["list", "--task", "text-encoder"]) == 0
    out = capsys.readouterr().out
    assert f"of {len(PAIRS) + len(DERIVED)} pairs shown; {len(PAIRS)} hand-written" in out
    assert f"{len(DERIVED)} derived from the installed zoos" in out
    assert "derived pairs missing" not in out
    assert main(["list", "--source", "timmm"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "timm" in err


def test_json_says_why_table_rows_were_dropped(capsys, no_children):
    found = _listing(capsys)
    reasons = {d["row"]: d["reason"] for d in found["dropped"]}
    assert "has no classification model 'resnet152'" in reasons["ResNet152 ~ torchvision:resnet152"]
    assert found["problems"] == []
    assert found["versions"]["keras-hub"] == "0.0-fake"


def test_list_reads_the_cache_without_starting_a_child(capsys, no_children):
    # no_children fails any child; the session's cache holds both sides' facts
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "resnet_50_imagenet" in out and "gpt2_base_en" in out


def _fill(folder, monkeypatch) -> None:
    from catalog_facts import BY_SIDE

    monkeypatch.setenv(catalog.CACHE_ENV, str(folder))
    for side, facts in BY_SIDE.items():
        catalog.cache_path(side, catalog.installed_versions(side)).write_text(json.dumps(facts))


def test_refresh_reads_the_zoos_again(capsys, monkeypatch, tmp_path):
    from catalog_facts import BY_SIDE

    _fill(tmp_path, monkeypatch)
    started = []

    def child(module, args, env, timeout_s, **kwargs):
        started.append(args[0])
        return spawn.Outcome(
            returncode=0, wall_s=0.1, timeout_s=timeout_s, stdout=json.dumps(BY_SIDE[args[0]])
        )

    monkeypatch.setattr(spawn, "run_child", child)
    assert main(["list"]) == 0 and started == []
    assert main(["list", "--refresh"]) == 0
    assert sorted(started) == ["tensorflow", "torch"]
    assert "resnet_50_imagenet" in capsys.readouterr().out


def test_a_new_version_reads_the_zoos_again():
    versions = catalog.installed_versions("torch")
    bumped = {**versions, "timm": "99.0"}
    assert catalog.cache_path("torch", versions) != catalog.cache_path("torch", bumped)


def test_a_failed_child_leaves_the_hand_written_pairs_and_says_why(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(catalog.CACHE_ENV, str(tmp_path))
    started = []

    def failing_child(module, args, env, timeout_s, **kwargs):
        started.append(args[0])
        return spawn.Outcome(returncode=1, wall_s=0.1, timeout_s=timeout_s, stderr_tail="boom")

    monkeypatch.setattr(spawn, "run_child", failing_child)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert sorted(started) == ["tensorflow", "torch"]
    missing = [line for line in out.splitlines() if line.startswith("derived pairs missing")]
    assert len(missing) == 1 and missing[0].count("boom") == 2  # one line, both sides
    assert f"of {len(PAIRS)} pairs shown; {len(PAIRS)} hand-written, 0 derived" in out
    assert not list(tmp_path.iterdir())  # a failure is not cached


def test_a_framework_not_installed_is_one_line_and_no_child(capsys, monkeypatch, no_children):
    real_version = catalog.metadata.version

    def version(distribution: str) -> str:
        if distribution == "tensorflow":
            raise catalog.metadata.PackageNotFoundError(distribution)
        return real_version(distribution)

    monkeypatch.setattr(catalog.metadata, "version", version)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "derived pairs missing: tensorflow is not installed" in out.splitlines()
    assert "resnet_50_imagenet" not in out and "all-MiniLM-L6-v2" in out
    dropped = {d["row"]: d["reason"] for d in _listing(capsys)["dropped"]}
    assert dropped["ResNet101 ~ torchvision:resnet101"] == "keras was not read"
