"""The conversion sweep's row logic, with fake children (no framework): a converter that
raises fails its own row with its error's last line, and the sweep goes on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parity import spawn
from parity.cli.main import main
from parity.run import sweep
from zoo.conversions import BY_ID, CONVERSIONS, HF, TIMM, Conversion, adhoc
from zoo.layer_maps import MAP_RECORD

RAISED = "ValueError: KerasHub has no converter for timm models with architecture `'nope'`."


class FakeChildren:
    """Plays both sides. keras_outputs: row name -> the Keras side's outputs, or an
    Outcome for a child that failed. An automatic capture gives a two-layer map (a stem
    conv, a head): equal stems, and heads as far apart as the row's outputs."""

    def __init__(self, keras: dict, confirm_closes: bool = True):
        self.keras, self.confirm_closes, self.calls = keras, confirm_closes, []

    def __call__(self, side: str, spec_path: Path, timeout_s: float) -> spawn.Outcome:
        spec = json.loads(spec_path.read_text())
        self.calls.append((spec["name"], side, spec.get("phase")))
        ok = spawn.Outcome(returncode=0, wall_s=0.0, timeout_s=timeout_s)
        logits = np.linspace(-3.0, 5.0, 20, dtype=np.float32).reshape(2, 10)
        if spec.get("phase") == "capture":
            if side == "torch":
                arrays, record = {"conv": logits, "fc": logits}, FAKE_TORCH_RECORD
            else:
                arrays = {"stem": logits, "head": self.keras[spec["name"]]}
                record = FAKE_KERAS_RECORD
            np.savez(spec["capture"]["path"], **arrays, **{MAP_RECORD: json.dumps(record)})
            return ok
        if side == "torch":
            arrays = {"input/images": np.zeros((2, 4, 4, 3), np.float32), "output/logits": logits}
            if spec["confirm"]:
                closed = self.keras[spec["name"]]
                arrays["confirm/logits"] = closed if self.confirm_closes else logits
            np.savez(spec["io"], **arrays)
            return ok
        found = self.keras[spec["name"]]
        if isinstance(found, spawn.Outcome):
            return found
        np.savez(spec["out"], **{"output/logits": found})
        return ok


FAKE_TORCH_RECORD = {
    "keys": {"conv.weight": "3:a", "fc.weight": "2:b"},
    "order": ["conv", "fc"],
    "types": {"conv": "Conv2d", "fc": "Linear"},
}
FAKE_KERAS_RECORD = {
    "variables": [
        {"layer": "stem", "keys": ["conv.weight"], "fingerprints": ["3:a"]},
        {"layer": "head", "keys": ["fc.weight"], "fingerprints": ["2:b"]},
    ]
}


def _logits(shift: float) -> np.ndarray:
    return np.linspace(-3.0, 5.0, 20, dtype=np.float32).reshape(2, 10) + np.float32(shift)


def test_a_converter_that_raises_fails_its_row_and_the_sweep_goes_on(tmp_path):
    raised = spawn.Outcome(
        returncode=1, wall_s=0.1, timeout_s=1.0, stderr_tail=f"Traceback ...\n  ...\n{RAISED}\n"
    )
    crashed = spawn.Outcome(returncode=-11, wall_s=0.1, timeout_s=1.0)
    rows = [
        Conversion("nope", TIMM, "nope", "classifier"),
        Conversion("same", TIMM, "same", "classifier"),
        Conversion("crash", HF, "crash", "backbone"),
        Conversion("off", TIMM, "off", "classifier"),
    ]
    children = FakeChildren(
        {"nope": raised, "same": _logits(0.0), "crash": crashed, "off": _logits(1e-3)}
    )
    lines: list[str] = []
    results = sweep.sweep(rows, tmp_path, progress=lines.append, run=children)

    by_id = {r.id: r for r in results}
    assert [r.id for r in results] == ["nope", "same", "crash", "off"]
    assert by_id["nope"].status == sweep.LOAD_ERROR
    assert by_id["nope"].error == f"keras: {RAISED}"
    assert by_id["same"].status == sweep.PASSED and by_id["same"].max_abs_diff == 0.0
    assert by_id["crash"].status == sweep.LOAD_ERROR
    assert "SIGSEGV" in by_id["crash"].error
    assert by_id["off"].status == sweep.FAILED
    assert by_id["off"].max_abs_diff == pytest.approx(1e-3, rel=1e-3)
    assert by_id["off"].max_rel_diff == pytest.approx(1e-3 / 5.0, rel=1e-3)
    # progress: a start and a result line per row, the error verbatim
    assert len(lines) == 8 and RAISED in lines[1]


