"""Tasks: the canonical inputs and output both sides of a pair are called with.

A source maps these names onto its own library's (keras-hub's BERT calls
attention_mask `padding_mask`), so the worker and the checks never see the difference.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str
    inputs: tuple[str, ...]
    output: str
    description: str


TEXT_ENCODER = Task(
    name="text-encoder",
    inputs=("input_ids", "attention_mask", "token_type_ids"),
    output="last_hidden_state",
    description="sentence encoder: token ids in, last hidden states (batch, tokens, width) out",
)

TASKS = {task.name: task for task in (TEXT_ENCODER,)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(
            f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}"
        ) from None
