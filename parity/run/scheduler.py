"""How many workers run at once, and what each may cost in memory. Imports no framework.

`--jobs N` (default 1) bounds the worker children alive at any moment: every spawn takes a
slot from one semaphore and gives it back when the child is reaped, whichever thread asked.
With N = 1 cells run one after another in the calling thread, so no two timings share the
machine. With N > 1 pairs and cells are handed to threads, and the record says the latency
figures were measured concurrently.

The memory limit is an RSS watchdog, not RLIMIT_AS: TensorFlow and PyTorch reserve far
more virtual address space than they touch and fail to import under an address-space cap.
The parent polls the resident memory of the child's process group through /proc
(MemoryWatch) and kills the group when the sum passes the limit.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

POLL_S = 0.1  # how often a waiting thread checks its child's memory
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# The default per-worker memory limit: this share of the machine's RAM, split between the
# workers that may run at once. It leaves room for the parent and the system, so an
# over-eager worker is stopped with a reason before the kernel's OOM killer picks a
# process (the parent included) at random.
DEFAULT_MEMORY_SHARE = 0.8


class RunStopped(BaseException):
    """Raised in a cell's thread when the run is being stopped (Ctrl-C in the main thread):
    the cell is abandoned, not recorded as failed, so a resume measures it again."""


class WorkerSlots:
    """At most `jobs` workers alive; counts the most seen at once; stops them all."""

    def __init__(self, jobs: int = 1):
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self._free = threading.BoundedSemaphore(jobs)
        self._lock = threading.Lock()
        self.alive = 0
        self.max_alive = 0
        self.stopping = False
        self._children: set[int] = set()

    def track(self, pid: int) -> None:
        with self._lock:
            self._children.add(pid)
        if self.stopping:  # spawned while the run was being stopped
            self.stop_all()

    def untrack(self, pid: int) -> None:
        with self._lock:
            self._children.discard(pid)

    def stop_all(self) -> None:
        """Kill every live worker's process group; their threads then raise RunStopped."""
        self.stopping = True
        with self._lock:
            children = list(self._children)
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def __enter__(self) -> WorkerSlots:
        self._free.acquire()
        with self._lock:
            self.alive += 1
            self.max_alive = max(self.max_alive, self.alive)
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.alive -= 1
        self._free.release()


# The run in progress sets this; run_worker takes a slot from it for each child.
_slots = WorkerSlots(1)


def slots() -> WorkerSlots:
    return _slots


def use_slots(jobs: int) -> WorkerSlots:
    global _slots
    _slots = WorkerSlots(jobs)
    return _slots


def map_ordered(
    fn: Callable[[T], R], items: Iterable[T], jobs: int, into: list[R] | None = None
) -> list[R]:
    """fn over items, results in input order (appended to `into` as each is ready, so an
    interruption keeps what finished); with jobs > 1, up to `jobs` at once. The first
    exception (Ctrl-C included, in the calling thread) propagates."""
    items = list(items)
    done: list[R] = [] if into is None else into
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            done.append(fn(item))
        return done
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            for future in futures:
                # Wait in short steps: a blocked wait would see Ctrl-C only once it returned.
                while not future.done():
                    wait([future], timeout=POLL_S)
                done.append(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            # Ctrl-C reaches only this thread; the workers other threads wait on must stop
            # too, or leaving this block would wait for each to finish or time out.
            _slots.stop_all()
            raise
    return done


def total_memory_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def default_memory_limit_mib(jobs: int) -> float | None:
    total = total_memory_mib()
    return None if total is None else round(total * DEFAULT_MEMORY_SHARE / jobs)


def process_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_BYTES / 2**20
    except (OSError, ValueError, IndexError):
        return None


class MemoryWatch:
    """Resident memory of a worker's process group, cheaply enough to poll every 0.1 s
    while it is being timed: the worker itself is read each time (one small file), the
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


def group_rss_mib(pgid: int) -> float | None:
    """Resident memory of every process in process group `pgid`, summed (shared pages
    count once per process, so this errs high); None where /proc cannot tell."""
    total_pages = 0
    seen = False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            # Fields after the command name (which may hold spaces) start past the last ')'.
            fields = stat[stat.rindex(b")") + 2 :].split()
            if int(fields[2]) != pgid:  # fields: state, ppid, pgrp, ...
                continue
            with open(f"/proc/{entry}/statm", "rb") as handle:
                total_pages += int(handle.read().split()[1])
            seen = True
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total_pages * _PAGE_BYTES / 2**20 if seen else None


# Parent-side set-up (preparing inputs, converting a checkpoint) runs one at a time: two
# threads must not write the same cached file.
setup_lock = threading.RLock()
