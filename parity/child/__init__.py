"""The child side: the only package that imports a framework (torch, TensorFlow, Keras...).

Everything here runs inside a spawned worker process: the worker itself, the per-framework
engines, the loaders, activation capture, seeded checkpoints, peak kernels and dataset
readers. The parent starts these modules with `python -m` and never imports them; the
import contract in `nox -s lint` enforces that."""
