"""Inputs `parity run` checks before any cell starts, so that a bad one ends the run at once
in one line (a ParityError) rather than failing pair by pair: the output folder and the
--dataset each pair would read. Model handles are checked in parity.run.names."""

from __future__ import annotations

import tempfile
from pathlib import Path

from parity.datasets.images import parse_spec
from parity.datasets.photos import load_photo_set
from parity.datasets.prompts import load_prompts
from parity.datasets.sentences import load_sentence_pairs
from parity.errors import DatasetError, OutputFolderError
from zoo.sources import user_path


def check_output_folder(folder: Path) -> None:
    """Create `folder` if needed and prove it writable, with a file written and removed."""
    fix = "choose another --out"
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"--out {folder} is a file, not a folder; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputFolderError(f"--out {folder} cannot be written ({reason}); {fix}") from None


def check_dataset(spec: str | None, task: str) -> None:
    """The --dataset of a pair: its form for the task, and the local file or folder it names.
    Hub data sets (hf:, tfds:) are read in a child later; only their form is checked here."""
    if spec is None:
        return  # the pair's own bundled data
    if task == "text-encoder":
        load_sentence_pairs(spec)  # small files: read and parse them whole
        return
    if task == "text-generation":
        load_prompts(spec)
        return
    found = parse_spec(spec)
    if found.kind == "photos" and found.name:
        load_photo_set(found.name)  # a manifest of one's own: a few photos, read whole
    if found.kind == "imagefolder" and not user_path(found.name).is_dir():
        # Its images (maybe 50,000) are read when the pair runs; here only the folder.
        raise DatasetError(
            f"--dataset {spec!r}: {found.name} is not a folder; give a folder of class "
            "folders (the ImageNet-val layout)"
        )


def check_inputs(datasets: list[tuple[str | None, str]], out_dir: Path) -> None:
    """`datasets`: each pair's (--dataset or None, task)."""
    check_output_folder(out_dir)
    for spec, task in dict.fromkeys(datasets):
        check_dataset(spec, task)
