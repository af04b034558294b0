"""Faults injected into runs of fake models: killed parents and children, memory hogs,
full disks, corrupt files, and many workers at once. Each protection has a test here
that fails without it."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from parity.files import DiskFullError
from parity.results import store as results
from parity.run import journal
from parity.run.runner import FAILED, OK, run

EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def _cells(record):
    return [c for p in record["pairs"] for c in p.get("cells", [])]


def _run_folders(out_dir: Path) -> list[Path]:
    return sorted(journal.runs_folder(out_dir).glob("*/run.json"))


@pytest.mark.parametrize("hog", ["fake:memhog", "fake:forkhog"])  # forkhog: in a grandchild
def test_a_worker_over_the_memory_limit_is_killed_and_named(fake_pair, quick_config, hog):
    config = quick_config(memory_limit_mib=300, timeout_s=30.0, modes=EAGER_ONLY)
    record = run([fake_pair("fake:ok", hog)], config)
    ok_cell, hog = _cells(record)
    assert ok_cell["status"] == OK
    assert hog["status"] == FAILED
    assert hog["reason"].startswith("exceeded memory limit 300 MiB (peak RSS seen "), hog["reason"]
    assert 300 < hog["peak_rss_seen_mib"] < 1024
    assert hog["wall_s"] < 20  # killed by the watchdog, not by the timeout
    assert ok_cell["peak_rss_seen_mib"] > 0  # the watchdog watched every worker


def test_a_child_killed_from_outside_fails_its_cell_and_the_run_goes_on(fake_pair, quick_config):
    config = quick_config(timeout_s=60.0, modes=EAGER_ONLY)
    killed = []

    def kill_the_hanging_worker():
        deadline = time.time() + 30
        while time.time() < deadline and not killed:
            for pid_file in config.out_dir.glob(".parity-runs/*/cells/*tensorflow*/worker.pid"):
                if "fake-ok-hang" in str(pid_file):
                    pid = int(pid_file.read_text())
                    time.sleep(0.5)  # let it reach its model's load
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_hanging_worker)
    killer.start()
    record = run([fake_pair("fake:ok", "fake:hang"), fake_pair("fake:ok", "fake:ok")], config)
    killer.join()
    assert killed
    cells = {c["cell_id"]: c for c in _cells(record)}
    hung = cells["fake-ok-hang/tensorflow/eager"]
    assert hung["status"] == FAILED and hung["reason"].startswith("crashed: killed by SIGKILL")
    assert hung["wall_s"] < 30
    assert [c["status"] for k, c in cells.items() if k != hung["cell_id"]] == [OK, OK, OK]
    assert not journal.runs_folder(config.out_dir).exists()  # a completed run cleans up


PARENT_SCRIPT = """
import sys
from pathlib import Path
from parity.run.profiles import Profile
from parity.run.runner import RunConfig, run
from zoo.catalog import SAME_WEIGHTS, Pair, Side

