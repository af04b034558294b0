"""Labelled image sets for the image-classifier task, chosen with `--dataset`:

- ``photos``: the bundled photo set (parity.datasets.photos);
- ``imagefolder:/path``: a folder in ImageNet-val layout, one sub-folder per class, named by
  WordNet synset (``n01440764``) or by ImageNet-1k index (``0`` .. ``999``);
- ``hf:NAME[:SPLIT]`` or ``hf:NAME:CONFIG:SPLIT``: a Hugging Face ``datasets`` set (e.g.
  ``hf:frgfm/imagenette:320px:validation``), read in a child process;
- ``tfds:NAME[:SPLIT]``: a TensorFlow Datasets set (e.g. ``tfds:imagenette:validation``),
  read in a child process because tensorflow_datasets imports TensorFlow.

Every loader returns a photos.PhotoSet (decoded RGB images, labels, acceptable
alternatives, sources), so the task code does not care where images came from. With a
limit, a seeded random subset is taken (numpy default_rng(seed), without replacement, kept
in dataset order) before anything is decoded, so a quick run is deterministic and not
biased towards the first classes.

Class names map to ImageNet-1k indices through parity/datasets/data/imagenet_synsets.txt:
the 1000 synsets in the standard order, the order of parity/datasets/data/imagenet_classes.txt.
It was copied from timm 1.0.31 (timm/data/_info/imagenet_synsets.txt) and checked against
keras-hub 0.32's IMAGENET_NAMES (keras_hub/src/utils/imagenet/imagenet_utils.py: same
1000 synsets in the same order, and its class names equal torchvision's for 998 of 1000
indices; the other two are the duplicated names "crane" and "maillot" that torchvision
disambiguates).

The parent process imports neither ``datasets`` nor ``tensorflow_datasets`` (either may pull
in a framework); the child half is ``python -m parity.child.dataset_readers``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from parity import spawn
from parity.datasets import photos
from parity.datasets.sentences import DatasetError
from parity.files import load_npy

SYNSETS_FILE = photos.DATA_DIR / "imagenet_synsets.txt"
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
DEFAULT_SPLIT = "validation"
SYNSET = re.compile(r"n\d{8}")
AMBIGUOUS_NAMES = frozenset({"crane", "maillot"})
FORMS = "photos, photos:MANIFEST.tsv, imagefolder:/path, hf:NAME[:SPLIT], tfds:NAME[:SPLIT]"


@lru_cache(maxsize=1)
def synsets() -> tuple[str, ...]:
    found = tuple(SYNSETS_FILE.read_text(encoding="ascii").split())
    if len(found) != photos.NUM_CLASSES or len(set(found)) != photos.NUM_CLASSES:
        raise DatasetError(f"{SYNSETS_FILE} must list 1000 distinct synsets; reinstall zoo-parity")
    return found


@lru_cache(maxsize=1)
def _name_index() -> dict[str, int]:
    """Lower-cased ImageNet class names (torchvision's spelling) to their index. "crane" and
    "maillot" name two classes each in other lists (keras-hub's, WordNet's first lemma)
    and torchvision renames one of each, so they say nothing certain and are left out."""
    names = [n.strip().lower() for n in photos.class_names()]
    return {n: i for i, n in enumerate(names) if n not in AMBIGUOUS_NAMES}


def class_index(name: str) -> int | None:
    """ImageNet-1k index of a class folder or label name: a synset, an index 0-999, or an
    unambiguous class name; None when it is none of those."""
    text = name.strip()
    if ", " in text:  # "tench, Tinca tinca": synonyms after the first name (HF imagenet-1k)
        text = text.split(", ", 1)[0]
    if SYNSET.fullmatch(text):
        try:
            return synsets().index(text)
        except ValueError:
            return None
    if text.isdigit():
        index = int(text)
        return index if index < photos.NUM_CLASSES else None
    return _name_index().get(text.lower().replace("_", " "))


def map_class_names(names: list[str], where: str) -> list[int]:
    """Each of a dataset's class names as an ImageNet-1k index, or a clear error."""
    if len(names) == photos.NUM_CLASSES:
        # ImageNet-1k itself, in the standard order: names that say nothing certain on
        # their own (crane, maillot) are then known by position.
        in_place = sum(class_index(n) == i for i, n in enumerate(names))
        if in_place >= photos.NUM_CLASSES - 10:
            return list(range(photos.NUM_CLASSES))
    unknown = [n for n in names if class_index(n) is None]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown[:5])
        raise DatasetError(
            f"{where}: class name(s) {shown}{' ...' if len(unknown) > 5 else ''} are not "
            f"ImageNet-1k classes; name classes by WordNet synset (n01440764), by index "
            f"0-999, or by the names in parity/datasets/data/imagenet_classes.txt"
        )
    return [int(class_index(n)) for n in names]  # type: ignore[arg-type]


