"""Evaluation data decoded once in the parent (sentence pairs, photos, image
folders); framework-backed readers (HF datasets, TFDS) run in parity.child."""
