"""The bundled offline photo set: real photographs that PyPI packages ship, labelled with
ImageNet-1k classes.

The manifest (parity/datasets/data/photos.tsv) names each photo by the import name of the package
that ships it and a path inside that package's folder, e.g. ``skimage`` +
``data/chelsea.png`` (scikit-image) or ``sklearn`` + ``datasets/images/china.jpg``
(scikit-learn). Nothing is downloaded; the photos come with ``pip install scikit-image
scikit-learn`` (the ``offline-weights`` extra). Columns, tab-separated, with a header:

- package: import name of the package that ships the file (located with
  ``importlib.util.find_spec``; the package is never imported),
- path: the file's path relative to that package's folder; it must stay inside it,
- label: the single best ImageNet-1k class index (0-999), judged by a person looking at
  the photo,
- also: other acceptable class indices, comma-separated, or empty,
- note: what the photo shows and why those classes.

parity/datasets/data/imagenet_classes.txt holds the 1000 ImageNet-1k class names in index order,
one a line; it was generated once from torchvision's bundled list
(``torchvision.models._meta._IMAGENET_CATEGORIES``). This module needs only numpy and
Pillow, and imports no framework: it runs in the parent process.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from PIL import Image, ImageOps

from parity.errors import DatasetError

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_MANIFEST = DATA_DIR / "photos.tsv"
CLASSES_FILE = DATA_DIR / "imagenet_classes.txt"
NUM_CLASSES = 1000
HEADER = ["package", "path", "label", "also", "note"]
# Refuse images larger than this before decoding them (a decompression-bomb guard).
MAX_PIXELS = 50_000_000

# Import name -> the distribution to install, for the error message.
_DISTRIBUTIONS = {"skimage": "scikit-image", "sklearn": "scikit-learn", "PIL": "pillow"}


class PhotoSetError(DatasetError):
    pass


@dataclass(frozen=True, eq=False)
class PhotoSet:
    """Decoded photos with their labels; images are read-only (H, W, 3) uint8 RGB arrays."""

    name: str
    images: tuple[np.ndarray, ...]
    labels: tuple[int, ...]
    also: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...]
    sources: tuple[str, ...]  # "package:path", as written in the manifest
    paths: tuple[Path, ...]  # the resolved files they were read from

    def __len__(self) -> int:
        return len(self.labels)

    def accepted(self, index: int) -> frozenset[int]:
        """Every class counted as correct for photo `index`: its label and its 'also'."""
        return frozenset((self.labels[index], *self.also[index]))


@lru_cache(maxsize=1)
def _class_names(path: Path) -> tuple[str, ...]:
    try:
        names = tuple(path.read_text(encoding="utf-8").splitlines())
    except OSError as exc:
        raise PhotoSetError(
            f"cannot read the ImageNet class list {path}: {exc}; reinstall zoo-parity"
        ) from None
    if len(names) != NUM_CLASSES or not all(n.strip() for n in names):
        raise PhotoSetError(
            f"{path} must hold {NUM_CLASSES} non-empty class names, one a line "
            f"(found {len(names)} lines); reinstall zoo-parity"
        )
    return names


def class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, in index order."""
    return list(_class_names(CLASSES_FILE))


def _package_roots(package: str, where: str) -> list[Path]:
    """The folders of an installed package, found without importing it."""
    if not package.isidentifier():
        # A dotted name would make find_spec import the parent package.
        raise PhotoSetError(
            f"{where}: package {package!r} is not a top-level import name; "
            f"write e.g. skimage or sklearn"
        )
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        dist = _DISTRIBUTIONS.get(package, package)
        raise PhotoSetError(
            f"{where}: package {package!r} is not installed; pip install {dist} "
            f"(or pip install 'zoo-parity[offline-weights]')"
        )
    locations = spec.submodule_search_locations
    if not locations:
        raise PhotoSetError(
            f"{where}: {package!r} is a module, not a package folder; name the package "
            f"that ships the image"
        )
    return [Path(loc).resolve() for loc in locations]


def _check_relative(raw: str, where: str) -> PurePosixPath:
    if not raw:
        raise PhotoSetError(f"{where}: empty path; give the image's path inside its package")
    if PurePosixPath(raw).is_absolute() or PureWindowsPath(raw).is_absolute() or ":" in raw:
        raise PhotoSetError(
            f"{where}: path {raw!r} is absolute; give it relative to the package folder, "
            f"e.g. data/chelsea.png"
        )
    relative = PurePosixPath(raw.replace("\\", "/"))
    if ".." in relative.parts:
        raise PhotoSetError(
            f"{where}: path {raw!r} uses '..' and would leave the package folder; give a "
            f"path inside the package"
        )
    return relative