def seeded_subset(total: int, limit: int | None, seed: int) -> np.ndarray | None:
    """Indices of a seeded random subset of `limit` items, in dataset order; None for all."""
    if limit is None or limit >= total:
        return None
    chosen = np.random.default_rng(seed).choice(total, size=limit, replace=False)
    return np.sort(chosen)


def subset_note(total: int, limit: int | None, seed: int) -> dict[str, Any] | None:
    if limit is None or limit >= total:
        return None
    return {
        "limit": limit,
        "of": total,
        "seed": seed,
        "method": "numpy default_rng(seed).choice without replacement, in dataset order",
    }


@dataclass(frozen=True)
class ImageSpec:
    kind: str  # photos | imagefolder | hf | tfds
    name: str = ""
    config: str | None = None
    split: str = DEFAULT_SPLIT


def parse_spec(spec: str) -> ImageSpec:
    kind, sep, rest = spec.partition(":")
    if spec == "photos":
        return ImageSpec("photos")
    if sep and kind == "photos" and rest:
        # A manifest of one's own, in the bundled one's format (rows name package files).
        return ImageSpec("photos", rest)
    if sep and kind == "imagefolder" and rest:
        return ImageSpec("imagefolder", rest)
    if sep and kind in ("hf", "tfds") and rest:
        parts = rest.split(":")
        if kind == "hf" and len(parts) == 3 and all(parts):
            return ImageSpec("hf", parts[0], parts[1], parts[2])
        if len(parts) <= 2 and all(parts):
            return ImageSpec(kind, parts[0], None, parts[1] if len(parts) == 2 else DEFAULT_SPLIT)
        hint = "NAME[:SPLIT] or hf:NAME:CONFIG:SPLIT" if kind == "hf" else "NAME[:SPLIT]"
        raise DatasetError(f"--dataset {spec!r}: write {kind}:{hint}")
    raise DatasetError(f"unknown image dataset {spec!r}: use one of {FORMS}")


# ---- imagefolder ----


def _class_folders(root: Path) -> list[tuple[Path, int]]:
    folders, stray = [], []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue  # .DS_Store and the like
        (folders if entry.is_dir() else stray).append(entry)
    if stray:
        raise DatasetError(
            f"{root}: {stray[0].name} lies outside any class folder; an ImageNet-val layout "
            f"has only class folders (n01440764/ or 0/) at the top"
        )
    if not folders:
        raise DatasetError(
            f"{root} holds no class folders; put each class's images in a folder named by "
            f"synset (n01440764) or index (0-999)"
        )
    indices = map_class_names([f.name for f in folders], str(root))
    return list(zip(folders, indices, strict=True))


def _image_files(root: Path, folder: Path) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        resolved = entry.resolve()
        if not resolved.is_relative_to(root):
            raise DatasetError(
                f"{entry} resolves to {resolved}, outside the dataset folder {root}; only "
                f"files inside it are read"
            )
        if resolved.is_dir():
            raise DatasetError(
                f"{entry} is a folder inside a class folder; an ImageNet-val layout keeps "
                f"each class's images directly in its folder"
            )
        if entry.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(
                f"{entry} is not an image file (suffix {entry.suffix or 'none'}); remove it or "
                f"give it one of {', '.join(sorted(IMAGE_SUFFIXES))}"
            )
        files.append(resolved)
    if not files:
        raise DatasetError(f"class folder {folder} holds no images; remove it or add images")
    return files


