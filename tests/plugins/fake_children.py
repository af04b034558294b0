"""A test plugin: a child that misbehaves as FAKE_CHILD says, whatever its arguments.

    python -m fake_children ARGS...    FAKE_CHILD=hang: sleeps an hour
                                       FAKE_CHILD=memhog: touches ever more memory, then hangs

Tests point a seeding, dataset or calibration child at this module, to check that the one
spawn path stops it as it stops a cell's worker.
"""

from __future__ import annotations

import os
import time

if __name__ == "__main__":
    if os.environ.get("FAKE_CHILD") == "memhog":
        from fake_zoo import _hog

        _hog()
    time.sleep(3600)
