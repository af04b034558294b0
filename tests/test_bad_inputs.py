"""Bad input to the `parity` command line: each ends in one line on stderr naming the problem
(and the closest names, where there are any) and exit status 2, never a traceback.

In process (parity.cli.main with capsys), with the runner and the calibration replaced, so
nothing here starts a model. The library names a child would read are faked, except in the
one frameworks test that reads the real ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parity.run.names
import parity.run.peak
import parity.run.runner
from parity.cli.main import main
from parity.errors import UnknownArchitectureError
from parity.run.names import check_handle, known_names
from zoo.catalog import PAIRS, SIDES

FAKE_NAMES = {
    "torchvision": {
        "names": ["mobilenet_v2", "resnet18", "resnet50"],
        "variants": {
            "mobilenet_v2": ["IMAGENET1K_V1", "IMAGENET1K_V2"],
            "resnet18": ["IMAGENET1K_V1"],
            "resnet50": ["IMAGENET1K_V1", "IMAGENET1K_V2"],
        },
    },
    "timm": {
        "names": ["efficientnet_lite0", "resnet18", "resnet50"],
        "variants": {"resnet50": ["a1_in1k", "tv_in1k"], "resnet18": ["a1_in1k"]},
    },
    "keras-hub": {"names": ["bert_base_en", "bert_tiny_en_uncased"], "variants": {}},
}
FAKE_RECORD = {"pairs": [], "run_id": "fake", "wall_s": 0.0}


@pytest.fixture
def no_runs(monkeypatch, tmp_path):
    """Nothing measured, calibrated or read from a real library; names cached under tmp."""
    started = []

    def fake_run(pairs, config):
        started.append([pair.id for pair, _ in pairs])
        return FAKE_RECORD

    def no_calibration(threads, force=False):
        raise AssertionError("a bad-input test started a calibration")

    monkeypatch.setattr(parity.run.runner, "run", fake_run)
    monkeypatch.setattr(parity.run.peak, "machine_peak", no_calibration)
    monkeypatch.setattr(parity.run.names, "read_in_child", lambda library: FAKE_NAMES[library])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return started


def bad(capsys, argv: list[str]) -> str:
    """Run `parity ARGV`; assert exit 2 and one line, no traceback; return that line."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, (argv, out, err)
    assert "Traceback" not in out + err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("parity"), err
    return err


def custom(torch: str, tf: str, tmp_path: Path, *more: str) -> list[str]:
    return ["run", "--torch", torch, "--tf", tf, "--offline", "--out", str(tmp_path / "out"), *more]


# --- each known bad input, with the line a user sees ------------------------------------


def test_a_misspelt_keras_application_names_the_closest(no_runs, capsys, tmp_path):
    line = bad(capsys, custom("torchvision:resnet50", "keras-apps:ResNet5O", tmp_path))
    assert (
        "unknown application 'ResNet5O'. Did you mean 'ResNet50', 'ResNet152' or 'ResNet50V2'?"
        in line
    )
    assert not no_runs


@pytest.mark.parametrize(
    "torch, tf, expected",
    [
        ("torchvision:resnt50", "keras-apps:ResNet50", "torchvision has no model 'resnt50'. "),
        ("torchvision:resnet50.IMAGENET1K_V3", "keras-apps:ResNet50", "'IMAGENET1K_V2'"),
        ("timm:resnet5O", "keras-apps:ResNet50", "timm has no model 'resnet5O'. Did you mean"),
        ("timm:resnet50.a1_in1kk", "keras-apps:ResNet50", "Did you mean 'a1_in1k'"),
        ("hf:bert-base-uncased", "keras-hub:bert_base_enn", "Did you mean 'bert_base_en'"),
        (
            "timm:efficientnet_lite0",
            "keras-build:efficientnet_lite9@pypi:x",
            "'efficientnet_lite0'",
        ),
        ("hf:google/vit base", "keras-apps:ResNet50", "neither a Hugging Face hub id"),
        ("timm:resnet50", "keras-hub:hf://google//vit", "neither a Hugging Face hub id"),
        ("timm:resnet50", "keras-hub:kaggle://keras/bert", "kaggle://OWNER/MODEL/FRAMEWORK"),
        ("timm:resnet50", "tfhub:https://tfhub.dve/google/x/5", "did you mean 'tfhub.dev'?"),
        ("timm:resnet50", "tfhub:htps://tfhub.dev/google/x/5", "takes an https:// URL"),
        ("timm:resnet50", "tfhub:https://[tfhub.dev/x", "not a valid URL (Invalid IPv6 URL)"),
        ("tim:resnet50", "keras-apps:ResNet50", "Did you mean 'timm:'"),
        ("keras-apps:ResNet50", "keras-apps:VGG16", "cannot be the torch side"),
    ],
)
def test_a_typo_in_any_source_is_refused_before_the_run(
    torch, tf, expected, no_runs, capsys, tmp_path
):
    assert expected in bad(capsys, custom(torch, tf, tmp_path))
    assert not no_runs


