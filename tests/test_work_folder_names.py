"""Work folder names are safe on any command line, unique, and stable across a resume."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from parity.run import journal

SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def test_a_catalog_cell_keeps_its_readable_folder_name(tmp_path):
    assert journal.cell_folder(tmp_path, "resnet50-timm/torch/eager").name == (
        "resnet50-timm__torch__eager"
    )


def test_a_pair_of_your_own_gets_a_safe_name_that_a_resume_finds_again(tmp_path):
    key = "torchvision:resnet18 vs keras-apps:ResNet50/torch/compile"
    folder = journal.cell_folder(tmp_path, key)
    assert SAFE.fullmatch(folder.name) and folder.name.startswith("torchvision-resnet18-vs-")
    assert journal.cell_folder(tmp_path, key) == folder
    assert journal.cell_folder(tmp_path, key + "#1") != folder


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_names_are_safe_short_and_never_shared(a, b):
    for text in (a, b):
        name = journal.safe_name(text)
        assert SAFE.fullmatch(name) and len(name) <= journal.MAX_NAME_CHARS + 11, name
    if a != b:
        assert journal.safe_name(a) != journal.safe_name(b)
