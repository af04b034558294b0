"""The one way the parent starts a child process. Imports no framework.

Every child (a cell's worker, a seeded checkpoint, a checkpoint conversion, a data set
reader, the GEMM calibration) is started by `run_child`, as

    python -m parity.child.launch PARENT_PID MODULE ARGS...

and so gets the same protections:
  - its own process group, so a kill reaches everything it started (compile workers too);
  - a timeout, and a resident-memory limit over the whole group (MemoryWatch). The limit
    is an RSS watchdog, not RLIMIT_AS: TensorFlow and PyTorch reserve far more virtual
    address space than they touch and fail to import under an address-space cap;
  - death with the parent: the launcher asks Linux (PR_SET_PDEATHSIG) to kill it when the
    parent dies, even by SIGKILL, before MODULE runs;
  - the threads environment (child_environment), set before it imports anything;
  - stdout and stderr in files (a cell's folder) or captured, and one Outcome saying how
    it ended.
Every live child is registered, so stopping a run (Ctrl-C) kills them all (stop_all).

This is a leaf of the parent: parity.run, parity.datasets and the peak calibration all
start children through it, and zoo describes its children (zoo.sources.ChildJob) for the
runner to start here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from parity.machine import group_rss_mib, process_rss_mib
from parity.results.store import PROJECT_ROOT

LAUNCHER = "parity.child.launch"
POLL_S = 0.1  # how often a waiting thread checks its child's clock and memory
STDERR_TAIL_CHARS = 4000


class RunStopped(BaseException):
    """Raised in the thread that waited on a child killed because the run is being stopped
    (Ctrl-C in the main thread): the work is abandoned, not recorded as failed, so a
    resume does it again."""


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class Outcome:
    """How a child ended. `stdout` holds its output when it was captured (not written to a
    folder); `stderr_tail` the last STDERR_TAIL_CHARS characters of its stderr."""

    returncode: int
    wall_s: float
    timeout_s: float
    memory_limit_mib: float | None = None
    timed_out: bool = False
    memory_killed: bool = False
    peak_rss_mib: float | None = None
    stdout: str = ""
    stderr_tail: str = ""

    @property
    def signal(self) -> str | None:
        """The signal that ended it (SIGSEGV, SIGKILL...), None when it exited."""
        return signal_name(-self.returncode) if self.returncode < 0 else None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.memory_killed)

    @property
    def last_stderr_line(self) -> str:
        return (self.stderr_tail.strip().splitlines() or ["no message"])[-1]

    def reason(self) -> str:
        """Why it did not end well, in words, for a record or an error message."""
        if self.memory_killed:
            return (
                f"exceeded memory limit {self.memory_limit_mib:g} MiB (peak RSS seen "
                f"{self.peak_rss_mib:.0f} MiB; killed)"
            )
        if self.timed_out:
            return f"timed out after {self.timeout_s:g} s (killed)"
        if self.signal:
            reason = f"crashed: killed by {self.signal}"
            if self.returncode == -signal.SIGKILL:
                reason += " (from outside: another process, or the kernel's out-of-memory killer)"
            return reason
        return f"exited with code {self.returncode}: {self.last_stderr_line}"


def child_environment(
    threads: int, framework: str, cell_dir: Path | None = None, device: str = "cpu"
) -> dict[str, str]:
    """Threads set before the child imports anything (docs/measurement.md rule 2)."""
    env = dict(os.environ)
    if device == "cpu":
        # Hide every GPU from both frameworks: TensorFlow would otherwise place its ops on
        # one by itself, and a CPU comparison would silently become a mixed one.
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TF_NUM_INTRAOP_THREADS=str(threads),
        TF_NUM_INTEROP_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "1"),
        PYTHONUNBUFFERED="1",
    )
    if framework == "tensorflow":
        env["KERAS_BACKEND"] = "tensorflow"
    if framework == "torch" and cell_dir is not None and "TORCHINDUCTOR_CACHE_DIR" not in env:
        # A fresh compile cache per cell: torch.compile's first call then always measures a
        # cold compile, not whatever an earlier run left in /tmp/torchinductor_$USER.
        env["TORCHINDUCTOR_CACHE_DIR"] = str(cell_dir / "inductor-cache")
    # The child must import this checkout's code, installed or not.
    root = str(PROJECT_ROOT)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class MemoryWatch:
    """Resident memory of a child's process group, cheaply enough to poll every 0.1 s
    while it is being timed: the child itself is read each time (one small file), the
    whole group (a walk over /proc, about 1 ms) once a second; between walks the rest of
    the group counts at its last size."""

    GROUP_SCAN_S = 1.0

    def __init__(self, pgid: int):
        self.pgid = pgid
        self._others = 0.0  # the group less its leader, at the last walk
        self._last_scan = float("-inf")
        self.peak: float | None = None

    def sample(self, now: float) -> float | None:
        leader = process_rss_mib(self.pgid)
        if now - self._last_scan >= self.GROUP_SCAN_S:
            self._last_scan = now
            group = group_rss_mib(self.pgid)
            if group is not None:
                self._others = max(0.0, group - (leader or 0.0))
        if leader is None:
            return None
        total = leader + self._others
        self.peak = total if self.peak is None else max(self.peak, total)
        return total


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass  # already gone


class _LiveChildren:
    """The process groups of every child alive, whichever thread started it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self.stopping = False

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)
            stopping = self.stopping
        if stopping:  # started while the run was being stopped
            _kill_group(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def stop_all(self) -> None:
        self.stopping = True
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            _kill_group(pgid)


_live = _LiveChildren()


def stop_all() -> None:
    """Kill every live child's process group; the threads waiting on them raise RunStopped,
    and children started from now on are killed at once, until `reopen`."""
    _live.stop_all()


def stopping() -> bool:
    """Whether the run is being stopped (stop_all was called since the last reopen)."""
    return _live.stopping


def reopen() -> None:
    """A new run begins: children may start again after an earlier run was stopped."""
    _live.stopping = False


def _read_tail(handle) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 4 * STDERR_TAIL_CHARS))  # UTF-8: at most 4 bytes a character
    return handle.read().decode(errors="replace")[-STDERR_TAIL_CHARS:]


