"""Accuracy tracks A and B, and the image datasets behind --dataset (no framework needed)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.datasets import images as image_datasets
from parity.datasets.images import load_image_folder, parse_spec, seeded_subset
from parity.datasets.sentences import DatasetError
from parity.evaluate import tracks
from zoo.catalog import INDEPENDENT, SAME_WEIGHTS, Pair, Side
from zoo.preprocessing import KERAS_CAFFE, KERAS_TF, TORCHVISION_IMAGENET, Preprocessing

# Solid-colour pictures whose red value is their ImageNet label (see tests/plugins/fake_images).
LABELS = (7, 60, 130, 200, 250)


def _solid(red: int, size=(40, 30)) -> Image.Image:
    return Image.new("RGB", size, (red, 90, 170))


def _folder(root: Path, by: str = "index", per_class: int = 2, suffix: str = ".png") -> Path:
    """A tiny ImageNet-val layout folder: class folders named by synset or by index."""
    names = image_datasets.synsets()
    for label in LABELS:
        folder = root / (names[label] if by == "synset" else str(label))
        folder.mkdir(parents=True)
        for k in range(per_class):
            _solid(label).save(folder / f"img{k}{suffix}")
    return root


# ---- the synset list ----


def test_synsets_are_the_standard_order_of_the_class_names():
    names = image_datasets.synsets()
    assert len(names) == 1000 and len(set(names)) == 1000
    # Spot checks against the class list: tench is 0, goldfish 1, toilet tissue 999.
    assert names[0] == "n01440764" and names[1] == "n01443537" and names[999] == "n15075141"
    assert image_datasets.class_index("n01443537") == 1
    assert image_datasets.class_index("goldfish") == 1
    assert image_datasets.class_index("999") == 999
    assert image_datasets.class_index("1000") is None
    assert image_datasets.class_index("crane") is None  # two classes share the name
    assert image_datasets.class_index("goldfish, Carassius auratus") == 1


def test_imagenet_itself_maps_by_position_even_where_names_repeat():
    from parity.datasets.photos import class_names

    # As Hugging Face's imagenet-1k names its classes: synonyms, and "crane" twice.
    names = [f"{name}, synonym" for name in class_names()]
    names[134] = names[517] = "crane"
    assert image_datasets.map_class_names(names, "hf:imagenet-1k") == list(range(1000))
    with pytest.raises(DatasetError, match="'crane'"):
        image_datasets.map_class_names(names[100:200], "a subset")


# ---- --dataset forms ----


def test_dataset_specs_parse_and_bad_ones_say_how():
    assert parse_spec("photos").kind == "photos"
    assert parse_spec("imagefolder:/data/val").name == "/data/val"
    hf = parse_spec("hf:frgfm/imagenette:320px:validation")
    assert (hf.name, hf.config, hf.split) == ("frgfm/imagenette", "320px", "validation")
    assert parse_spec("hf:frgfm/imagenette").split == "validation"
    assert parse_spec("tfds:imagenette:train").split == "train"
    with pytest.raises(DatasetError, match="unknown image dataset 'cifar'.*imagefolder:/path"):
        parse_spec("cifar")
    with pytest.raises(DatasetError, match=r"write tfds:NAME\[:SPLIT\]"):
        parse_spec("tfds:a:b:c")
    with pytest.raises(DatasetError, match="unknown image dataset"):
        parse_spec("imagefolder:")


# ---- imagefolder ----


@pytest.mark.parametrize("by", ["synset", "index"])
def test_image_folder_maps_class_folders_to_imagenet_indices(tmp_path, by):
    found, subset = load_image_folder(_folder(tmp_path / "val", by=by))
    assert subset is None and len(found) == 2 * len(LABELS)
    assert sorted(set(found.labels)) == list(LABELS)
    assert all(im.shape == (30, 40, 3) and im.dtype == np.uint8 for im in found.images)
    assert found.images[0][0, 0].tolist() == [found.labels[0], 90, 170]


def test_jpeg_and_png_both_load(tmp_path):
    root = _folder(tmp_path / "val", suffix=".JPEG", per_class=1)
    _solid(7).save(root / "7" / "extra.png")
    found, _ = load_image_folder(root)
    assert len(found) == len(LABELS) + 1


def test_limit_takes_a_seeded_subset_not_the_first_images(tmp_path):
    root = _folder(tmp_path / "val", per_class=4)
    first, note = load_image_folder(root, limit=5, seed=0)
    again, _ = load_image_folder(root, limit=5, seed=0)
    other, _ = load_image_folder(root, limit=5, seed=1)
    assert first.sources == again.sources  # deterministic
    assert first.sources != other.sources  # the seed matters
    assert len(set(first.labels)) > 1  # not the first class's images only
    assert note == {
        "limit": 5,
        "of": 20,
        "seed": 0,
        "method": "numpy default_rng(seed).choice without replacement, in dataset order",
    }
    assert seeded_subset(20, 20, 0) is None and seeded_subset(20, None, 0) is None


def test_image_folder_refusals(tmp_path):
    def refused(root, match):
        with pytest.raises(DatasetError, match=match):
            load_image_folder(root)

    refused(tmp_path / "absent", "does not exist")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "holds no class folders")

    root = _folder(tmp_path / "a")
    (root / "n99999999").mkdir()
    _solid(1).save(root / "n99999999" / "x.png")
    refused(root, r"class name\(s\) 'n99999999' are not ImageNet-1k classes")

    root = _folder(tmp_path / "b")
    (root / "7" / "notes.txt").write_text("not a picture")
    refused(root, r"notes\.txt is not an image file")

    root = _folder(tmp_path / "c")
    (root / "7" / "fake.png").write_bytes(b"this is text, not a PNG\n")
    with pytest.raises(ValueError, match=r"fake\.png is not a decodable image"):
        load_image_folder(root)

    root = _folder(tmp_path / "d")
    (root / "60" / "img0.png").unlink()
    (root / "60" / "img1.png").unlink()
    refused(root, "class folder .*60 holds no images")

    root = _folder(tmp_path / "e")
    _solid(3).save(tmp_path / "outside.png")
    (root / "7" / "link.png").symlink_to(tmp_path / "outside.png")
    refused(root, "outside the dataset folder")

    root = _folder(tmp_path / "f")
    _solid(3).save(root / "stray.png")
    refused(root, "stray.png lies outside any class folder")


# ---- hf: and tfds: (network unavailable: fakes of each library in the child) ----


def _fake_package(tmp_path, monkeypatch, name: str, body: str) -> None:
    """A package `name` importable here and in children, standing in for the real one."""
    root = tmp_path / "fakes"
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(root))
    import os

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))


def test_missing_packages_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(image_datasets.importlib.util, "find_spec", lambda name: None)
    for spec, match in (
        ("hf:frgfm/imagenette", "needs the datasets package: pip install datasets"),
        ("tfds:imagenette", "pip install tensorflow-datasets"),
    ):
        with pytest.raises(DatasetError, match=match):
            image_datasets.load_images(spec, None, 0, tmp_path, offline=False)


def test_unreachable_hf_dataset_names_the_cache(tmp_path, monkeypatch):
    _fake_package(
        tmp_path,
        monkeypatch,
        "datasets",
        """
        def load_dataset(name, config=None, split=None):
            raise ConnectionError(f"Couldn't reach '{name}' on the Hub (LocalEntryNotFoundError)")
        """,
    )
    with pytest.raises(
        DatasetError, match=r"hf:frgfm/imagenette: could not load .*HF_DATASETS_CACHE"
    ):
        image_datasets.load_images("hf:frgfm/imagenette", None, 0, tmp_path, offline=True)
    assert "datasets" not in sys.modules  # read in a child; the parent never imports it


HF_FAKE = """
from PIL import Image

