import numpy as np
import pytest

from parity.datasets.sentences import (
    DatasetError,
    load_sentence_pairs,
    load_sts_smoke,
    load_stsb,
    tokenize,
    tokenizer_file,
)


def test_bundled_smoke_set_is_graded_over_the_whole_range():
    data = load_sts_smoke()
    assert len(data) >= 100
    scores = np.array(data.scores)
    assert scores.min() >= 0 and scores.max() <= 5
    counts = np.histogram(scores, bins=[0, 1, 2, 3, 4, 5.01])[0]
    assert (counts >= 10).all(), counts
    assert all(s.strip() == s and s for s in (*data.first, *data.second))
    sentences, first, second = data.unique_sentences()
    assert [sentences[i] for i in first] == list(data.first)
    assert [sentences[i] for i in second] == list(data.second)


def test_stsb_original_format(tmp_path):
    path = tmp_path / "sts-test.csv"
    path.write_text(
        "main-captions\tMSRvid\t2012test\t0001\t5.000\t"
        "A girl is styling her hair.\tA girl is brushing her hair.\n"
        "main-news\theadlines\t2013\t0002\t0.500\t"
        "Markets fell.\tIt rained in Oslo.\textra\tcolumns\n"
    )
    data = load_stsb(path)
    assert data.scores == (5.0, 0.5)
    assert data.first[1] == "Markets fell." and data.second[1] == "It rained in Oslo."
    assert load_sentence_pairs(f"stsb:{path}").scores == (5.0, 0.5)


def test_stsb_glue_format(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text(
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
        "sentence1\tsentence2\tscore\n"
        "0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\t"
        "A man plays.\tA man is playing.\t4.6\n"
    )
    data = load_stsb(path)
    assert data.first == ("A man plays.",) and data.scores == (4.6,)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("a\tb\tc\n", "too few"),
        ("g\tf\ty\ti\tfive\tA.\tB.\n", "not a number"),
        ("g\tf\ty\ti\t7.5\tA.\tB.\n", "outside 0-5"),
        ("index\tsentence1\tsentence2\n0\tA.\tB.\n", "no score column"),
    ],
)
def test_stsb_malformed_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_stsb(path)


def test_missing_and_unknown_datasets():
    with pytest.raises(DatasetError, match="not found"):
        load_stsb("/nonexistent/sts-test.csv")
    with pytest.raises(DatasetError, match="unknown sentence-pair dataset"):
        load_sentence_pairs("imagenet")


def test_tokenize_pads_to_fixed_length(word_tokenizer):
    arrays = tokenize(["the cat", "the cat sat on the mat"], tokenizer_file(str(word_tokenizer)), 8)
    assert {k: v.shape for k, v in arrays.items()} == {
        "input_ids": (2, 8),
        "attention_mask": (2, 8),
        "token_type_ids": (2, 8),
    }
    assert arrays["attention_mask"].sum(axis=1).tolist() == [4, 8]  # [CLS] + words + [SEP]
    assert arrays["input_ids"][0, 4:].tolist() == [0, 0, 0, 0]
    with pytest.raises(DatasetError, match="no tokenizer.json"):
        tokenizer_file("/nonexistent")