def load_image_folder(path: str | Path, limit: int | None = None, seed: int = 0):
    """An ImageNet-val layout folder, as a PhotoSet, and the subset note (or None)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist or is not a folder")
    root = root.resolve()
    listing = [
        (file, index)
        for folder, index in _class_folders(root)
        for file in _image_files(root, folder)
    ]
    total = len(listing)
    chosen = seeded_subset(total, limit, seed)
    if chosen is not None:
        listing = [listing[i] for i in chosen]
    images = tuple(photos.read_rgb(file) for file, _ in listing)
    found = photos.PhotoSet(
        name=f"imagefolder:{root.name}",
        images=images,
        labels=tuple(index for _, index in listing),
        also=tuple(() for _ in listing),
        notes=tuple("" for _ in listing),
        sources=tuple(str(file.relative_to(root)) for file, _ in listing),
        paths=tuple(file for file, _ in listing),
    )
    return found, subset_note(total, limit, seed)


# ---- hf: and tfds:, through a child process ----

_PACKAGES = {
    "hf": ("datasets", "pip install datasets", "HF_DATASETS_CACHE"),
    "tfds": (
        "tensorflow_datasets",
        "pip install tensorflow-datasets (it needs TensorFlow)",
        "TFDS_DATA_DIR",
    ),
}
CHILD_MODULE = "parity.child.dataset_readers"


def load_child_dataset(
    spec: ImageSpec,
    out_dir: Path,
    limit: int | None = None,
    seed: int = 0,
    offline: bool = False,
    timeout_s: float = 1800.0,
    threads: int = 1,
    memory_limit_mib: float | None = None,
):
    """Decode an hf: or tfds: dataset in a child process into .npy files, then read them."""
    module, install, cache_var = _PACKAGES[spec.kind]
    label = f"{spec.kind}:{spec.name}"
    if importlib.util.find_spec(module) is None:
        raise DatasetError(f"--dataset {label} needs the {module} package: {install}")
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [spec.kind, spec.name, spec.config or "", spec.split, str(out_dir), str(limit or 0)]
    env = spawn.child_environment(threads, "tensorflow" if spec.kind == "tfds" else module)
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    error_path = out_dir / "error.json"
    if not (out_dir / "meta.json").is_file():  # else decoded already, for an earlier pair
        error_path.unlink(missing_ok=True)
        _run_child(args, seed, offline, env, timeout_s, memory_limit_mib, label, cache_var)
    if error_path.is_file():
        error = json.loads(error_path.read_text())
        raise DatasetError(f"{label}: {error['message']}")
    meta = json.loads((out_dir / "meta.json").read_text())
    where = f"{label} ({spec.split})"
    indices = map_class_names(meta["class_names"], where)
    raw_labels = load_npy(out_dir / "labels.npy")
    count = len(raw_labels)
    if count == 0:
        raise DatasetError(f"{where} holds no images")
    images = []
    for i in range(count):
        array = load_npy(out_dir / "images" / f"{i:06d}.npy")
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise DatasetError(f"{where}: image {i} decoded to {array.shape} {array.dtype}")
        array.setflags(write=False)
        images.append(array)
    name = ":".join(p for p in (spec.kind, spec.name, spec.config, spec.split) if p)
    found = photos.PhotoSet(
        name=name,
        images=tuple(images),
        labels=tuple(indices[int(k)] for k in raw_labels),
        also=tuple(() for _ in range(count)),
        notes=tuple("" for _ in range(count)),
        sources=tuple(meta["sources"]),
        paths=(),
    )
    return found, subset_note(meta["total"], limit, seed)


def _run_child(args, seed, offline, env, timeout_s, memory_limit_mib, label, cache_var) -> None:
    outcome = spawn.run_child(
        CHILD_MODULE,
        [*args, str(seed), str(int(offline))],
        env=env,
        timeout_s=timeout_s,
        memory_limit_mib=memory_limit_mib,
    )
    if outcome.timed_out:
        raise DatasetError(
            f"reading {label} took over {timeout_s:g} s; is it downloading? fill {cache_var} "
            f"first, or pass --offline"
        )
    if not outcome.ok and not (Path(args[4]) / "error.json").is_file():
        raise DatasetError(f"reading {label} failed in its child process: {outcome.reason()}")


def load_images(
    spec_text: str,
    limit: int | None,
    seed: int,
    work_dir: Path,
    offline: bool,
    threads: int = 1,
    memory_limit_mib: float | None = None,
):
    """The image set that `--dataset` names, and its subset note (None: every image).
    threads, memory_limit_mib: for the child that decodes an hf: or tfds: data set."""
    spec = parse_spec(spec_text)
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1, not {limit}")
    if spec.kind == "photos":
        found = photos.load_photo_set(spec.name) if spec.name else photos.load_photo_set()
        total = len(found)
        chosen = seeded_subset(total, limit, seed)
        if chosen is not None:
            found = _take(found, chosen)
        return found, subset_note(total, limit, seed)
    if spec.kind == "imagefolder":
        return load_image_folder(spec.name, limit, seed)
    from parity.datasets.sentences import cache_key

    folder = work_dir / "datasets" / cache_key(spec_text, limit, seed)
    return load_child_dataset(
        spec, folder, limit, seed, offline, threads=threads, memory_limit_mib=memory_limit_mib
    )


def _take(found: photos.PhotoSet, chosen: np.ndarray) -> photos.PhotoSet:
    pick = [int(i) for i in chosen]
    return photos.PhotoSet(
        name=found.name,
        images=tuple(found.images[i] for i in pick),
        labels=tuple(found.labels[i] for i in pick),
        also=tuple(found.also[i] for i in pick),
        notes=tuple(found.notes[i] for i in pick),
        sources=tuple(found.sources[i] for i in pick),
        paths=tuple(found.paths[i] for i in pick),
    )
