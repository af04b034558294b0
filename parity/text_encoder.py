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

from parity import checks
from parity.datasets import (
    DatasetError,
    SentencePairs,
    cache_key,
    load_sentence_pairs,
    tokenize,
    tokenizer_file,
)
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


def prepare(
    pair: Pair, dataset: str | None, seq_len: int, work_dir: Path, limit: int | None = None
) -> PreparedInputs:
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


def accuracy(inputs: PreparedInputs, output_path: str) -> dict[str, Any]:
    hidden = load_npy(output_path)
    checks.finite_or_raise("hidden states", hidden)
    embeddings = checks.mean_pool(hidden, inputs.mask)
    return checks.similarity_accuracy(embeddings, inputs.first, inputs.second, inputs.data.scores)


def agreement(
    inputs: PreparedInputs, torch_output: str, tf_output: str, atol: float
) -> dict[str, Any]:
    return checks.text_encoder_agreement(
        load_npy(torch_output),
        load_npy(tf_output),
        inputs.mask,
        inputs.first,
        inputs.second,
        atol=atol,
    )
