"""The bundled photo set and its loader's refusals (numpy + Pillow only; no framework)."""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.datasets import photos
from parity.datasets.photos import (
    DEFAULT_MANIFEST,
    HEADER,
    NUM_CLASSES,
    PhotoSetError,
    class_names,
    load_photo_set,
)


def _write_manifest(folder: Path, *rows: tuple[str, ...] | str) -> Path:
    lines = ["\t".join(HEADER)]
    lines += [row if isinstance(row, str) else "\t".join(row) for row in rows]
    path = folder / "manifest.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fake_package(tmp_path, monkeypatch) -> tuple[str, Path]:
    """An importable-looking package folder on sys.path holding a few small images."""
    name = f"fake_photo_pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "site" / name
    (root / "images").mkdir(parents=True)
    (root / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)).save(root / "images/rgb.png")
    Image.fromarray(rng.integers(0, 256, (6, 5), dtype=np.uint8)).save(root / "images/gray.png")
    Image.fromarray(rng.integers(0, 256, (4, 4, 4), dtype=np.uint8), "RGBA").save(
        root / "images/alpha.png"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return name, root


def _row(package: str, path: str, label: str = "1", also: str = "", note: str = "n"):
    return (package, path, label, also, note)


def test_class_names():
    names = class_names()
    assert len(names) == NUM_CLASSES
    assert names[0] == "tench" and names[281] == "tabby" and names[999] == "toilet tissue"


def test_bundled_manifest_loads():
    for package, dist in (("skimage", "scikit-image"), ("sklearn", "scikit-learn")):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{dist} is not installed (pip install 'zoo-parity[offline-weights]')")
    photo_set = load_photo_set()
    assert photo_set.name == "photos"
    assert len(photo_set) >= 5
    assert len(set(photo_set.sources)) == len(photo_set)
    for image in photo_set.images:
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        assert min(image.shape[:2]) >= 100
    for label, also in zip(photo_set.labels, photo_set.also, strict=True):
        assert 0 <= label < NUM_CLASSES
        assert all(0 <= extra < NUM_CLASSES for extra in also)
        assert label not in also
    assert all(note for note in photo_set.notes)
    chelsea = photo_set.sources.index("skimage:data/chelsea.png")
    assert photo_set.accepted(chelsea) == {281, 282, 285}  # tabby, tiger cat, Egyptian cat


def test_bundled_manifest_rows_are_well_formed():
    """Checked without the packages installed: header, five fields, labels in range."""
    lines = DEFAULT_MANIFEST.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == HEADER
    for line in lines[1:]:
        package, path, label, also, note = line.split("\t")
        assert package in {"skimage", "sklearn"} and path and note
        assert 0 <= int(label) < NUM_CLASSES
        assert all(0 <= int(x) < NUM_CLASSES for x in also.split(",") if x)


def test_fake_package_converts_to_rgb(tmp_path, fake_package):
    name, _ = fake_package
    manifest = _write_manifest(
        tmp_path,
        _row(name, "images/rgb.png", "281", "282, 285"),
        _row(name, "images/gray.png"),
        "",
        _row(name, "images/alpha.png"),
    )
    photo_set = load_photo_set(manifest)
    assert [im.shape for im in photo_set.images] == [(8, 12, 3), (6, 5, 3), (4, 4, 3)]
    assert all(im.dtype == np.uint8 and not im.flags.writeable for im in photo_set.images)
    gray = photo_set.images[1]
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    assert photo_set.labels == (281, 1, 1)
    assert photo_set.also == ((282, 285), (), ())
    assert photo_set.sources[0] == f"{name}:images/rgb.png"
    assert importlib.util.find_spec(name) is not None  # located, never imported


def test_path_with_dotdot_is_refused(tmp_path, fake_package):
    name, root = fake_package
    Image.new("RGB", (4, 4)).save(root.parent / "outside.png")
    manifest = _write_manifest(tmp_path, _row(name, "images/../../outside.png"))
    with pytest.raises(PhotoSetError, match=r"'\.\.'.*leave the package folder"):
        load_photo_set(manifest)


def test_absolute_path_is_refused(tmp_path, fake_package):
    name, root = fake_package
    manifest = _write_manifest(tmp_path, _row(name, str(root / "images/rgb.png")))
    with pytest.raises(PhotoSetError, match="is absolute; give it relative to the package"):
        load_photo_set(manifest)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_out_of_package_is_refused(tmp_path, fake_package):
    name, root = fake_package
    secret = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(secret)
    try:
        (root / "images/link.png").symlink_to(secret)
    except OSError:
        pytest.skip("cannot create symlinks here")
    manifest = _write_manifest(tmp_path, _row(name, "images/link.png"))
    with pytest.raises(PhotoSetError, match="outside the package folder"):
        load_photo_set(manifest)


def test_missing_file_is_refused(tmp_path, fake_package):
    name, _ = fake_package
    manifest = _write_manifest(tmp_path, _row(name, "images/nope.png"))
    with pytest.raises(PhotoSetError, match=r"no file 'images/nope\.png' in package"):
        load_photo_set(manifest)


def test_non_image_is_refused(tmp_path, fake_package):
    name, root = fake_package
    (root / "images/fake.png").write_bytes(b"this is text, not a PNG\n")
    manifest = _write_manifest(tmp_path, _row(name, "images/fake.png"))
    with pytest.raises(PhotoSetError, match=r"fake\.png is not a decodable image"):
        load_photo_set(manifest)


@pytest.mark.parametrize(
    ("label", "also", "message"),
    [
        ("1000", "", "label 1000 is outside 0-999"),
        ("-1", "", "label -1 is outside 0-999"),
        ("cat", "", "label 'cat' is not an integer"),
        ("3", "4,1000", "'also' class 1000 is outside 0-999"),
    ],
)
def test_bad_label_is_refused(tmp_path, fake_package, label, also, message):
    name, _ = fake_package
    manifest = _write_manifest(tmp_path, _row(name, "images/rgb.png", label, also))
    with pytest.raises(PhotoSetError, match=message):
        load_photo_set(manifest)


def test_uninstalled_package_is_refused(tmp_path):
    manifest = _write_manifest(tmp_path, _row("no_such_photo_package_xyz", "data/a.png"))
    with pytest.raises(PhotoSetError, match="not installed; pip install no_such_photo_package"):
        load_photo_set(manifest)


def test_uninstalled_skimage_names_the_distribution(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        photos.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "skimage" else real(name, *a),
    )
    manifest = _write_manifest(tmp_path, _row("skimage", "data/chelsea.png"))
    with pytest.raises(PhotoSetError, match="pip install scikit-image"):
        load_photo_set(manifest)


def test_dotted_package_is_refused(tmp_path):
    manifest = _write_manifest(tmp_path, _row("os.path", "x.png"))
    with pytest.raises(PhotoSetError, match="not a top-level import name"):
        load_photo_set(manifest)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["skimage\tdata/chelsea.png\t281"], "expected 5 tab-separated fields"),
        (["skimage data/chelsea.png 281  note"], "expected 5 tab-separated fields"),
        ([], "lists no photos"),
    ],
)
def test_malformed_row_is_refused(tmp_path, rows, message):
    manifest = _write_manifest(tmp_path, *rows)
    with pytest.raises(PhotoSetError, match=message):
        load_photo_set(manifest)


def test_bad_header_is_refused(tmp_path):
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("path\tlabel\nskimage/data/chelsea.png\t281\n", encoding="utf-8")
    with pytest.raises(PhotoSetError, match="first line must be the header"):
        load_photo_set(manifest)