class Image_:  # datasets.Image, by its class name
    pass
Image_.__name__ = "Image"

class ClassLabel:
    def __init__(self, names):
        self.names = names

class Dataset:
    def __init__(self, reds, labels, names):
        self.features = {"image": Image_(), "label": ClassLabel(names)}
        self._rows = [
            {"image": Image.new("RGB", (12, 9), (r, 1, 2)), "label": k}
            for r, k in zip(reds, labels)
        ]
    def __len__(self):
        return len(self._rows)
    def __getitem__(self, i):
        return self._rows[i]

def load_dataset(name, config=None, split=None):
    assert (config, split) == ("320px", "validation"), (config, split)
    names = ["n01440764", "n02102040", "n03000684"]  # imagenette's first three synsets
    return Dataset([10, 20, 30, 40], [0, 1, 2, 1], names)
"""


def test_hf_dataset_labels_map_through_synsets(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch, "datasets", HF_FAKE)
    found, subset = image_datasets.load_images(
        "hf:frgfm/imagenette:320px:validation", None, 0, tmp_path, offline=False
    )
    synsets = image_datasets.synsets()
    expected = [synsets.index(s) for s in ("n01440764", "n02102040", "n03000684", "n02102040")]
    assert list(found.labels) == expected and subset is None
    assert [im[0, 0, 0] for im in found.images] == [10, 20, 30, 40]
    assert found.sources[1] == "hf:frgfm/imagenette:validation#1"
    picked, note = image_datasets.load_images(
        "hf:frgfm/imagenette:320px:validation", 2, 3, tmp_path, offline=False
    )
    assert len(picked) == 2 and note["of"] == 4 and note["seed"] == 3
    assert "datasets" not in sys.modules


TFDS_FAKE = """
import numpy as np

