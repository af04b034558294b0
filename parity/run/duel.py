"""The duel: one headline comparison measured as R independent process pairs, the two sides
taking turns in short timed rounds (docs/measurement.md rule 6 and 6b).

For each replicate, both sides' warm workers (parity.child.serve) start fresh and load at
once; once both are ready they alternate rounds, A B A B ..., the side that starts
alternating between replicates, so the machine's drift falls on both. The worker not being
timed blocks on its stdin and takes no CPU. Each round answers its samples and its CPU
share. The statistics over this hierarchy (process pairs, then rounds) are in
parity.evaluate.replicates.

    result = run_duel(torch_side, tf_side, DuelPlan(batch=1, threads=2), work_dir)
    comparison = replicates.compare(result.round_medians("torch"), ...)  # see to_samples()

Compile caches: each side's workers share one folder across replicates, so a replicate
after the first may reuse a warm cache (the cold compile cost is the cell's to report).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from parity.contention import is_contended
from parity.files import write_json
from parity.spawn import STDERR_TAIL_CHARS, child_environment, forget, start_interactive
from parity.vocabulary import PROTOCOL

STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class Contender:
    """One side of a duel: what its warm worker loads, in which mode."""

    side: str  # "torch" or "tensorflow"
    framework: str
    source_prefix: str
    location: dict[str, Any]  # zoo.sources.Location.to_dict(), materialized
    task: str
    mode: str
    inputs: dict[str, str]  # input name -> .npy path; rows are repeated to the batch
    load_options: dict[str, Any] = field(default_factory=dict)
    weights: str = "pretrained"
    seed: int = 0


@dataclass(frozen=True)
class DuelPlan:
    """How long a duel runs: R process pairs, each with `rounds` timed rounds per side.
    A round is one timed loop (min_count calls and min_time_s, capped by max_time_s)."""

    batch: int
    threads: int
    replicates: int = 3
    rounds: int = 10
    round_min_count: int = 3
    round_min_time_s: float = 0.3
    round_max_time_s: float = 10.0
    warmup: int = 10
    device: str = "cpu"
    ready_timeout_s: float = 900.0  # import, load, compile and warm-up of one worker

    def loop(self) -> dict[str, Any]:
        return {
            "min_count": self.round_min_count,
            "min_time_s": self.round_min_time_s,
            "max_count": 1_000_000,
            "max_time_s": self.round_max_time_s,
        }


@dataclass
class Round:
    side: str
    samples_ms: list[float]
    cpu_share: float | None
    stopped: str
    # Further timed figures of the same calls, by name: a causal LM's round times whole
    # generations (samples_ms: decode) and answers their times to first token here.
    series: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median_ms(self) -> float:
        return float(median(self.samples_ms))

    def median_of(self, series: str | None = None) -> float:
        return self.median_ms if series is None else float(median(self.series[series]))

    @property
    def contended(self) -> bool:
        return is_contended(self.cpu_share)


@dataclass
class Replicate:
    """One fresh process pair: each side's rounds, in the order they ran."""

    index: int
    first: str  # the side that took the first round
    order: list[str]  # the sides in the order their rounds ran: A B A B ...
    rounds: dict[str, list[Round]]
    ready: dict[str, dict[str, Any]]  # each side's "ready" answer: pid, load_s, first_call_s...

    def round_medians(self, side: str, series: str | None = None) -> list[float]:
        return [r.median_of(series) for r in self.rounds[side]]

    def cpu_shares(self, side: str) -> list[float | None]:
        return [r.cpu_share for r in self.rounds[side]]

    @property
    def contended(self) -> bool:
        return any(r.contended for rounds in self.rounds.values() for r in rounds)


@dataclass
class DuelResult:
    sides: tuple[str, str]  # (a, b): the ratio is a over b
    plan: DuelPlan
    replicates: list[Replicate]
    error: str | None = None  # why the duel stopped early; the finished replicates stand
    stderr_tail: str | None = None
    wall_s: float = 0.0

    def round_medians(
        self, series: str | None = None
    ) -> tuple[list[list[float]], list[list[float]]]:
        """Per replicate, each round's median: side a's and side b's (paired by round), of
        the rounds' samples, or of one of their further series."""
        a, b = self.sides
        return (
            [rep.round_medians(a, series) for rep in self.replicates],
            [rep.round_medians(b, series) for rep in self.replicates],
        )

    def cpu_shares(self) -> list[list[float | None]]:
        """Per replicate, every round's CPU share, both sides."""
        return [
            rep.cpu_shares(self.sides[0]) + rep.cpu_shares(self.sides[1]) for rep in self.replicates
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DuelError(RuntimeError):
    """A worker failed to load, crashed, or did not answer in time."""

    def __init__(self, message: str, stderr_tail: str = ""):
        super().__init__(message)
        self.stderr_tail = stderr_tail


def serve_spec(contender: Contender, plan: DuelPlan) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL,
        "framework": contender.framework,
        "source_prefix": contender.source_prefix,
        "location": contender.location,
        "task": contender.task,
        "load_options": contender.load_options,
        "weights": contender.weights,
        "seed": contender.seed,
        "mode": contender.mode,
        "threads": plan.threads,
        "device": plan.device,
        "inputs": contender.inputs,
        "batch": plan.batch,
        "warmup": plan.warmup,
    }


