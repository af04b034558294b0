"""The child half of parity/datasets/images.py: an hf: or tfds: image set, read with its
own library (either may import a framework) and decoded into .npy files the parent reads.

    python -m parity.child.dataset_readers KIND NAME CONFIG SPLIT OUT LIMIT SEED OFFLINE

writes OUT/images/NNNNNN.npy, OUT/labels.npy and OUT/meta.json, or OUT/error.json with the
message of a DatasetError (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from parity.datasets import photos
from parity.datasets.images import seeded_subset
from parity.errors import DatasetError
from parity.files import save_npy, write_json


def _rgb(value: Any, where: str) -> np.ndarray:
    from PIL import Image

    if isinstance(value, Image.Image):
        return photos._to_rgb(value, Path(where))
    array = np.asarray(value)
    if array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise DatasetError(f"{where}: image is {array.shape} {array.dtype}, not (H, W, 3) uint8")
    return np.ascontiguousarray(array)


def _as_dict(features) -> dict[str, Any]:
    # HF Features is a dict; tfds FeaturesDict offers keys() and item access.
    return {key: features[key] for key in features.keys()}


def _columns(features: dict[str, Any], where: str) -> tuple[str, str, list[str]]:
    """The image column, the label column and its class names, from a dataset's features."""
    image = next(
        (k for k, f in features.items() if type(f).__name__ == "Image"),
        None,
    )
    label = next((k for k, f in features.items() if getattr(f, "names", None)), None)
    if image is None or label is None:
        raise DatasetError(
            f"{where} needs an image column and a class-label column; its features are "
            f"{', '.join(features)}"
        )
    return image, label, [str(n) for n in features[label].names]


def _hf_rows(name: str, config: str | None, split: str, limit: int, seed: int):
    try:
        import datasets
    except ImportError:
        raise DatasetError("the datasets package is not installed: pip install datasets") from None
    try:
        found = datasets.load_dataset(name, config, split=split)
    except Exception as error:  # the library raises many types for "not there"
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DatasetError(
            f"could not load {name} split {split!r} ({type(error).__name__}: {first}); "
            f"check the name and split, and fill the cache (HF_DATASETS_CACHE) on a machine "
            f"that can reach the Hugging Face Hub"
        ) from None
    image, label, names = _columns(_as_dict(found.features), f"hf:{name}")
    total = len(found)
    chosen = seeded_subset(total, limit or None, seed)
    indices = range(total) if chosen is None else [int(i) for i in chosen]
    rows = ((i, found[i]) for i in indices)
    return total, names, ((i, row[image], row[label]) for i, row in rows)


def _tfds_rows(name: str, split: str, limit: int, seed: int, offline: bool):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DatasetError(
            "tensorflow_datasets is not installed: pip install tensorflow-datasets"
        ) from None
    try:
        dataset, info = tfds.load(name, split=split, with_info=True, download=not offline)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DatasetError(
            f"could not load {name} split {split!r} ({type(error).__name__}: {first}); check "
            f"the name and split, and download it first (tfds build {name}) into TFDS_DATA_DIR"
        ) from None
    image, label, names = _columns(_as_dict(info.features), f"tfds:{name}")
    total = int(info.splits[split].num_examples)
    chosen = seeded_subset(total, limit or None, seed)
    wanted = None if chosen is None else {int(i) for i in chosen}

    def rows():
        for i, example in enumerate(tfds.as_numpy(dataset)):
            if wanted is None or i in wanted:
                yield i, example[image], example[label]
            if wanted is not None and i >= max(wanted):
                return

    return total, names, rows()


def main(argv: list[str]) -> int:
    kind, name, config, split, out, limit, seed, offline = argv
    out_dir = Path(out)
    try:
        if kind == "hf":
            total, names, rows = _hf_rows(name, config or None, split, int(limit), int(seed))
        elif kind == "tfds":
            total, names, rows = _tfds_rows(name, split, int(limit), int(seed), offline == "1")
        else:
            raise DatasetError(f"unknown dataset kind {kind!r}")
        labels, sources = [], []
        for count, (index, picture, label) in enumerate(rows):
            where = f"{kind}:{name}:{split}#{index}"
            save_npy(out_dir / "images" / f"{count:06d}.npy", _rgb(picture, where))
            labels.append(int(label))
            sources.append(where)
        save_npy(out_dir / "labels.npy", np.asarray(labels, dtype=np.int64))
        write_json(
            out_dir / "meta.json", {"class_names": names, "total": total, "sources": sources}
        )
    except (DatasetError, photos.PhotoSetError) as error:
        write_json(out_dir / "error.json", {"message": str(error)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