pairs = [
    Pair(id=f"slow-{i}", task="text-encoder", relation=SAME_WEIGHTS, torch=Side("fake:slow"),
         tensorflow=Side(handle), tokenizer="hf:" + sys.argv[2], dataset="sts-smoke")
    for i, handle in enumerate(sys.argv[3].split(","))
]
config = RunConfig(
    out_dir=Path(sys.argv[1]), threads=1, seq_len=16, latency_batches=(1,), eval_batch=4,
    profile=Profile("test", warmup=1, min_count=3, min_time_s=0.0, max_count=50, max_time_s=5.0,
                    replicates=0),
    modes={"torch": ("eager",), "tensorflow": ("eager",)}, timeout_s=60.0,
)
run(pairs, config)
"""


def _slow_pairs(fake_pair, tf_handles):
    from dataclasses import replace

    return [
        replace(fake_pair("fake:slow", handle), id=f"slow-{i}")
        for i, handle in enumerate(tf_handles)
    ]


def _start_parent(out, word_tokenizer, tf_handles):
    script = [sys.executable, "-c", textwrap.dedent(PARENT_SCRIPT), str(out), str(word_tokenizer)]
    return subprocess.Popen(
        [*script, ",".join(tf_handles)],
        env={**os.environ, "FAKE_SLOW_S": "0.5"},
        stderr=subprocess.PIPE,
    )


def _kill_parent_when(parent, ready, limit_s=60):
    try:
        deadline = time.time() + limit_s
        while time.time() < deadline and not ready():
            assert parent.poll() is None, parent.stderr.read().decode()[-2000:]
            time.sleep(0.02)
    finally:
        parent.send_signal(signal.SIGKILL)  # no finally block, no atexit: the hard case
        parent.wait()


def test_a_parent_killed_mid_run_loses_no_finished_cell(
    fake_pair, quick_config, word_tokenizer, tmp_path
):
    out = tmp_path / "out"
    handles = ["fake:slow"] * 4
    parent = _start_parent(out, word_tokenizer, handles)
    _kill_parent_when(
        parent, lambda: len(list(out.glob(".parity-runs/*/cells/*/record.json"))) >= 3
    )
    (run_json,) = _run_folders(out)
    work_dir = run_json.parent
    kept = {
        json.loads(p.read_text())["cell_id"]: json.loads(p.read_text())
        for p in work_dir.glob("cells/*/record.json")
    }
    assert 3 <= len(kept) < 8
    assert not (out / "results.json").exists()

    config = quick_config(
        latency_batches=(1,), modes=EAGER_ONLY, resume=journal.resolve(work_dir.name, out)
    )
    record = run(_slow_pairs(fake_pair, handles), config)
    ids = [c["cell_id"] for c in _cells(record)]
    assert len(ids) == len(set(ids)) == 8  # every cell exactly once
    assert all(c["status"] == OK for c in _cells(record))
    assert record["run_id"] == work_dir.name
    for cell in _cells(record):
        if cell["cell_id"] in kept:  # reused, not measured again
            assert (
                cell["resumed"]
                and cell["metrics"]["pid"] == kept[cell["cell_id"]]["metrics"]["pid"]
            )
        else:
            assert not cell.get("resumed")
    saved = results.load_dict(out / "results.json")
    assert sorted(c["cell_id"] for c in _cells(saved)) == sorted(ids)
    assert saved["pairs"][0]["evaluation"]["agreement"]["passed"]  # outputs were reloaded
    assert not work_dir.exists()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # dead, waiting for its new parent to reap it


def test_a_worker_dies_with_its_killed_parent(word_tokenizer, tmp_path):
    out = tmp_path / "out"
    parent = _start_parent(out, word_tokenizer, ["fake:hang"])
    pattern = ".parity-runs/*/cells/slow-0__tensorflow__eager/worker.pid"
    _kill_parent_when(parent, lambda: bool(list(out.glob(pattern))))
    (pid_file,) = out.glob(pattern)
    orphan = int(pid_file.read_text())
    try:
        deadline = time.time() + 10
        while not _gone(orphan) and time.time() < deadline:
            time.sleep(0.05)
        assert _gone(orphan)  # not left hanging, loading the machine, for the timeout
    finally:
        if not _gone(orphan):
            os.killpg(orphan, signal.SIGKILL)


def test_resume_stops_a_worker_a_killed_parent_left_running(
    fake_pair, quick_config, word_tokenizer, tmp_path
):
    """Where the worker could not ask to die with its parent, the resume stops it."""
    out = tmp_path / "out"
    handles = ["fake:ok"]
    parent = _start_parent(out, word_tokenizer, handles)
    _kill_parent_when(parent, lambda: bool(list(out.glob(".parity-runs/*/run.json"))))
    (run_json,) = _run_folders(out)
    cell_dir = journal.cell_folder(run_json.parent, "slow-0/tensorflow/eager")
    cell_dir.mkdir(parents=True, exist_ok=True)
    # A stand-in for a leftover worker: its command line names this cell's cell.json.
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", str(cell_dir / "cell.json")],
        start_new_session=True,
    )
    journal.note_child(cell_dir, leftover.pid)
    try:
        config = quick_config(latency_batches=(1,), modes=EAGER_ONLY, resume=run_json.parent)
        record = run(_slow_pairs(fake_pair, handles), config)
        leftover.wait(timeout=10)  # stopped by the resume, not left to sleep
        assert all(c["status"] == OK for c in _cells(record))
    finally:
        if leftover.poll() is None:
            os.killpg(leftover.pid, signal.SIGKILL)


def test_resume_refuses_other_settings_and_unknown_runs(fake_pair, quick_config, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(journal.JournalError, match=r"no run 'nope' to resume in .*none can be"):
        journal.resolve("nope", out)
    record = {"run_id": "r1", "started_utc": "x", "settings": {"threads": 1, "jobs": 1}}
    work_dir = journal.start(record, out, ["p"], None)
    changed = {"run_id": "r2", "started_utc": "y", "settings": {"threads": 2, "jobs": 1}}
    with pytest.raises(journal.JournalError, match=r"other settings \(threads 1 -> 2\)"):
        journal.resume(changed, work_dir, ["p"])
    with pytest.raises(journal.JournalError, match="measured pairs"):
        journal.resume({**changed, "settings": record["settings"]}, work_dir, ["q"])


def test_a_corrupt_cell_record_is_refused_on_resume_and_left_untouched(tmp_path):
    record = {"run_id": "r1", "started_utc": "x", "settings": {}}
    work_dir = journal.start(record, tmp_path, ["p"], None)
    path = journal.cell_folder(work_dir, "p/torch/eager") / "record.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"cell_id": "p/torch/eager", "sta')
    with pytest.raises(journal.JournalError, match=r"record.json \(a cell record\) cannot be read"):
        journal.load_cell(work_dir, "p/torch/eager")
    assert path.read_text() == '{"cell_id": "p/torch/eager", "sta'


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"schema_version": 1, "pai', "is not valid JSON"),
        ('{"pairs": []}', "has no schema_version"),
        (b"\xff\xfe\x00garbage", "is not text"),
    ],
)
def test_a_corrupt_results_file_is_refused_never_overwritten(
    fake_pair, quick_config, content, message
):
    config = quick_config(modes=EAGER_ONLY)
    config.out_dir.mkdir(parents=True)
    target = config.out_dir / "results.json"
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    before = target.read_bytes()
    with pytest.raises(results.ResultsFileError, match=message) as refused:
        run([fake_pair()], config)
    assert "parity run will not replace it: move it away or choose another --out" in str(
        refused.value
    )
    assert target.read_bytes() == before
    assert not journal.runs_folder(config.out_dir).exists()  # refused before any work


def test_a_full_disk_names_the_file_keeps_the_old_one_and_the_run_resumes(
    fake_pair, quick_config, monkeypatch
):
    import parity.files

    config = quick_config(modes=EAGER_ONLY)
    run([fake_pair()], config)
    target = config.out_dir / "results.json"
    good = target.read_bytes()

    real_fsync = os.fsync

    def fsync_without_space(fd):
        if ".results.json." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(parity.files.os, "fsync", fsync_without_space)
    with pytest.raises(DiskFullError) as full:
        run([fake_pair()], config)
    message = str(full.value)
    assert message.startswith(f"no space left on the device to write {target} (")
    assert full.value.errno == errno.ENOSPC
    assert "its previous version is unchanged" in message and "--resume" in message
    assert target.read_bytes() == good  # nothing half-written replaced the good file
    assert not list(config.out_dir.glob(".results.json.*"))  # no temporary left behind
    (run_json,) = _run_folders(config.out_dir)  # the measured cells are kept

    monkeypatch.setattr(parity.files.os, "fsync", real_fsync)
    resumed = run([fake_pair()], quick_config(modes=EAGER_ONLY, resume=run_json.parent))
    assert all(c.get("resumed") for c in _cells(resumed))
    assert results.load_dict(target)["run_id"] == run_json.parent.name


def test_jobs_bound_the_workers_alive_and_label_the_report(fake_pair, quick_config, tmp_path):
    """The load test: 50 cheap cells, 3 at a time, with failures of every kind mixed in."""
    from dataclasses import replace

    from parity.machine import peak_mib, reset_peak

    trace = tmp_path / "trace"
    trace.mkdir()
    handles = ["fake:slow"] * 25
    broken = {5: "fake:raise", 11: "fake:segfault", 17: "fake:memhog", 23: "fake:nan"}
    for index, handle in broken.items():
        handles[index] = handle
    pairs = [
        replace(fake_pair("fake:slow", handle), id=f"load-{i:02d}")
        for i, handle in enumerate(handles)
    ]
    config = quick_config(
        jobs=3, memory_limit_mib=300, timeout_s=30.0, modes=EAGER_ONLY, latency_batches=(1,)
    )
    os.environ["FAKE_TRACE_DIR"], os.environ["FAKE_SLOW_S"] = str(trace), "0.3"
    reset_peak()
    try:
        record = run(pairs, config)
    finally:
        del os.environ["FAKE_TRACE_DIR"], os.environ["FAKE_SLOW_S"]
    parent_peak_mib, _ = peak_mib()

    cells = _cells(record)
    assert len(cells) == 50 and len({c["cell_id"] for c in cells}) == 50
    failed = sorted(c["cell_id"] for c in cells if c["status"] == FAILED)
    assert failed == sorted(f"load-{i:02d}/tensorflow/eager" for i in (5, 11, 17))
    # Independent of the runner's own count: lifetimes the workers wrote themselves.
    spans = [json.loads(p.read_text()) for p in trace.glob("*.json")]
    assert len(spans) >= 46  # every worker that exits normally
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    alive = most = 0
    for _, step in events:
        alive += step
        most = max(most, alive)
    print(
        f"load test: {len(cells)} cells in {record['wall_s']:.1f} s, at most {most} workers "
        f"alive (their own traces), parent peak RSS {parent_peak_mib:.0f} MiB"
    )
    assert 2 <= most <= 3, most
    assert record["workers"] == {"jobs": 3, "max_alive": 3}
    assert record["settings"]["latency_concurrent"] is True
    assert parent_peak_mib < 1024  # workers' memory is theirs; the parent only keeps records

    report = (config.out_dir / "report.md").read_text()
    assert "Latency measured concurrently: up to 3 workers ran at once" in report
    failure_lines = [line for line in report.splitlines() if "` **failed**: " in line]
    for cell_id in failed:
        assert sum(f"`{cell_id}`" in line for line in failure_lines) == 1, cell_id
    assert len(failure_lines) == len(failed)
    nan = record["pairs"][23]["evaluation"]["agreement"]
    assert "NaN/Inf" in nan["error"]  # reported as such, never averaged


def test_cli_resume_replays_the_interrupted_command_line(tmp_path, monkeypatch, capsys):
    import parity.run.runner
    from parity.cli.main import main
    from parity.run.scheduler import default_memory_limit_mib

    out = str(tmp_path / "out")
    argv = ["run", "mobilenet_v2", "--weights", "seeded", "--jobs", "2", "--out", out]
    work_dir = journal.start(
        {"run_id": "r1", "started_utc": "x", "settings": {}}, Path(out), ["mobilenet_v2"], argv
    )
    seen = {}

    def fake_run(pairs, config):
        seen.update(pairs=[pair.id for pair, _ in pairs], config=config)
        return {"pairs": [], "run_id": "r1", "wall_s": 0.0}

    monkeypatch.setattr(parity.run.runner, "run", fake_run)
    assert main(["run", "--resume", "r1", "--out", out]) == 0
    config = seen["config"]
    assert seen["pairs"] == ["mobilenet_v2"] and config.resume == work_dir
    assert config.jobs == 2 and config.weights == "seeded"
    assert config.memory_limit_mib == default_memory_limit_mib(2)
    assert main([*argv, "--memory-limit", "0"]) == 0 and seen["config"].memory_limit_mib is None
    assert seen["config"].argv == [*argv, "--memory-limit", "0"]  # kept for a later --resume
    capsys.readouterr()
    assert main(["run", "--resume", "r2", "--out", out]) == 2
    assert re.fullmatch(r"parity run: no run 'r2' to resume in .* r1\)\n", capsys.readouterr().err)
    assert main(["run", "mobilenet_v2", "--jobs", "0"]) == 2
    assert capsys.readouterr().err == "parity run: --jobs must be at least 1, not 0\n"


@pytest.mark.parametrize(
    "error",
    [
        DiskFullError("no space left on the device to write out/results.json"),
        results.ResultsFileError("out/results.json is not valid JSON"),
        journal.JournalError("record.json (a cell record) cannot be read"),
    ],
)
def test_cli_run_turns_write_and_resume_refusals_into_exit_2(monkeypatch, capsys, error):
    import parity.run.runner
    from parity.cli.main import main

    def failing_run(pairs, config):
        raise error

    monkeypatch.setattr(parity.run.runner, "run", failing_run)
    assert main(["run", "mobilenet_v2", "--no-history"]) == 2
    assert capsys.readouterr().err == f"parity run: {error}\n"


def test_one_pair_twice_in_a_run_is_measured_twice(fake_pair, quick_config):
    from dataclasses import replace

    first = replace(fake_pair("fake:ok", "fake:ok"), id="twice")
    second = replace(fake_pair("fake:ok", "fake:noisy"), id="twice")
    record = run([first, second], quick_config(modes=EAGER_ONLY))
    agreements = [p["evaluation"]["agreement"]["passed"] for p in record["pairs"]]
    assert agreements == [True, False]  # the second's cells were its own, not the first's
    assert not any(c.get("resumed") for c in _cells(record))


CTRL_C_SCRIPT = """
import signal
import sys
# Ctrl-C as a terminal delivers it. A child inherits an ignored SIGINT (SIG_IGN survives
# exec, and Python then leaves it ignored): in the full suite this process was started
# with SIGINT ignored, and the run never saw the interrupt.
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
from parity.run.profiles import Profile
from parity.run.runner import RunConfig, run
from zoo.catalog import SAME_WEIGHTS, Pair, Side