def start_interactive(module: str, args: Sequence[str], env: Mapping[str, str], stderr_path: Path):
    """Start `python -m module args` as a child that talks over pipes (a warm duel worker):
    the same launcher (death with the parent), its own process group, registered so that
    stopping the run kills it. The caller bounds its life with its own timeouts and kills
    its group (os.killpg) when done; `forget(pid)` then unregisters it."""
    command = [sys.executable, "-m", LAUNCHER, str(os.getpid()), module, *map(str, args)]
    with open(stderr_path, "ab") as stderr:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=dict(env),
            start_new_session=True,
            text=True,
            bufsize=1,
        )
    _live.add(child.pid)
    return child


def forget(pid: int) -> None:
    """An interactive child has ended: stop tracking its group."""
    _live.discard(pid)


def run_child(
    module: str,
    args: Sequence[str],
    env: Mapping[str, str],
    timeout_s: float,
    memory_limit_mib: float | None = None,
    log_dir: Path | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome:
    """Run `python -m module args` as a child with every protection above, and wait for it.

    env: from child_environment. log_dir: write stdout.txt and stderr.txt there (kept for
    the user); without it both are captured. on_start(pid) is called once it runs (the
    journal notes a worker's pid). Raises RunStopped when the run is being stopped.
    """
    command = [sys.executable, "-m", LAUNCHER, str(os.getpid()), module, *map(str, args)]
    if log_dir is None:
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    else:
        out, err = open(log_dir / "stdout.txt", "w+b"), open(log_dir / "stderr.txt", "w+b")
    with out, err:
        started = time.perf_counter()
        child = subprocess.Popen(
            command,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            # Its own process group, so a timeout kills everything it started.
            start_new_session=True,
        )
        _live.add(child.pid)
        if on_start is not None:
            on_start(child.pid)
        memory = MemoryWatch(child.pid)
        over_memory = timed_out = False
        try:
            while True:
                try:
                    returncode = child.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.perf_counter()
                rss = memory.sample(now)
                over_memory = memory_limit_mib is not None and (rss or 0.0) > memory_limit_mib
                timed_out = now - started > timeout_s
                if over_memory or timed_out:
                    _kill_group(child.pid)
                    returncode = child.wait()
                    break
        except BaseException:
            # Ctrl-C reaches only the parent (the child has its own session): stop it too.
            _kill_group(child.pid)
            child.wait()
            raise
        finally:
            _live.discard(child.pid)
        wall_s = time.perf_counter() - started
        if _live.stopping:  # killed because the run is stopping: not this child's failure
            raise RunStopped
        out.seek(0)
        return Outcome(
            returncode=returncode,
            wall_s=wall_s,
            timeout_s=timeout_s,
            memory_limit_mib=memory_limit_mib,
            timed_out=timed_out,
            memory_killed=over_memory,
            peak_rss_mib=memory.peak,
            stdout="" if log_dir is not None else out.read().decode(errors="replace"),
            stderr_tail=_read_tail(err),
        )
