"""Device selection: both sides on one device; on the CPU no framework sees a GPU."""

from __future__ import annotations

import pytest

from parity.publish.sentences import device_text
from parity.results.record import RunRecord
from parity.run import runner
from parity.spawn import child_environment


def test_auto_picks_cuda_only_where_the_driver_reports_a_gpu(monkeypatch):
    monkeypatch.setattr(runner, "gpu_present", lambda: True)
    assert runner.resolve_device("auto") == "cuda"
    monkeypatch.setattr(runner, "gpu_present", lambda: False)
    assert runner.resolve_device("auto") == "cpu"
    assert runner.resolve_device("cuda") == "cuda"
    with pytest.raises(ValueError, match="use cpu, cuda or auto"):
        runner.resolve_device("tpu")


def test_a_cpu_run_hides_every_gpu_from_both_frameworks(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    for framework in ("torch", "tensorflow"):
        assert child_environment(2, framework, device="cpu")["CUDA_VISIBLE_DEVICES"] == ""
        assert child_environment(2, framework, device="cuda")["CUDA_VISIBLE_DEVICES"] == "0"


def test_the_report_says_where_the_models_ran():
    cpu = {"settings": {"device": "cpu"}, "pairs": []}
    assert "on the CPU" in device_text(RunRecord.from_dict(cpu))
    gpu_cell = {"metrics": {"device": {"device": "cuda:0", "name": "NVIDIA H100"}}}
    gpu = {"settings": {"device": "cuda"}, "pairs": [{"cells": [gpu_cell]}]}
    gpu = RunRecord.from_dict(gpu)
    assert "NVIDIA H100" in device_text(gpu) and "TF32 off" in device_text(gpu)
