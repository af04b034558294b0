"""Progress of a run: a rich progress bar on a terminal; elsewhere (CI logs, pipes) one
plain line per finished cell and nothing animated."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._bar = None
        self._task = None
        self._lock = threading.Lock()  # cells may finish in several threads (--jobs)

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, cell_id: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=cell_id)

    def finish(self, cell_id: str, status: str, wall_s: float, detail: str = "") -> None:
        with self._lock:
            self.done += 1
            line = f"[{self.done}/{self.total}] {cell_id} {status} ({wall_s:.1f} s)"
            line += f": {detail}" if detail else ""
            if self._bar is not None:
                self._bar.console.print(line, markup=False, highlight=False)
                self._bar.advance(self._task)
            else:
                print(line, file=self.stream, flush=True)

    def add(self, count: int) -> None:
        """More steps than planned: a cell split into shards counts each shard."""
        with self._lock:
            self.total += count
            if self._bar is not None:
                self._bar.update(self._task, total=self.total)

    def skip(self, count: int) -> None:
        """Cells that will not run (their pair's inputs failed)."""
        self.done += count
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)