def start_server(spec_path: Path, framework: str, threads: int, folder: Path, device: str):
    """Start one warm worker through the run's one spawn path (parity.spawn): launcher,
    process group, death with the parent, the thread environment."""
    env = child_environment(threads, framework, folder, device)
    if env.get("TORCHINDUCTOR_CACHE_DIR") == str(folder / "inductor-cache"):  # not the user's
        # One Inductor cache per side across the duel's replicates (folder is DUEL/rN/SIDE):
        # later replicates compile warm; the cold compile cost is the cell's to report.
        env["TORCHINDUCTOR_CACHE_DIR"] = str(folder.parent.parent / f"{folder.name}-inductor-cache")
    return start_interactive("parity.child.serve", [str(spec_path)], env, folder / "stderr.txt")


class _Worker:
    """A started warm worker and a thread that reads its answers into a queue."""

    def __init__(self, side: str, process: subprocess.Popen, folder: Path):
        self.side, self.process, self.folder = side, process, folder
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)  # end of output: the worker exited

    def ask(self, command: dict[str, Any]) -> None:
        try:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died; expect() reports how

    def expect(self, event: str, timeout_s: float) -> dict[str, Any]:
        try:
            line = self.answers.get(timeout=timeout_s)
        except queue.Empty:
            raise DuelError(f"{self.side}: no answer in {timeout_s:g} s", self.tail()) from None
        if line is None:
            code = self.process.wait()
            raise DuelError(f"{self.side}: worker exited with code {code}", self.tail())
        answer = json.loads(line)
        if answer["event"] == "error":
            raise DuelError(f"{self.side}: {answer['type']}: {answer['message']}", self.tail())
        if answer["event"] != event:
            raise DuelError(f"{self.side}: expected {event!r}, got {answer['event']!r}")
        return answer

    def tail(self) -> str:
        try:
            return (self.folder / "stderr.txt").read_text(errors="replace")[-STDERR_TAIL_CHARS:]
        except OSError:
            return ""

    def stop(self) -> None:
        self.ask({"op": "stop"})
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        forget(self.process.pid)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def run_replicate(
    index: int,
    contenders: tuple[Contender, Contender],
    plan: DuelPlan,
    work_dir: Path,
    start: Callable = start_server,
) -> Replicate:
    """One fresh process pair: start both, wait for both ready, alternate rounds."""
    workers: dict[str, _Worker] = {}
    try:
        for contender in contenders:
            folder = work_dir / contender.side
            folder.mkdir(parents=True, exist_ok=True)
            spec_path = folder / "serve.json"
            write_json(spec_path, serve_spec(contender, plan))
            process = start(spec_path, contender.framework, plan.threads, folder, plan.device)
            workers[contender.side] = _Worker(contender.side, process, folder)
        ready = {side: w.expect("ready", plan.ready_timeout_s) for side, w in workers.items()}
        a, b = (c.side for c in contenders)
        first, second = (a, b) if index % 2 == 0 else (b, a)
        order = [first, second] * plan.rounds
        rounds: dict[str, list[Round]] = {a: [], b: []}
        round_timeout = plan.round_max_time_s + 60.0  # one call may overrun the cap
        for side in order:
            workers[side].ask({"op": "round", "loop": plan.loop()})
            answer = workers[side].expect("round", round_timeout)
            rounds[side].append(
                Round(
                    side,
                    answer["samples_ms"],
                    answer["cpu_share"],
                    answer["stopped"],
                    answer.get("series", {}),
                )
            )
        for worker in workers.values():
            worker.stop()
        return Replicate(index, first, order, rounds, ready)
    finally:
        for worker in workers.values():
            worker.kill()


def run_duel(
    a: Contender,
    b: Contender,
    plan: DuelPlan,
    work_dir: Path,
    start: Callable = start_server,
    progress: Callable[[str], None] | None = None,
) -> DuelResult:
    """R replicates of a against b at one batch size; the ratio is a over b. A worker that
    fails ends the duel: the result keeps the replicates finished and says why."""
    started = time.perf_counter()
    result = DuelResult((a.side, b.side), plan, [])
    for index in range(plan.replicates):
        try:
            replicate = run_replicate(index, (a, b), plan, Path(work_dir) / f"r{index}", start)
        except DuelError as error:
            result.error, result.stderr_tail = str(error), error.stderr_tail
            break
        result.replicates.append(replicate)
        if progress:
            medians = {s: median(replicate.round_medians(s)) for s in result.sides}
            progress(
                f"replicate {index + 1}/{plan.replicates}: "
                + ", ".join(f"{s} {m:.3g} ms" for s, m in medians.items())
            )
    result.wall_s = time.perf_counter() - started
    return result