class Image:
    pass

class ClassLabel:
    def __init__(self, names):
        self.names = names

class _Split:
    num_examples = 3

class Info:
    features = {"image": Image(), "label": ClassLabel(["0", "1", "2"])}
    splits = {"validation": _Split()}

def load(name, split=None, with_info=False, download=True):
    if name != "imagenette":
        raise ValueError(f"Dataset {name} not found.")
    rows = [{"image": np.full((5, 4, 1), 9 * i, np.uint8), "label": i} for i in range(3)]
    return rows, Info()

def as_numpy(dataset):
    return iter(dataset)
"""


def test_tfds_dataset_in_a_child_and_its_errors(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch, "tensorflow_datasets", TFDS_FAKE)
    found, _ = image_datasets.load_images("tfds:imagenette", None, 0, tmp_path, offline=True)
    assert list(found.labels) == [0, 1, 2]
    assert found.images[2].shape == (5, 4, 3) and found.images[2][0, 0, 0] == 18  # gray -> RGB
    with pytest.raises(DatasetError, match=r"could not load nope .*tfds build nope.*TFDS_DATA_DIR"):
        image_datasets.load_images("tfds:nope", None, 0, tmp_path, offline=True)
    assert "tensorflow_datasets" not in sys.modules


# ---- the tracks ----


def test_track_plan():
    paths = {"torch": {"pixel_values": "t.npy"}, "tensorflow": {"pixel_values": "k.npy"}}
    same = tracks.plan({"torch": TORCHVISION_IMAGENET, "tensorflow": TORCHVISION_IMAGENET}, paths)
    assert same.status == tracks.IDENTICAL and same.extra_inputs == {}
    differ = tracks.plan({"torch": TORCHVISION_IMAGENET, "tensorflow": KERAS_CAFFE}, paths)
    assert differ.status == tracks.MEASURED
    assert differ.extra_inputs == {"tensorflow": {"track_b": {"pixel_values": "t.npy"}}}
    sizes = tracks.plan(
        {"torch": TORCHVISION_IMAGENET, "tensorflow": Preprocessing(size=299)}, paths
    )
    assert sizes.status == tracks.NOT_MEASURED and "different input sizes" in sizes.note
    seeded = tracks.plan({"torch": TORCHVISION_IMAGENET, "tensorflow": KERAS_CAFFE}, paths, True)
    assert seeded.status == tracks.NOT_MEASURED and seeded.extra_inputs == {}


def _image_pair(tf_handle: str, tf_recipe, relation=INDEPENDENT, suffix="") -> Pair:
    return Pair(
        id=f"fakeimg-rgb-{tf_handle.split(':')[1]}{suffix}",
        task="image-classifier",
        relation=relation,
        torch=Side("fakeimg:rgb", preprocessing=TORCHVISION_IMAGENET),
        tensorflow=Side(tf_handle, preprocessing=tf_recipe),
        dataset="photos",
    )


EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def test_tracks_end_to_end_on_an_image_folder(tmp_path, quick_config):
    from parity.run.runner import run

    root = _folder(tmp_path / "val", by="synset")
    config = quick_config(dataset=f"imagefolder:{root}", modes=EAGER_ONLY, latency_batches=(1,))
    record = run(
        [
            _image_pair("fakeimg:bgr", KERAS_CAFFE),
            _image_pair("fakeimg:rgb", TORCHVISION_IMAGENET, SAME_WEIGHTS),
            # Same weights, but the TF side's recipe differs: on identical tensors the
            # outputs must then agree to the last bit.
            _image_pair("fakeimg:rgb", KERAS_TF, SAME_WEIGHTS, "-tf-recipe"),
        ],
        config,
    )
    differ, same, converted = record["pairs"]
    assert record["parent_framework_modules"] == []
    found = differ["evaluation"]["tracks"]
    assert found["track_b"] == tracks.MEASURED
    torch_side, tf_side = found["sides"]["torch"], found["sides"]["tensorflow"]
    # Track A: each model gets the preprocessing it expects, so both are right.
    assert torch_side["a"] == {"top1": 1.0, "top5": 1.0} and tf_side["a"]["top1"] == 1.0
    # Track B: the caffe-reading model is fed the PyTorch side's tensors and misreads them.
    assert torch_side["b"] == torch_side["a"] and tf_side["b"]["top1"] == 0.0
    assert tf_side["a_minus_b"]["top1"] == 1.0 and torch_side["a_minus_b"]["top1"] == 0.0
    assert found["torch_minus_tf"] == {
        "a": {"top1": 0.0, "top5": 0.0},
        "b": {"top1": 1.0, "top5": 1.0},
    }
    assert found["agreement_b"]["top1_agreement"] == 0.0  # independent: predictions only
    agreement_b = converted["evaluation"]["tracks"]["agreement_b"]
    assert agreement_b["max_abs_diff"] == 0.0 and agreement_b["passed"]
    # Track A fed the TF side [-1, 1] pixels that this model misreads: A−B shows it.
    assert converted["evaluation"]["tracks"]["sides"]["tensorflow"]["a_minus_b"]["top1"] < 0
    tf_cell = next(c for c in differ["cells"] if c["side"] == "tensorflow")
    torch_cell = next(c for c in differ["cells"] if c["side"] == "torch")
    assert Path(tf_cell["extra_output_paths"]["track_b"]).name == "output_track_b.npy"
    assert "extra_output_paths" not in torch_cell  # its own inputs are the reference
    assert tf_cell["metrics"]["eval"]["extra"]["track_b"]["rows"] == 2 * len(LABELS)
    # Same recipe: nothing extra evaluated, and the record says B equals A by construction.
    same_tracks = same["evaluation"]["tracks"]
    assert same_tracks["track_b"] == tracks.IDENTICAL and "by construction" in same_tracks["note"]
    assert all("extra_output_paths" not in c for c in same["cells"])
    assert same_tracks["sides"]["tensorflow"]["a_minus_b"] == {"top1": 0.0, "top5": 0.0}
    assert differ["dataset"]["name"] == "imagefolder:val" and differ["dataset"]["images"] == 10
    report = (config.out_dir / "report.md").read_text()
    assert "| PyTorch − TensorFlow | +0.0 | +0.0 | +100.0 | +100.0 |" in report
    assert "| TensorFlow | 100.0 | 100.0 | 0.0 | 0.0 | +100.0 | +100.0 |" in report
    assert "track B is track A by construction" in report
    assert "On the identical track-B tensors: top-1 agreement 0%, top-5 overlap 0%" in report
    assert "max abs logit difference 0 (atol 0.0001: pass) over 10 inputs" in report
    html = (config.out_dir / "index.html").read_text()
    assert "A−B top-1" in html
    saved = json.loads((config.out_dir / "results.json").read_text())
    assert saved["pairs"][0]["evaluation"]["tracks"]["track_b"] == tracks.MEASURED


def test_a_bad_dataset_fails_the_pair_with_its_reason(tmp_path, quick_config):
    from parity.run.runner import FAILED, run

    (tmp_path / "val" / "not-a-class").mkdir(parents=True)
    config = quick_config(dataset=f"imagefolder:{tmp_path / 'val'}", modes=EAGER_ONLY)
    record = run([_image_pair("fakeimg:bgr", KERAS_CAFFE)], config)
    assert record["pairs"][0]["status"] == FAILED
    assert "'not-a-class' are not ImageNet-1k classes" in record["pairs"][0]["reason"]
