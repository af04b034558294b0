"""How pairs of PyTorch and TensorFlow models are measured and compared.

The parent process (runner, checks, report) imports no deep-learning framework;
only `parity.child.worker` and `parity.child.engines` do, inside spawned child processes.
"""

__version__ = "0.1.0"