def test_a_well_formed_hub_id_not_on_disk_is_not_unknown(no_runs, capsys, tmp_path):
    """It needs the network: the run goes ahead and its cells say so, offline or not."""
    argv = custom("hf:acme/no-such-model", "keras-hub:hf://acme/no-such-model", tmp_path)
    assert main([*argv, "--task", "text-encoder"]) == 0
    assert no_runs and capsys.readouterr().err == ""


def test_names_are_read_once_per_library_version(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reads = []
    monkeypatch.setattr(
        parity.run.names,
        "read_in_child",
        lambda library: reads.append(library) or FAKE_NAMES[library],
    )
    for _ in range(3):
        assert known_names("timm") == FAKE_NAMES["timm"]
    assert reads == ["timm"]
    (cached,) = (tmp_path / "zoo-parity" / "names").glob("timm-*.json")
    cached.write_text("{ damaged")
    assert known_names("timm") == FAKE_NAMES["timm"] and reads == ["timm", "timm"]


def test_names_that_cannot_be_read_skip_the_check(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(parity.run.names, "read_in_child", lambda library: None)
    check_handle("timm:anything_at_all")  # the worker will say what is wrong
    assert not (tmp_path / "zoo-parity" / "names").exists()  # a failure is not cached


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--modes", "jax=eager"], "should be SIDE=MODE[,MODE]"),
        (["--modes", "torch="], "should be SIDE=MODE[,MODE]"),
        (["--modes", "torch=eagr"], "torch has no mode 'eagr'. Did you mean 'eager'?"),
        (["--batch-sizes", "1,x"], "--batch-sizes '1,x' needs positive integers"),
        (["--batch-sizes", "0"], "needs positive integers"),
        (["--threads", "0"], "--threads must be at least 1, not 0"),
        (["--threads", "x"], "invalid int value: 'x'; `parity run --help` lists the options"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--timeout", "nan"], "--timeout must be a positive number"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--history", "h.db", "--no-history"], "not allowed with argument --history"),
        (["--suite", "default"], "name one PAIR, or --suite NAME"),
    ],
)
def test_malformed_run_options(options, expected, no_runs, capsys, tmp_path):
    line = bad(capsys, ["run", "mobilenet_v2", "--out", str(tmp_path / "o"), *options])
    assert expected in line
    assert not no_runs


def test_an_unknown_pair_or_suite_names_the_closest(no_runs, capsys):
    assert "Did you mean 'mobilenet_v2'" in bad(capsys, ["run", "mobilnet_v2"])
    assert "Did you mean 'default'?" in bad(capsys, ["run", "--suite", "defualt"])


def test_resuming_an_unknown_run(no_runs, capsys, tmp_path):
    line = bad(capsys, ["run", "--resume", "nope", "--out", str(tmp_path)])
    assert line.startswith("parity run: no run 'nope' to resume in ")


def test_an_output_folder_that_cannot_be_written(no_runs, capsys, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    line = bad(capsys, ["run", "mobilenet_v2", "--out", str(a_file)])
    assert line == f"parity run: --out {a_file} is a file, not a folder; choose another --out\n"
    line = bad(capsys, ["run", "mobilenet_v2", "--out", str(a_file / "sub")])
    assert "cannot be written (Not a directory); choose another --out" in line
    assert not no_runs


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_output_folder_under_a_read_only_folder(no_runs, capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert "cannot be written (Permission denied)" in bad(
        capsys, ["run", "mobilenet_v2", "--out", str(locked / "out")]
    )


@pytest.mark.parametrize(
    "pair, dataset, content, expected",
    [
        ("all-MiniLM-L6-v2", "stsb:{missing}", None, "not found; give sts-test.csv"),
        ("all-MiniLM-L6-v2", "stsb:{file}", "one field\n", "too few tab-separated fields"),
        ("all-MiniLM-L6-v2", "stsb:{file}", "", "is empty"),
        ("mobilenet_v2", "photos:{file}", "bad\n", "first line must be the header"),
        ("mobilenet_v2", "photos:{missing}", None, "cannot read photo manifest"),
        ("mobilenet_v2", "imagefolder:{missing}", None, "is not a folder"),
        ("mobilenet_v2", "foo:bar", None, "unknown image dataset 'foo:bar'"),
        ("mobilenet_v2", "hf:a:b:c:d", None, "write hf:NAME[:SPLIT]"),
        ("all-MiniLM-L6-v2", "stsb:~no-such-user/x.csv", None, "write the path out in full"),
        ("mobilenet_v2", "imagefolder:~no-such-user/x", None, "write the path out in full"),
    ],
)
def test_a_missing_or_malformed_dataset(
    pair, dataset, content, expected, no_runs, capsys, tmp_path
):
    file = tmp_path / "data.tsv"
    if content is not None:
        file.write_text(content)
    spec = dataset.format(file=file, missing=tmp_path / "absent")
    line = bad(capsys, ["run", pair, "--dataset", spec, "--out", str(tmp_path / "o")])
    assert expected in line
    assert not no_runs


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"schema_version": 3', "is not valid JSON"),
        ("[1, 2]", "has no schema_version"),
        (b"\xff\xfe\x00", "is not text"),
    ],
)
def test_compare_with_a_corrupt_results_file(content, expected, capsys, tmp_path):
    corrupt = tmp_path / "results.json"
    corrupt.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert expected in bad(capsys, ["compare", str(corrupt), str(corrupt)])


