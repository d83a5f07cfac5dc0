"""Pause points for the crash tests, switched on by an environment variable for tests only.

`SEGFLOW_TEST_PAUSE_AT=<point>` (for example `run:committed`) makes the process write
`segflow: paused at <point>` to stderr when it gets there and then sleep, so that a test can
kill it (SIGKILL) exactly at that moment: tests/runtime/test_crash_queue.py. It is not a user
setting and is documented as such; unset (always, outside the tests), a point costs one
environment lookup.

The points, in the order they are reached:
- `apply:memberships`, `run:memberships`: memberships and events written, tags not yet queued;
- `apply:queued`, `run:queued`: tag operations queued, the transaction not yet committed;
- `apply:committed`, `run:committed`: right after the commit, before the tag sync is sent.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "SEGFLOW_TEST_PAUSE_AT"


def pause_point(name: str) -> None:
    """Stop here (for a test to kill the process) when `SEGFLOW_TEST_PAUSE_AT` names `name`."""
    if os.environ.get(ENV) != name:
        return
    sys.stderr.write(f"segflow: paused at {name}\n")
    sys.stderr.flush()
    while True:  # until killed
        time.sleep(3600)
