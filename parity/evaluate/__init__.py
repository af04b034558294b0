"""Judging what the children measured: latency statistics, agreement, accuracy,
the accuracy tracks, divergence localisation and efficiency. Plain numpy, no framework."""
