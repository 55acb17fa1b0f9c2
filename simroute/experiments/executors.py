"""Where replications run: in this process, on a local process pool, or on a Dask distributed cluster.

Every task names its replication by index and carries its own seed (the ``i``-th child of the run's
SeedSequence) and a compiled network, so who runs it does not change its numbers; results are put back in
index order before anything is computed from them. One executor serves a whole sweep or sizing: its
workers are started once and reused for every point.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import SimrouteError

if TYPE_CHECKING:  # at run time concurrent.futures loads with the first pool: a single run needs none
    from concurrent.futures import Executor

__all__ = ["POOL_PAYS_EVENTS", "cores", "executor_for", "run_tasks"]

#: Expected events below which a local pool does not pay for starting its processes (about a second of
#: simulation on one core; a pool costs a few tenths of a second to start and feed).
POOL_PAYS_EVENTS = 2_000_000


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextmanager
def executor_for(
    jobs: int | None = None,
    cluster: str | None = None,
    executor: Executor | None = None,
    events: float | None = None,
) -> Iterator[Executor | None]:
    """The executor to run on (None: this process).

    ``executor`` is used as given; ``cluster`` is the address of a Dask scheduler
    (``tcp://host:8786``); ``jobs`` above 1 is a local pool of that many processes; ``jobs=None`` chooses:
    a pool of all cores when ``events`` (the expected events of all the work) make it pay, else serial.
    """
    if executor is not None:
        yield executor
        return
    if cluster is not None:
        try:
            from distributed import Client
        except ImportError:
            raise SimrouteError("--cluster needs Dask distributed: pip install 'simroute[cluster]'") from None
        try:
            client = Client(cluster, timeout="10s")
        except OSError as exc:
            raise SimrouteError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    if jobs is None:
        jobs = cores() if events is not None and events >= POOL_PAYS_EVENTS else 1
    if jobs < 1:
        raise SimrouteError(f"--jobs must be at least 1, got {jobs}")
    if jobs == 1:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_tasks(
    fn: Callable,
    tasks: Iterable[tuple[object, object]],
    executor: Executor | None,
    on_done: Callable[[object, object], None],
) -> None:
    """Run ``fn(payload)`` for each ``(key, payload)`` and call ``on_done(key, result)`` as each finishes
    (in order when serial; in completion order on an executor, so the caller must order by key)."""
    if executor is None:
        for key, payload in tasks:
            on_done(key, fn(payload))
        return
    from concurrent.futures import as_completed

    futures = {executor.submit(fn, payload): key for key, payload in tasks}
    try:
        for future in as_completed(futures):
            on_done(futures[future], future.result())
    finally:
        for future in futures:
            future.cancel()
