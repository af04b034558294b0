"""The load check before a run (parity.run.load)."""

from cpu_hog import cpu_hog

from parity.run.load import busy_share, check_load, cpu_times

BEFORE = """cpu  300 0 100 1000 0 0 0 0 0 0
cpu0 100 0 50 500 0 0 0 0 0 0
cpu1 200 0 50 500 0 0 0 0 0 0
intr 12345
"""
AFTER = """cpu  540 0 120 1240 0 0 0 0 0 0
cpu0 120 0 60 680 0 0 0 0 0 0
cpu1 420 0 60 560 0 0 0 0 0 0
intr 12399
"""


def test_cpu_times_sum_the_chosen_cores():
    assert cpu_times(BEFORE, (0,)) == (150, 650)
    assert cpu_times(BEFORE, (0, 1)) == (400, 1400)


def test_busy_share_over_the_sample():
    # core 0: 30 busy of 210 ticks; core 1: 230 busy of 290
    assert abs(busy_share(BEFORE, AFTER, (0,)) - 30 / 210) < 1e-12
    assert abs(busy_share(BEFORE, AFTER, (1,)) - 230 / 290) < 1e-12
    assert busy_share(BEFORE, BEFORE, (0, 1)) is None


def test_a_cpu_hog_is_seen_and_warned_about():
    with cpu_hog():
        found = check_load(sample_s=1.0)
    assert found.busy and found.busy_share > 0.8
    assert "other processes used" in found.warning
    assert "machine busy: rerun on an idle machine" in found.warning
    assert found.to_dict()["cores"] == list(found.cores)
