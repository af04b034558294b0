"""The machine's GEMM peak (cached per machine) and each cell's share of it."""

import json
from html import escape

from parity.cli.main import main
from parity.evaluate.statistics import FASTER_THAN_PEAK
from parity.run import peak
from parity.run.runner import OK, run


def test_a_measured_peak_is_cached_per_machine_and_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    measured = []

    def fake_measure(threads, timeout_s, memory_limit_mib):
        measured.append(threads)
        return {"gflops_per_s": 100.0 + threads, "method": "fake", "measured_utc": "now"}

    monkeypatch.setattr(peak, "_measure_in_child", fake_measure)
    first = peak.machine_peak(1)
    again = peak.machine_peak(1)
    other = peak.machine_peak(2)
    assert (first["cached"], again["cached"], other["cached"]) == (False, True, False)
    assert again["gflops_per_s"] == 101.0 and other["gflops_per_s"] == 102.0
    assert measured == [1, 2]  # once per thread count, then from the cache
    assert peak.machine_peak(1, force=True)["cached"] is False and measured == [1, 2, 1]
    stored = json.loads((tmp_path / "zoo-parity" / "peak.json").read_text())
    assert {entry["key"]["threads"] for entry in stored.values()} == {1, 2}


def test_a_failed_calibration_is_reported_and_not_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(
        peak,
        "_measure_in_child",
        lambda *args: {"gflops_per_s": None, "error": "worker exited with 1: boom"},
    )
    assert main(["calibrate", "--threads", "1"]) == 1
    assert (
        capsys.readouterr().err.splitlines()[-1] == "parity calibrate: worker exited with 1: boom"
    )
    assert not (tmp_path / "zoo-parity" / "peak.json").exists()


def test_calibrate_prints_the_cached_peak(peak_cache, capsys):
    peak_cache(150.0, threads=1)
    assert main(["calibrate", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "150.0 GFLOP/s with 1 threads (cached" in out and "method: test figure" in out


def test_a_cell_faster_than_the_peak_is_flagged_in_results_and_reports(
    fake_pair, quick_config, peak_cache
):
    peak_cache(1.0, threads=1)  # 1 GFLOP/s; fake:impossible claims 1e18 FLOPs per sample
    config = quick_config(calibrate=True, modes={"torch": ("eager",), "tensorflow": ("eager",)})
    record = run([fake_pair("fake:ok", "fake:impossible")], config)
    assert record["machine"]["gemm_peak"]["gflops_per_s"] == 1.0
    assert record["machine"]["gemm_peak"]["cached"] is True
    cells = {c["handle"]: c for c in record["pairs"][0]["cells"]}
    assert all(c["status"] == OK for c in cells.values())
    for batch in ("1", "4"):
        sane = cells["fake:ok"]["efficiency"][batch]
        assert sane["flag"] is None and 0 < sane["percent_of_peak"] < 100
        wrong = cells["fake:impossible"]["efficiency"][batch]
        assert wrong["flag"] == FASTER_THAN_PEAK and wrong["percent_of_peak"] > 100
    report = (config.out_dir / "report.md").read_text()
    assert "Machine peak: 1.0 GFLOP/s fp32 GEMM with 1 threads (read from the cache" in report
    assert report.count(FASTER_THAN_PEAK) == 2  # both batches of the impossible cell
    assert escape(FASTER_THAN_PEAK) in (config.out_dir / "index.html").read_text()


def test_a_peak_measured_on_a_busy_machine_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(
        peak,
        "_measure_in_child",
        lambda *args: {"gflops_per_s": 40.0, "cpu_share": 0.3, "method": "fake"},
    )
    found = peak.machine_peak(2)
    assert found["gflops_per_s"] == 40.0 and found["cached"] is False
    assert "busy" in found["warning"] and "parity calibrate --force" in found["warning"]
    assert not (tmp_path / "zoo-parity" / "peak.json").exists()
