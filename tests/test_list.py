"""`parity list` filters and --json, in this process (no framework)."""

from __future__ import annotations

import json

from parity.cli.main import main
from zoo.catalog import PAIRS


def _json(capsys, *args: str) -> list[dict]:
    assert main(["list", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)["pairs"]


def test_json_lists_every_pair_with_its_sides(capsys):
    pairs = _json(capsys)
    assert [p["id"] for p in pairs] == list(PAIRS)
    lite1 = next(p for p in pairs if p["id"] == "efficientnet-lite1")
    assert lite1["torch"]["source"] == "timm" and lite1["tensorflow"]["source"] == "keras-build"
    assert lite1["relation"] == "same-weights"


def test_filters_narrow_the_list(capsys):
    text = _json(capsys, "--task", "text-encoder")
    assert text and all(p["task"] == "text-encoder" for p in text)
    timm = _json(capsys, "--source", "timm")
    assert {"resnet50-timm", "efficientnet-lite2"} <= {p["id"] for p in timm}
    assert all("timm" in (p["torch"]["source"], p["tensorflow"]["source"]) for p in timm)
    independent = _json(capsys, "--relation", "independent")
    assert independent and all(p["relation"] == "independent" for p in independent)
    assert {p["id"] for p in _json(capsys, "LITE")} == {
        "efficientnet-lite0",
        "efficientnet-lite1",
        "efficientnet-lite2",
    }
    loadable = _json(capsys, "--loadable")
    assert all(
        p[side]["availability"] in ("local", "shipped", "cached")
        for p in loadable
        for side in ("torch", "tensorflow")
    )


def test_the_table_says_how_many_are_shown_and_a_bad_source_is_one_line(capsys):
    assert main(["list", "--task", "text-encoder"]) == 0
    assert f"of {len(PAIRS)} pairs shown" in capsys.readouterr().out
    assert main(["list", "--source", "timmm"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "timm" in err