pairs = [
    Pair(id=f"p{i}", task="text-encoder", relation=SAME_WEIGHTS, torch=Side(a),
         tensorflow=Side(b), tokenizer="hf:" + sys.argv[2], dataset="sts-smoke")
    for i, (a, b) in enumerate([("fake:hang", "fake:hang"), ("fake:ok", "fake:hang")])
]
config = RunConfig(
    out_dir=Path(sys.argv[1]), threads=1, seq_len=16, latency_batches=(1,), eval_batch=4,
    profile=Profile("test", warmup=1, min_count=3, min_time_s=0.0, max_count=50, max_time_s=5.0,
                    replicates=0),
    modes={"torch": ("eager",), "tensorflow": ("eager",)}, timeout_s=120.0, jobs=3,
)
run(pairs, config)
"""


def test_ctrl_c_with_jobs_stops_every_worker_and_records_none_as_failed(tmp_path, word_tokenizer):
    """Ctrl-C, as a user sends it: SIGINT to a `parity run` process of its own (so nothing
    an earlier test left in this process can change how it is received)."""
    out = tmp_path / "out"
    pid_files = ".parity-runs/*/cells/*/worker.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CTRL_C_SCRIPT), str(out), str(word_tokenizer)],
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob(pid_files))) < 3:
        assert parent.poll() is None, parent.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    time.sleep(0.3)
    started = time.perf_counter()
    parent.send_signal(signal.SIGINT)
    _, stderr = parent.communicate(timeout=60)  # did not wait for the hanging workers
    assert time.perf_counter() - started < 60
    assert parent.returncode != 0 and "KeyboardInterrupt" in stderr.decode()
    pids = [int(p.read_text()) for p in out.glob(pid_files)]
    assert len(pids) >= 3 and all(_gone(pid) for pid in pids)
    records = [json.loads(p.read_text()) for p in out.glob(".parity-runs/*/cells/*/record.json")]
    # Cells cut short by the interruption are not failures: a resume measures them again.
    assert all(r["status"] == OK for r in records), [r.get("reason") for r in records]
    assert _run_folders(out)  # kept for --resume
