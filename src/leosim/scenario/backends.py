"""Where the chunks of a run execute: in this process, in local worker processes, or on a Dask cluster.

A backend runs one picklable, module-level function over a list of picklable tasks and hands each result
back as it completes (in any order). The scenario runner makes the results independent of that order:
every chunk writes its own Parquet parts and the tables are assembled in time order afterwards, so every
backend and worker count gives the same bytes.

Orphans: worker processes exit by themselves within seconds when the process that started them dies
(:mod:`.worker_lifetime`).

Faults: a worker process that dies costs only the chunks it was running. :class:`ProcessBackend` starts a
fresh pool when the pool breaks (``BrokenProcessPool``) and resubmits the unfinished tasks;
:class:`DaskBackend` relies on the scheduler, which reschedules the tasks of a lost worker, and on
``retries=`` for tasks that raise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .._extras import import_extra
from ..errors import LeosimInputError
from .worker_lifetime import exit_with_parent, exit_with_parent_plugin

BACKENDS = ("in-process", "processes", "dask")
"""Backend names accepted by :func:`make_backend` (and ``leosim run --backend``)."""

DEFAULT_RETRIES = 3
"""How many times a chunk is tried again after its worker died (or, on Dask, after it raised)."""

OnResult = Callable[[int, object], None]
"""Called with (task index, result) as each task completes."""


class InProcessBackend:
    """Runs the tasks one after the other in this process (no pickling; the default for small runs)."""

    name = "in-process"
    workers = 1

    def map(self, function: Callable, tasks: Sequence, on_result: OnResult) -> None:
        """Run ``function(task)`` for every task, in order."""
        for index, task in enumerate(tasks):
            on_result(index, function(task))

    def __repr__(self) -> str:
        return "InProcessBackend()"


class ProcessBackend:
    """Runs the tasks on ``workers`` local processes (``concurrent.futures.ProcessPoolExecutor``).

    At most ``workers`` tasks are in flight (plus one queued each), so the driver holds only their results.
    If a worker process dies (killed, out of memory) the pool breaks; a fresh pool is started and every
    unfinished task is submitted again, at most ``max_restarts`` times per run.
    """

    name = "processes"

    def __init__(self, workers: int = 2, *, max_restarts: int = DEFAULT_RETRIES):
        if workers < 1:
            raise LeosimInputError(f"workers must be at least 1, got {workers}", field="workers")
        self.workers = int(workers)
        self.max_restarts = int(max_restarts)
        self.restarts = 0
        """Pools started again after a worker died (in the last :meth:`map`)."""

    def map(self, function: Callable, tasks: Sequence, on_result: OnResult) -> None:
        """Run ``function(task)`` for every task on the pool; results arrive as tasks complete."""
        pending = list(range(len(tasks)))  # not yet finished, in submission order
        self.restarts = 0
        while pending:
            pending = self._run_pool(function, tasks, pending, on_result)
            if pending:
                self.restarts += 1
                if self.restarts > self.max_restarts:
                    raise RuntimeError(f"worker processes died {self.restarts} times; {len(pending)} chunks "
                                       "did not finish (out of memory?)")

    def _run_pool(self, function, tasks, pending: list[int], on_result: OnResult) -> list[int]:
        """Run ``pending`` tasks on one pool; returns those left unfinished when the pool broke."""
        unfinished = set(pending)
        queue = list(pending)
        window = 2 * self.workers  # tasks in flight: bounds the results waiting in the driver
        with ProcessPoolExecutor(max_workers=self.workers, initializer=exit_with_parent) as pool:
            running: dict = {}
            try:
                while queue or running:
                    while queue and len(running) < window:
                        index = queue.pop(0)
                        running[pool.submit(function, tasks[index])] = index
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=running.get):
                        index = running.pop(future)
                        result = future.result()  # BrokenProcessPool if a worker died
                        unfinished.discard(index)
                        on_result(index, result)
            except BrokenProcessPool:
                for future in running:
                    future.cancel()
                return [i for i in pending if i in unfinished]
        return []

    def __repr__(self) -> str:
        return f"ProcessBackend(workers={self.workers})"


class DaskBackend:
    """Runs the tasks on a Dask distributed cluster.

    With ``client``, uses that :class:`distributed.Client` (left open). With ``scheduler``
    (``tcp://HOST:PORT``), connects to a running cluster. Otherwise starts a ``LocalCluster`` of
    ``workers`` processes with one thread each, and closes it afterwards.

    Each task is submitted with ``retries``; a task whose worker died is rescheduled by the scheduler
    (up to its ``distributed.scheduler.allowed-failures`` setting). Workers must be able to import leosim
    and read the scenario's input files at the same paths, and write the parts folder (a shared
    filesystem on a multi-machine cluster; see docs/distributed.md).
    """

    name = "dask"

    def __init__(self, workers: int = 2, *, scheduler: str | None = None, client=None,
                 retries: int = DEFAULT_RETRIES):
        if client is None:  # fail before any work starts, naming the extra to install
            import_extra("distributed", extra="dask", feature="the dask backend")
        self.workers = int(workers)
        self.scheduler = scheduler
        self.client = client
        self.retries = int(retries)

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.client is not None:
            return self.client, None, False
        if self.scheduler is not None:
            try:
                return Client(self.scheduler, timeout="20s"), None, True
            except (OSError, TimeoutError) as error:
                raise LeosimInputError(f"cannot reach the Dask scheduler at {self.scheduler}: {error}",
                                       field="scheduler") from None
        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        client.register_plugin(exit_with_parent_plugin())  # workers of our own cluster end with us
        return client, cluster, True

    def map(self, function: Callable, tasks: Sequence, on_result: OnResult) -> None:
        """Submit every task; results arrive as tasks complete."""
        from distributed import as_completed

        client, cluster, owned = self._connect()
        try:
            futures = [client.submit(function, task, key=f"leosim-chunk-{index}-{os.urandom(4).hex()}",
                                     retries=self.retries, pure=False) for index, task in enumerate(tasks)]
            index_of = {future.key: index for index, future in enumerate(futures)}
            for future in as_completed(futures):
                result = future.result()
                on_result(index_of[future.key], result)
                future.release()
        finally:
            if owned:
                client.close()
                if cluster is not None:
                    cluster.close()

    def __repr__(self) -> str:
        where = self.scheduler or ("a given client" if self.client is not None else f"LocalCluster({self.workers})")
        return f"DaskBackend({where})"


def make_backend(name: str | None = None, *, workers: int = 1, scheduler: str | None = None):
    """A backend by name: ``in-process``, ``processes`` or ``dask``; ``None`` picks in-process for one
    worker and local processes for more (or Dask when a ``scheduler`` is given)."""
    if name is None:
        name = "dask" if scheduler else ("in-process" if workers <= 1 else "processes")
    if scheduler is not None and name != "dask":
        raise LeosimInputError(f"--scheduler needs the dask backend (got backend {name!r})", field="scheduler")
    if name == "in-process":
        return InProcessBackend()
    if name == "processes":
        return ProcessBackend(max(1, workers))
    if name == "dask":
        return DaskBackend(max(1, workers), scheduler=scheduler)
    raise LeosimInputError(f"unknown backend {name!r}; accepted: {', '.join(BACKENDS)}", field="backend")
