"""Every child goes through parity.spawn: a seeding, dataset or calibration child that hangs
is killed at its timeout, and one over the memory limit is stopped, as a cell's worker is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from parity import spawn
from parity.datasets import images
from parity.run import peak
from parity.run.runner import RunConfig, zoo_child_runner
from zoo import seeding
from zoo.catalog import get_pair

LIMIT_MIB = 300  # fake_children's memhog passes it within a second or so


@pytest.fixture(params=["hang", "memhog"])
def misbehaving(request, monkeypatch):
    """How the fake child misbehaves; the expected reason's start; the limits to run it under."""
    monkeypatch.setenv("FAKE_CHILD", request.param)
    if request.param == "hang":
        return "timed out after 2 s (killed)", {"timeout_s": 2.0, "memory_limit_mib": None}
    return f"exceeded memory limit {LIMIT_MIB} MiB", {
        "timeout_s": 30.0,
        "memory_limit_mib": LIMIT_MIB,
    }


def test_a_seeding_child_is_stopped(misbehaving, monkeypatch, tmp_path):
    reason, limits = misbehaving
    monkeypatch.setattr(seeding, "CHILD_MODULE", "fake_children")
    run_child = zoo_child_runner(RunConfig(threads=1, **limits))
    started = time.perf_counter()
    with pytest.raises(
        ValueError, match="writing a seeded resnet50.* checkpoint failed: "
    ) as error:
        seeding.seeded_pair(get_pair("resnet50-timm"), tmp_path, 0, run_child)
    assert reason in str(error.value)
    assert time.perf_counter() - started < 20


def test_a_dataset_child_is_stopped(misbehaving, monkeypatch, tmp_path):
    reason, limits = misbehaving
    monkeypatch.setattr(images, "CHILD_MODULE", "fake_children")
    # The hf reader needs the datasets package only inside its child, which is faked here.
    monkeypatch.setitem(images._PACKAGES, "hf", ("numpy", "pip install numpy", "HF_HOME"))
    started = time.perf_counter()
    with pytest.raises(images.DatasetError) as error:
        images.load_child_dataset(images.parse_spec("hf:some/set"), tmp_path / "set", **limits)
    expected = "took over 2 s" if "timed out" in reason else reason
    assert expected in str(error.value)
    assert time.perf_counter() - started < 20


def test_a_calibration_child_is_stopped(misbehaving, monkeypatch):
    reason, limits = misbehaving
    monkeypatch.setattr(peak, "CHILD_MODULE", "fake_children")
    started = time.perf_counter()
    found = peak._measure_in_child(1, limits["timeout_s"], limits["memory_limit_mib"])
    assert found["gflops_per_s"] is None
    assert found["error"].startswith(f"GEMM calibration {reason}")
    assert time.perf_counter() - started < 20


def test_an_outcome_holds_the_output_and_how_the_child_exited():
    env = spawn.child_environment(1, "numpy")
    done = spawn.run_child("platform", [], env, timeout_s=30.0)
    assert done.ok and done.stdout.strip() and done.signal is None
    failed = spawn.run_child("json.tool", ["/no/such/file"], env, timeout_s=30.0)
    assert not failed.ok and failed.returncode > 0
    assert failed.reason().startswith(f"exited with code {failed.returncode}: ")
    assert "No such file" in failed.reason()


def test_a_seeded_pair_under_a_relative_work_folder_names_it_absolutely(monkeypatch, tmp_path):
    """`parity run --out reports` makes a relative work folder; keras-hub would read the
    seeded folder's relative name as a preset's (the published run's seeded rows once
    failed so), so both sides get it absolute."""
    monkeypatch.chdir(tmp_path)
    jobs = []
    pair, folder = seeding.seeded_pair(
        get_pair("gpt2"), Path("reports/.parity-runs/run"), 0, lambda job: jobs.append(job)
    )
    expected = tmp_path / "reports/.parity-runs/run/seeded/openai-community--gpt2-seed0"
    assert folder == str(expected) and jobs  # no checkpoint there yet: the child is asked
    assert pair.torch.handle == f"hf:{expected}"
    assert pair.tensorflow.handle == f"keras-hub:{expected}"


def test_the_keras_hub_source_reads_an_existing_relative_folder_as_a_folder(monkeypatch, tmp_path):
    from zoo.sources import resolve

    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-preset").mkdir()
    assert resolve("keras-hub:my-preset").path == str(tmp_path / "my-preset")
    assert resolve("keras-hub:bert_base_en").hub_id == "bert_base_en"  # a preset's name
