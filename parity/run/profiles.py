"""Timing profiles: how long each timed loop runs (docs/measurement.md rule 3-4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    warmup: int  # untimed calls after the first call
    min_count: int  # the loop stops once it has this many samples...
    min_time_s: float  # ...and has run at least this long,
    max_count: int  # or at either cap.
    max_time_s: float
    # The replicated comparison (docs/measurement.md rule 6): fresh process pairs, and the
    # alternating timed rounds each pair runs, each round at least round_min_time_s long.
    replicates: int = 5
    rounds: int = 10
    round_min_time_s: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    p.name: p
    for p in (
        Profile(
            "quick",
            warmup=10,
            min_count=20,
            min_time_s=1.0,
            max_count=2000,
            max_time_s=15.0,
            replicates=3,
            rounds=6,
        ),
        Profile(
            "standard", warmup=10, min_count=64, min_time_s=5.0, max_count=5000, max_time_s=60.0
        ),
        Profile(
            "thorough",
            warmup=20,
            min_count=200,
            min_time_s=20.0,
            max_count=20000,
            max_time_s=300.0,
            replicates=10,
            rounds=20,
        ),
    )
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


# Latency batch sizes a run sweeps unless told otherwise (a batch size the machine's free
# memory cannot hold is skipped by the worker), and the batch the evaluation outputs are
# computed in.
DEFAULT_BATCHES = (1, 8, 32)
EVAL_BATCH = 8


def default_batches(task: str | None) -> tuple[int, ...]:
    """A pair's latency batch sizes where neither the command line nor a suite entry
    gives them: a causal LM times generations at its task's TIMED_BATCHES (one prompt and
    a small batch of copies), every other task calls at DEFAULT_BATCHES."""
    if task == "text-generation":
        from parity.tasks.text_generation import TIMED_BATCHES  # the task's own choice

        return TIMED_BATCHES
    return DEFAULT_BATCHES


def eval_batch_for(batches: tuple[int, ...]) -> int:
    """The evaluation batch: EVAL_BATCH where it is also timed, else the largest timed
    batch, so the very first call (the cold compile) has a steady median to be set
    against and the compile cost can be reported."""
    return EVAL_BATCH if EVAL_BATCH in batches else max(batches)
