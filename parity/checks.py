"""Agreement and accuracy checks over numpy arrays that the workers wrote.

Framework-free: the same functions judge every pair, whichever side made the arrays.
"""

from __future__ import annotations

import numpy as np


def rankdata(values) -> np.ndarray:
    """Ranks starting at 1, ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size, dtype=np.float64)
    # Group equal values; each group gets the mean of the ranks it spans.
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [x.size]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def spearman(a, b) -> float:
    """Spearman rank correlation; NaN when either side is constant."""
    ra, rb = rankdata(a), rankdata(b)
    if ra.size != rb.size:
        raise ValueError(f"spearman() needs equal lengths, got {ra.size} and {rb.size}")
    if ra.size < 2 or np.all(ra == ra[0]) or np.all(rb == rb[0]):
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of token vectors where mask is 1: (N, T, D), (N, T) -> (N, D)."""
    weights = mask.astype(np.float64)[..., None]
    summed = (hidden.astype(np.float64) * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    return summed / counts


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(l2_normalize(a) * l2_normalize(b), axis=-1)


def pair_similarities(embeddings: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cosine similarity of embeddings[first[i]] and embeddings[second[i]] for each pair i."""
    unit = l2_normalize(embeddings)
    return np.sum(unit[first] * unit[second], axis=-1)


def finite_or_raise(name: str, array: np.ndarray) -> None:
    """NaN or Inf in model outputs is a finding to report, never a number to average."""
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/Inf values out of {array.size}")


def text_encoder_agreement(
    hidden_torch: np.ndarray,
    hidden_tf: np.ndarray,
    mask: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    atol: float,
) -> dict:
    """Compare two sides' last hidden states (N, T, D) on the same tokens.

    Padding positions are excluded: what a model writes there is unspecified.
    """
    if hidden_torch.shape != hidden_tf.shape:
        raise ValueError(
            f"hidden state shapes differ: torch {hidden_torch.shape} vs tf {hidden_tf.shape}"
        )
    finite_or_raise("torch hidden states", hidden_torch)
    finite_or_raise("tensorflow hidden states", hidden_tf)
    valid = mask.astype(bool)
    a = hidden_torch[valid].astype(np.float64)
    b = hidden_tf[valid].astype(np.float64)
    abs_diff = np.abs(a - b)
    emb_torch = mean_pool(hidden_torch, mask)
    emb_tf = mean_pool(hidden_tf, mask)
    cosines = rowwise_cosine(emb_torch, emb_tf)
    sims_torch = pair_similarities(emb_torch, first, second)
    sims_tf = pair_similarities(emb_tf, first, second)
    max_abs = float(abs_diff.max())
    return {
        "compared_values": int(a.size),
        "max_abs_diff": max_abs,
        "mean_abs_diff": float(abs_diff.mean()),
        # Element-wise relative differences explode near zero; relate to the output's scale.
        "max_abs_diff_over_scale": float(abs_diff.max() / max(np.abs(a).max(), 1e-12)),
        "min_embedding_cosine": float(cosines.min()),
        "similarity_spearman": spearman(sims_torch, sims_tf),
        "max_similarity_diff": float(np.abs(sims_torch - sims_tf).max()),
        "atol": atol,
        "passed": bool(max_abs <= atol),
    }


def similarity_accuracy(embeddings: np.ndarray, first, second, gold) -> dict:
    """Spearman correlation of cosine similarity with gold scores (the STS metric)."""
    sims = pair_similarities(embeddings, np.asarray(first), np.asarray(second))
    return {"spearman": spearman(sims, gold), "pairs": int(len(gold))}
