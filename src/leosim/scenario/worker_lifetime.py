"""Worker processes end with the process that started them.

A worker that loses its parent (the ``leosim run`` process killed with ``kill -9``, say) has no one to
report to and would otherwise live on, reparented to PID 1 and holding its memory. Two guards, installed by
:func:`exit_with_parent` when a worker starts:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker the moment its parent dies;
- everywhere, a daemon thread polling ``os.getppid()``: when it changes, the parent is gone and the worker
  exits within :data:`PARENT_POLL_S`.

Dask's worker processes already exit when their nanny's pipe closes (``distributed.process.AsyncProcess``);
:func:`exit_with_parent_plugin` installs the same guards in them, so that it holds on every backend.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PARENT_POLL_S = 1.0
"""Seconds between two checks of the parent process: well inside the 10 s within which an orphaned worker
must be gone, and negligible work (one system call a second)."""
_PR_SET_PDEATHSIG = 1
"""``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``."""

_installed = False


def _set_parent_death_signal() -> None:
    """Ask the Linux kernel to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc prctl: the watchdog thread still holds
        pass


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent is gone: nothing would collect this worker's results


def exit_with_parent() -> None:
    """Make this (worker) process exit when its current parent dies; idempotent. Use as a pool initializer."""
    global _installed
    if _installed:
        return
    parent_pid = os.getppid()
    _set_parent_death_signal()
    if os.getppid() != parent_pid or parent_pid == 1:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="leosim-exit-with-parent", daemon=True).start()
    _installed = True


def exit_with_parent_plugin():
    """A Dask ``WorkerPlugin`` that installs :func:`exit_with_parent` in each worker process, restarted ones
    included (register it with ``client.register_plugin``; only for a LocalCluster this process started)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ExitWithParent(WorkerPlugin):
        name = "leosim-exit-with-parent"

        def setup(self, worker) -> None:
            exit_with_parent()

    return ExitWithParent()
