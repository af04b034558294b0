import numpy as np
import pytest

from parity.evaluate import checks


def test_rankdata_averages_ties():
    np.testing.assert_allclose(checks.rankdata([10, 20, 20, 5]), [2, 3.5, 3.5, 1])


def test_spearman_known_values():
    assert checks.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert checks.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ranks [1,2,3,4,5] against [2,1,4,3,5]: d^2 sum = 4 -> 1 - 6*4/(5*24) = 0.8
    assert checks.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    # With ties: Pearson correlation of the average ranks.
    a, b = [1, 2, 2, 3], [1, 3, 2, 4]
    expected = np.corrcoef([1, 2.5, 2.5, 4], [1, 3, 2, 4])[0, 1]
    assert checks.spearman(a, b) == pytest.approx(expected)
    assert np.isnan(checks.spearman([1, 1, 1], [1, 2, 3]))


def test_mean_pool_ignores_padding():
    hidden = np.array([[[1.0, 1.0], [3.0, 3.0], [100.0, -100.0]]])
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(checks.mean_pool(hidden, mask), [[2.0, 2.0]])


def _hidden(seed=0, n=6, t=5, d=4):
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, t), dtype=np.int64)
    for i in range(n):
        mask[i, : 2 + i % 3] = 1
    return rng.standard_normal((n, t, d)).astype(np.float32), mask


def test_agreement_passes_within_tolerance_and_ignores_padding():
    hidden, mask = _hidden()
    other = hidden.copy()
    other[mask == 0] += 50.0  # garbage in padding positions must not count
    other[mask == 1] += 5e-5
    found = checks.text_encoder_agreement(
        hidden, other, mask, np.array([0, 1]), np.array([2, 3]), atol=1e-4
    )
    assert found["passed"]
    assert found["max_abs_diff"] == pytest.approx(5e-5, rel=1e-2)
    assert found["min_embedding_cosine"] > 0.999999
    assert found["compared_values"] == int(mask.sum()) * hidden.shape[-1]


def test_agreement_fails_beyond_tolerance():
    hidden, mask = _hidden()
    other = hidden.copy()
    other[0, 0, 0] += 2e-3
    found = checks.text_encoder_agreement(
        hidden, other, mask, np.array([0]), np.array([1]), atol=1e-4
    )
    assert not found["passed"]
    assert found["max_abs_diff"] == pytest.approx(2e-3, rel=1e-3)


def test_agreement_refuses_nan_and_shape_mismatch():
    hidden, mask = _hidden()
    broken = hidden.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN/Inf"):
        checks.text_encoder_agreement(hidden, broken, mask, np.array([0]), np.array([1]), atol=1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        checks.text_encoder_agreement(
            hidden, hidden[:, :, :2], mask, np.array([0]), np.array([1]), atol=1e-4
        )


def test_similarity_accuracy_tracks_gold_order():
    embeddings = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [1.0, 1.0]])
    first, second = np.array([0, 0, 0]), np.array([1, 3, 2])
    found = checks.similarity_accuracy(embeddings, first, second, [5.0, 3.0, 0.0])
    assert found == {"spearman": pytest.approx(1.0), "pairs": 3}
