"""A worker process lives only as long as the run that started it.

The run holds the run lock; its helpers do not (the lock's descriptor is not
inherited). A helper that outlived a ``kill -9`` of its run would go on
taking jobs with no lock held, beside the next run, and then block forever
writing its result to a parent that is gone. Two ties prevent it: the kernel
kills the helper when its parent dies (``PR_SET_PDEATHSIG`` through
``prctl``, on Linux), and between jobs the helper checks that its parent is
still the process that started it (everywhere), and that the run has not
asked its helpers to stop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from typing import Any

PR_SET_PDEATHSIG = 1
_parent: int | None = None
_stop: Any = None  # a multiprocessing Event the run sets when it stops early


def die_with_parent(parent: int, stop: Any = None) -> None:
    """Run first in each helper process (the pool's initializer)."""
    global _parent, _stop
    _parent, _stop = parent, stop
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError, TypeError):
        pass  # not Linux: the check between jobs still ends the helper
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def orphaned() -> bool:
    """True when this helper's run is gone or stopping: take no further job."""
    if _parent is not None and os.getppid() != _parent:
        return True
    return _stop is not None and _stop.is_set()
