"""How pairs of PyTorch and TensorFlow models are measured and compared.

The parent process (runner, checks, report) imports no deep-learning framework;
only `parity.worker` and `parity.worker_engines` do, inside spawned child processes.
"""

__version__ = "0.1.0"
