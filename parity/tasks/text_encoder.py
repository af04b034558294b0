"""The text-encoder task: shared token inputs, then agreement and accuracy from outputs.

Both sides get the same token ids from one tokenizer, so any difference in outputs
is the model's, not preprocessing's. Embeddings are mean-pooled over the attention
mask (the sentence-transformers recipe for all-MiniLM-L6-v2), in numpy, identically
for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.datasets.sentences import (
    DatasetError,
    SentencePairs,
    cache_key,
    load_sentence_pairs,
    tokenize,
    tokenizer_file,
)
from parity.evaluate import checks
from parity.files import load_npy, save_npy
from zoo.catalog import Pair
from zoo.sources import resolve


@dataclass
class PreparedInputs:
    paths: dict[str, str]
    data: SentencePairs
    mask: np.ndarray
    first: np.ndarray
    second: np.ndarray
    sentences: int
    tokenizer: str

    def paths_for(self, side: str) -> dict[str, str]:
        return self.paths  # both sides get the same token ids

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.data.name,
            "origin": self.data.origin,
            "pairs": len(self.data),
            "sentences": self.sentences,
            "tokenizer": self.tokenizer,
            "seq_len": int(self.mask.shape[1]),
            "truncated_sentences": int(self.mask[:, -1].sum()),
        }


def prepare(pair: Pair, config, work_dir: Path) -> PreparedInputs:
    dataset, seq_len, limit = config.dataset, config.seq_len, config.limit
    location = resolve(pair.tokenizer)
    if not location.path:
        raise DatasetError(f"tokenizer {pair.tokenizer} is not on this machine: {location.note}")
    tok_path = tokenizer_file(location.path)
    data = load_sentence_pairs(dataset or pair.dataset)
    if limit is not None:
        data = SentencePairs(
            data.name, data.first[:limit], data.second[:limit], data.scores[:limit], data.origin
        )
    if len(data) < 2:
        raise DatasetError(f"{data.name} has {len(data)} pairs; at least 2 are needed")
    sentences, first, second = data.unique_sentences()
    folder = work_dir / "inputs" / cache_key(str(tok_path), sentences, seq_len)
    paths = {}
    arrays = tokenize(sentences, tok_path, seq_len)
    for name, array in arrays.items():
        paths[name] = str(folder / f"{name}.npy")
        save_npy(paths[name], array)
    return PreparedInputs(
        paths=paths,
        data=data,
        mask=arrays["attention_mask"],
        first=first,
        second=second,
        sentences=len(sentences),
        tokenizer=pair.tokenizer,
    )


def accuracy(pair: Pair, inputs: PreparedInputs, cell: dict) -> dict[str, Any]:
    hidden = load_npy(cell["output_path"])
    checks.finite_or_raise("hidden states", hidden)
    embeddings = checks.mean_pool(hidden, inputs.mask)
    return checks.similarity_accuracy(embeddings, inputs.first, inputs.second, inputs.data.scores)


def agreement(pair: Pair, inputs: PreparedInputs, a: dict, b: dict) -> dict[str, Any]:
    return checks.text_encoder_agreement(
        load_npy(a["output_path"]),
        load_npy(b["output_path"]),
        inputs.mask,
        inputs.first,
        inputs.second,
        atol=pair.atol,
    )


def predictions(pair: Pair, inputs: PreparedInputs, cell: dict) -> np.ndarray:
    """What a quantised mode is judged by: each sentence's nearest neighbours among the
    others by embedding cosine (checks.neighbour_scores)."""
    hidden = load_npy(cell["output_path"])
    checks.finite_or_raise("hidden states", hidden)
    return checks.neighbour_scores(checks.mean_pool(hidden, inputs.mask))
