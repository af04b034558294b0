"""The catalog: pairs of equivalent pretrained models, one per framework, as data.

A pair names both sides' handles, their relation (`same-weights`: one checkpoint
converted for the other framework, so outputs should agree numerically;
`independent`: trained separately, so only predictions can agree), its task, the
shared data it is judged on, and published figures with where they were published.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

SAME_WEIGHTS = "same-weights"
INDEPENDENT = "independent"
SIDES = ("torch", "tensorflow")


@dataclass(frozen=True)
class Side:
    handle: str
    load_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnostic:
    """An extra cell that tests a hypothesis about a disagreement, e.g. one activation swapped.

    It runs one side with changed load options in eager mode and is compared with the
    other side; it carries no latency or accuracy claim of its own.
    """

    name: str
    side: str
    load_options: dict[str, Any]
    question: str


@dataclass(frozen=True)
class Published:
    metric: str
    value: float
    where: str


@dataclass(frozen=True)
class Pair:
    id: str
    task: str
    relation: str
    torch: Side
    tensorflow: Side
    dataset: str
    tokenizer: str | None = None
    atol: float = 1e-4
    description: str = ""
    published: tuple[Published, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def side(self, name: str) -> Side:
        if name not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {name!r}")
        return getattr(self, name)


MINILM = Pair(
    id="all-MiniLM-L6-v2",
    task="text-encoder",
    relation=SAME_WEIGHTS,
    torch=Side("hf:sentence-transformers/all-MiniLM-L6-v2"),
    tensorflow=Side("keras-hub:hf://sentence-transformers/all-MiniLM-L6-v2"),
    tokenizer="hf:sentence-transformers/all-MiniLM-L6-v2",
    dataset="sts-smoke",
    description=(
        "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, width 384): transformers "
        "AutoModel on PyTorch; keras-hub BertBackbone converting the same safetensors on "
        "TensorFlow. Embeddings are mean-pooled over the attention mask."
    ),
    diagnostics=(
        Diagnostic(
            name="torch-tanh-gelu",
            side="torch",
            load_options={"hidden_act": "gelu_pytorch_tanh"},
            question=(
                "keras-hub's BertBackbone builds its feed-forward layers with the tanh "
                "approximation of GELU, while this checkpoint's config asks for exact GELU. "
                "Does the gap close when PyTorch uses the tanh GELU too?"
            ),
        ),
    ),
)

PAIRS: dict[str, Pair] = {pair.id: pair for pair in (MINILM,)}

SUITES: dict[str, tuple[str, ...]] = {
    "default": ("all-MiniLM-L6-v2",),
}


def get_pair(pair_id: str) -> Pair:
    if pair_id in PAIRS:
        return PAIRS[pair_id]
    lowered = {key.lower(): key for key in PAIRS}
    if pair_id.lower() in lowered:
        return PAIRS[lowered[pair_id.lower()]]
    close = difflib.get_close_matches(pair_id.lower(), list(lowered), n=3, cutoff=0.3)
    hint = f" Did you mean {', '.join(lowered[c] for c in close)}?" if close else ""
    raise KeyError(f"no pair named {pair_id!r} in the catalog.{hint} `parity list` shows them all.")


def get_suite(name: str) -> list[Pair]:
    if name not in SUITES:
        raise KeyError(f"no suite named {name!r}; known suites: {', '.join(sorted(SUITES))}")
    return [PAIRS[pair_id] for pair_id in SUITES[name]]
