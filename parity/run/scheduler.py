"""How many workers run at once, and what each may cost in memory. Imports no framework.

`--jobs N` (default 1) bounds the worker children alive at any moment: every spawn takes a
slot from one semaphore and gives it back when the child is reaped, whichever thread asked.
With N = 1 cells run one after another in the calling thread, so no two timings share the
machine. With N > 1 pairs and cells are handed to threads, and the record says the latency
figures were measured concurrently.

The memory limit is enforced by parity.spawn's watchdog, on every child; its default is
a share of the machine's RAM (default_memory_limit_mib).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from parity import spawn
from parity.machine import total_mib

T = TypeVar("T")
R = TypeVar("R")

# The default per-worker memory limit: this share of the machine's RAM, split between the
# workers that may run at once. It leaves room for the parent and the system, so an
# over-eager worker is stopped with a reason before the kernel's OOM killer picks a
# process (the parent included) at random.
DEFAULT_MEMORY_SHARE = 0.8


class WorkerSlots:
    """At most `jobs` workers alive; counts the most seen at once."""

    def __init__(self, jobs: int = 1):
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self._free = threading.BoundedSemaphore(jobs)
        self._lock = threading.Lock()
        self.alive = 0
        self.max_alive = 0

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
    """A new run's slots; children may start again, should an earlier run have been stopped."""
    global _slots
    _slots = WorkerSlots(jobs)
    spawn.reopen()
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
                    wait([future], timeout=spawn.POLL_S)
                done.append(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            # Ctrl-C reaches only this thread; the children other threads wait on must stop
            # too, or leaving this block would wait for each to finish or time out.
            spawn.stop_all()
            raise
    return done


def default_memory_limit_mib(jobs: int) -> float | None:
    total = total_mib()
    return None if total is None else round(total * DEFAULT_MEMORY_SHARE / jobs)


# Parent-side set-up (preparing inputs, converting a checkpoint) runs one at a time: two
# threads must not write the same cached file.
setup_lock = threading.RLock()