def test_a_diagnosed_cause_is_confirmed_only_when_the_change_closes_the_gap(tmp_path):
    row = Conversion(
        "diag", TIMM, "diag", "classifier", cause="padding", confirm={"tf_same_padding": ["a"]}
    )
    closes = sweep.run_row(row, tmp_path / "a", FakeChildren({"diag": _logits(0.01)}))
    assert closes.status == sweep.FAILED
    assert closes.cause.startswith("padding (confirmed")
    stays = sweep.run_row(
        row, tmp_path / "b", FakeChildren({"diag": _logits(0.01)}, confirm_closes=False)
    )
    assert stays.cause.startswith("padding (not confirmed")


def test_a_failing_row_names_its_first_diverging_layer_by_the_automatic_map(tmp_path):
    row = Conversion("off", TIMM, "off", "classifier")
    children = FakeChildren({"off": _logits(0.5)})
    result = sweep.run_row(row, tmp_path, children)
    assert result.status == sweep.FAILED
    assert result.first_diverging_layer == "Linear fc / head (rel 1.0e-01)"
    assert {("off", "torch", "capture"), ("off", "keras", "capture")} <= set(children.calls)
    # A passing row captures nothing.
    children = FakeChildren({"same": _logits(0.0)})
    sweep.run_row(Conversion("same", TIMM, "same", "classifier"), tmp_path, children)
    assert [phase for _, _, phase in children.calls] == [None, None]


def test_a_load_error_diagnosed_as_a_config_field_is_confirmed_on_a_copy(tmp_path):
    row = Conversion(
        "head", TIMM, "head", "classifier", cause="width", keras_config={"num_features": 8}
    )
    weights = {}

    def children(side, spec_path, timeout_s):
        spec = json.loads(spec_path.read_text())
        ok = spawn.Outcome(returncode=0, wall_s=0.0, timeout_s=timeout_s)
        folder = Path(spec["folder"])
        if side == "torch":
            folder.mkdir(parents=True)
            (folder / "config.json").write_text(json.dumps({"num_features": 4}))
            (folder / "model.safetensors").write_bytes(b"weights")
            np.savez(spec["io"], **{"output/logits": _logits(0.0)})
            return ok
        if json.loads((folder / "config.json").read_text())["num_features"] != 8:
            return spawn.Outcome(
                returncode=1, wall_s=0.0, timeout_s=timeout_s, stderr_tail="ValueError: shape"
            )
        weights["read"] = (folder / "model.safetensors").read_bytes()
        np.savez(spec["out"], **{"output/logits": _logits(0.0)})
        return ok

    result = sweep.run_row(row, tmp_path, children)
    assert result.status == sweep.LOAD_ERROR and result.error == "keras: ValueError: shape"
    assert result.cause.startswith("width (confirmed: with num_features=8 in config.json")
    assert weights["read"] == b"weights"  # the same weights, through a link


def test_the_report_lists_every_row_with_its_error_verbatim(tmp_path):
    raised = spawn.Outcome(returncode=1, wall_s=0.1, timeout_s=1.0, stderr_tail=RAISED)
    rows = [Conversion("nope", TIMM, "nope", "classifier"), CONVERSIONS[0]]
    children = FakeChildren({"nope": raised, CONVERSIONS[0].name: _logits(0.0)})
    results = sweep.sweep(rows, tmp_path / "work", progress=lambda line: None, run=children)
    md, js = sweep.write_report(results, 12.0, tmp_path)
    text = md.read_text()
    assert RAISED.replace("|", "\\|") in text and "| resnet18 |" in text
    assert "1 passed, 1 did not" in text
    assert [row["status"] for row in json.loads(js.read_text())["rows"]] == [
        sweep.LOAD_ERROR,
        sweep.PASSED,
    ]


def test_the_rows_cover_every_converter_family():
    assert len(CONVERSIONS) >= 30
    assert len(BY_ID) == len(CONVERSIONS)
    converters = {row.converter for row in CONVERSIONS}
    for family in ("resnet", "densenet", "efficientnet", "mobilenet", "vgg", "cspnet", "hgnetv2"):
        assert f"timm/convert_{family}" in converters
    for known in ("densenet121", "bert", "vit"):
        assert BY_ID[known].cause and BY_ID[known].confirm


def test_adhoc_rows_and_bad_handles():
    assert adhoc("timm:resnet_typo").name == "resnet_typo"
    assert adhoc("hf:llama:causal-lm").head == "causal-lm"
    with pytest.raises(ValueError, match="timm:ARCHITECTURE"):
        adhoc("resnet18")
    with pytest.raises(ValueError, match="head"):
        adhoc("hf:llama:decoder")


def test_cli_bad_input_is_one_line_and_exit_2(capsys):
    assert main(["sweep", "conversions", "resnet19"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "resnet18" in err
    assert main(["sweep", "conversions", "--add", "resnet18"]) == 2
    assert main(["sweep", "conversions", "bert", "--list", "--add", "timm:x"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["bert", "x"]