def test_malformed_fail_on_rule(capsys, tmp_path):
    assert "is not a rule" in bad(capsys, ["compare", "a", "b", "--fail-on", "median:+x"])


def test_no_command_and_an_unknown_command(capsys):
    assert "required: command" in bad(capsys, [])
    assert "invalid choice: 'rnu'" in bad(capsys, ["rnu"])


# --- properties: whatever is typed, exit 0 or 2 and never a traceback -------------------

PREFIXES = ["torchvision", "timm", "hf", "keras-apps", "tfhub", "keras-hub", "keras-build", "x"]
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=30,
)
HANDLE = st.one_of(
    TEXT,
    st.builds(lambda prefix, name: f"{prefix}:{name}", st.sampled_from(PREFIXES), TEXT),
    st.builds(
        lambda prefix, name, extra: f"{prefix}:{name}{extra}",
        st.sampled_from(PREFIXES),
        st.sampled_from(
            ["resnet50", "ResNet50", "bert_base_en", "hf://a/b", "kaggle://a/b", "https://"]
        ),
        st.sampled_from(
            ["", ".IMAGENET1K_V1", ".a1_in1k", "@", "@pypi:x", "x", "/", "//", "[x", "tfhub.dve/"]
        ),
    ),
)
PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def no_traceback(capsys, argv: list[str], allowed=(0, 2)) -> int:
    """Run `parity ARGV`: any exception but the ones main maps escapes here and fails."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status in allowed, (argv, status, err)
    assert "Traceback" not in out + err
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("parity"), err
    return status


@PROPERTIES
@given(torch=HANDLE, tf=HANDLE)
def test_any_pair_of_handles(torch, tf, no_runs, capsys, tmp_path):
    no_traceback(capsys, custom(torch, tf, tmp_path))


OPTION_VALUES = st.one_of(TEXT, st.integers(-3, 3).map(str), st.sampled_from(["nan", "1e9"]))


@PROPERTIES
@given(
    option=st.sampled_from(
        [
            "--modes",
            "--batch-sizes",
            "--threads",
            "--jobs",
            "--limit",
            "--seq-len",
            "--timeout",
            "--memory-limit",
            "--seed",
            "--profile",
            "--weights",
            "--device",
            "--dataset",
            "--task",
        ]
    ),
    value=OPTION_VALUES,
)
def test_any_value_of_a_run_option(option, value, no_runs, capsys, tmp_path):
    no_traceback(capsys, ["run", "mobilenet_v2", "--out", str(tmp_path / "o"), option, value])


@PROPERTIES
@given(content=st.binary(max_size=200), as_text=st.sampled_from(["stsb", "photos", "compare"]))
def test_any_file_content(content, as_text, no_runs, capsys, tmp_path):
    file = tmp_path / "given.tsv"
    file.write_bytes(content)
    if as_text == "compare":
        no_traceback(capsys, ["compare", str(file), str(file)])
    else:
        pair = "all-MiniLM-L6-v2" if as_text == "stsb" else "mobilenet_v2"
        spec = f"{as_text}:{file}"
        no_traceback(capsys, ["run", pair, "--dataset", spec, "--out", str(tmp_path / "o")])


@PROPERTIES
@given(
    content=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    )
)
def test_any_json_as_a_results_file(content, capsys, tmp_path):
    file = tmp_path / "results.json"
    file.write_text(json.dumps(content))
    no_traceback(capsys, ["compare", str(file), str(file)])


WORDS = st.sampled_from(
    ["list", "run", "compare", "calibrate", "mobilenet_v2", "--suite", "default", "--torch"]
    + ["--tf", "--resume", "--out", "--force", "--threads", "--fail-on", "--db", "-x", "0"]
)


@PROPERTIES
@given(argv=st.lists(st.one_of(WORDS, TEXT), max_size=6))
def test_any_command_line(argv, no_runs, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default --out lands here
    if "calibrate" in argv and argv[0] == "calibrate":
        argv = [*argv, "--threads", "0"]  # fails before measuring, or fails parsing
    no_traceback(capsys, argv)


# --- the real names: every catalog handle passes its library's own list -----------------


@pytest.mark.frameworks
def test_every_catalog_handle_is_in_its_librarys_names(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for pair in PAIRS.values():
        for side in SIDES:
            check_handle(pair.side(side).handle)
    for library in ("torchvision", "timm", "keras-hub"):
        assert known_names(library) is not None, library
    with pytest.raises(UnknownArchitectureError, match="Did you mean 'resnet50'"):
        check_handle("timm:resnet5O")