def _locate(package: str, raw: str, where: str) -> Path:
    relative = _check_relative(raw, where)
    roots = _package_roots(package, where)
    for root in roots:
        # resolve() follows symlinks, so a link pointing outside is caught here too.
        candidate = root.joinpath(*relative.parts).resolve()
        if not candidate.is_relative_to(root):
            raise PhotoSetError(
                f"{where}: {package}:{raw} resolves to {candidate}, outside the package "
                f"folder {root}; only files inside the package are read"
            )
        if candidate.is_file():
            return candidate
    folders = ", ".join(str(r) for r in roots)
    raise PhotoSetError(
        f"{where}: no file {raw!r} in package {package!r} ({folders}); check the path, or "
        f"upgrade the package if this version does not ship it"
    )


def _to_rgb(image: Image.Image, path: Path) -> np.ndarray:
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit grayscale: scale to 8 bits rather than clip.
        gray = np.asarray(image).astype(np.float64) / 257.0
        gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
        array = np.repeat(gray[:, :, None], 3, axis=2)
    elif mode == "F":
        raise PhotoSetError(
            f"{path} is a floating-point image with no fixed range; save it as an 8-bit "
            f"RGB or grayscale PNG/JPEG"
        )
    else:
        if mode == "P" or mode == "PA":
            image = image.convert("RGBA")  # palette transparency, without Pillow's warning
        array = np.asarray(image.convert("RGB"))  # drops alpha, expands grayscale
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim != 3 or array.shape[2] != 3 or array.size == 0:
        raise PhotoSetError(f"{path} decoded to shape {array.shape}, not (H, W, 3)")
    array.setflags(write=False)
    return array


def read_rgb(path: Path, where: str = "") -> np.ndarray:
    """Decode one image file to a read-only (H, W, 3) uint8 RGB array."""
    prefix = f"{where}: " if where else ""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoSetError(
                    f"{prefix}{path} is {width}x{height} pixels, over the {MAX_PIXELS} limit; "
                    f"use a smaller image"
                )
            return _to_rgb(image, path)
    except PhotoSetError:
        raise
    except Exception as exc:  # Pillow raises many types on bad data
        raise PhotoSetError(
            f"{prefix}{path} is not a decodable image ({type(exc).__name__}: {exc}); "
            f"replace it with a valid PNG or JPEG, or fix the manifest's path"
        ) from None


def _parse_class(raw: str, where: str, what: str) -> int:
    text = raw.strip()
    try:
        index = int(text)
    except ValueError:
        raise PhotoSetError(
            f"{where}: {what} {raw!r} is not an integer; give an ImageNet-1k class index "
            f"0-{NUM_CLASSES - 1} (see parity/datasets/data/imagenet_classes.txt, first line is 0)"
        ) from None
    if not 0 <= index < NUM_CLASSES:
        raise PhotoSetError(
            f"{where}: {what} {index} is outside 0-{NUM_CLASSES - 1}; use an index from "
            f"parity/datasets/data/imagenet_classes.txt (first line is 0)"
        )
    return index


def load_photo_set(manifest: str | Path = DEFAULT_MANIFEST) -> PhotoSet:
    """Read the manifest and decode every photo it names; raises PhotoSetError on any problem."""
    manifest = Path(manifest)
    try:
        with open(manifest, encoding="utf-8", newline="") as handle:
            lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as exc:
        raise PhotoSetError(f"cannot read photo manifest {manifest}: {exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PhotoSetError(f"{manifest} is not a UTF-8 tab-separated manifest ({exc})") from None
    if not lines or lines[0] != HEADER:
        raise PhotoSetError(
            f"{manifest}: first line must be the header {'<TAB>'.join(HEADER)}, "
            f"got {lines[0] if lines else 'an empty file'}"
        )
    images, labels, also, notes, sources, paths = [], [], [], [], [], []
    for number, row in enumerate(lines[1:], start=2):
        where = f"{manifest}:{number}"
        if not row or all(not field.strip() for field in row):
            continue  # blank line
        if len(row) != len(HEADER):
            raise PhotoSetError(
                f"{where}: expected {len(HEADER)} tab-separated fields "
                f"({', '.join(HEADER)}), got {len(row)}; separate fields with tabs and "
                f"leave 'also' empty rather than dropping it"
            )
        package, raw_path, raw_label, raw_also, note = (field.strip() for field in row)
        label = _parse_class(raw_label, where, "label")
        extra = tuple(
            _parse_class(part, where, "'also' class")
            for part in raw_also.split(",")
            if part.strip()
        )
        path = _locate(package, raw_path, where)
        images.append(read_rgb(path, where))
        labels.append(label)
        also.append(extra)
        notes.append(note)
        sources.append(f"{package}:{raw_path}")
        paths.append(path)
    if not labels:
        raise PhotoSetError(f"{manifest} lists no photos; add rows under the header")
    return PhotoSet(
        name=manifest.stem,
        images=tuple(images),
        labels=tuple(labels),
        also=tuple(also),
        notes=tuple(notes),
        sources=tuple(sources),
        paths=tuple(paths),
    )
