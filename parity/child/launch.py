"""The first code every child runs: `python -m parity.child.launch PARENT_PID MODULE ARGS...`
(parity.spawn.run_child starts each child so).

It asks Linux to kill this process when its parent dies, even by SIGKILL: a child left
running would go on loading the machine under the next run's timings. Then it runs MODULE
as `python -m MODULE ARGS...` would. Where the signal is not available, a resumed run stops
a worker its killed parent left running (parity.run.journal).
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

USAGE = "usage: python -m parity.child.launch PARENT_PID MODULE [ARGS...]"


def die_with_parent(parent_pid: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)


def main() -> None:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)
    die_with_parent(int(sys.argv[1]))
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]  # as `python -m MODULE ARGS...` would see them
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
