"""Where a sweep's chunks run: this process, a fork process pool, or dask.

Every runner is a :class:`concurrent.futures.Executor` with its worker count,
so the sweep has one code path for all three (:func:`make_runner`):

* ``workers == 1``: :class:`InlineExecutor`, each task runs at submit time;
* default: a :class:`~concurrent.futures.ProcessPoolExecutor` with the
  ``fork`` start method (workers inherit the parsed scenario) whose workers
  ignore SIGINT, so that Ctrl-C is handled by the parent alone;
* ``scheduler``: dask through ``Client.get_executor()``, on a new
  ``LocalCluster`` (``"local"``) or a running scheduler (an address). dask is
  imported only then.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import SimpleQueue
from typing import TYPE_CHECKING, Any

from .errors import SweepError

if TYPE_CHECKING:  # dask is an optional dependency, imported only for --scheduler
    from distributed import Client, LocalCluster


class InlineExecutor(cf.Executor):
    """Runs each task in this process at submit time (``--workers 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        fut: cf.Future[Any] = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as e:
            fut.set_exception(e)
        return fut


@dataclass
class Runner:
    """An executor, how many tasks it runs at once, how to close it, and how to stop its workers at once."""

    executor: cf.Executor
    #: Tasks that run at the same time (processes, or dask worker threads).
    workers: int
    #: For people: "process pool (2 workers)".
    kind: str
    #: Shut down (waiting for running tasks; queued ones are cancelled).
    close: Callable[[], None]
    #: Stop the workers now (a second Ctrl-C); a no-op where there is nothing to kill.
    terminate: Callable[[], None] = lambda: None


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_runner(workers: int | None = None, scheduler: str | None = None) -> Runner:
    """The runner for *workers* (default: one per CPU) and *scheduler* (None, ``"local"`` or an address).

    Raises :class:`SweepError` for workers < 1, dask not installed, or a
    scheduler address that cannot be reached within 10 s.
    """
    n = default_workers() if workers is None else workers
    if n < 1:
        raise SweepError(f"--workers {n}: expected an integer >= 1")
    if scheduler is not None:
        return _dask_runner(scheduler, n)
    if n == 1:
        inline = InlineExecutor()
        return Runner(inline, 1, "in-process", lambda: inline.shutdown())
    return _process_pool_runner(n)


# ------------------------------------------------------------ fork process pool


def _worker_init(pids: SimpleQueue[int]) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do, workers carry on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pids.put(os.getpid())


def _process_pool_runner(n: int) -> Runner:
    ctx = multiprocessing.get_context("fork")
    # Each worker reports its pid as it starts, so that a second Ctrl-C can stop exactly these
    # processes: the executor keeps its own process table private.
    pids: SimpleQueue[int] = ctx.SimpleQueue()
    known: set[int] = set()
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(pids,))

    def terminate() -> None:
        while not pids.empty():
            known.add(pids.get())
        for pid in sorted(known):
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(pid, signal.SIGTERM)

    def close() -> None:
        pool.shutdown(wait=True, cancel_futures=True)
        pids.close()

    return Runner(pool, n, f"process pool ({n} workers)", close, terminate)


# ------------------------------------------------------------ dask
# distributed's constructors and client methods are not annotated: these small functions give
# them types, so the untyped calls stay here.


def _local_cluster(workers: int) -> LocalCluster:
    import dask
    from distributed import LocalCluster

    # The nanny's MALLOC_TRIM_THRESHOLD_ costs ~10 % here (shared/reference/tooling.md).
    # Worker processes are spawned with SIGINT ignored (Python keeps an inherited SIG_IGN), so a
    # Ctrl-C, which reaches the whole process group, stops only this process, which then shuts
    # the cluster down in order instead of every worker printing a traceback.
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster: LocalCluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR)
    finally:
        signal.signal(signal.SIGINT, old)
    return cluster


def _client(address: str | LocalCluster) -> Client:
    from distributed import Client

    client: Client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    return client


def _total_threads(client: Client) -> int:
    threads: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
    return sum(threads.values())


def _executor(client: Client) -> cf.Executor:
    ex: cf.Executor = client.get_executor(pure=False)  # type: ignore[no-untyped-call]
    return ex


def _close_client(client: Client) -> None:
    client.close()  # type: ignore[no-untyped-call]


def _dask_runner(scheduler: str, workers: int) -> Runner:
    try:
        import distributed  # noqa: F401  (present?)
    except ImportError:
        raise SweepError(f"--scheduler {scheduler}: needs dask[distributed] "
                         "(pip install -e '.[cluster]' in a checkout)") from None
    cluster: LocalCluster | None = None
    if scheduler == "local":
        cluster = _local_cluster(workers)
        client = _client(cluster)
        n, kind = workers, f"dask LocalCluster ({workers} workers)"
    else:
        try:
            client = _client(scheduler)
        except (OSError, TimeoutError, ValueError) as e:
            raise SweepError(f"--scheduler {scheduler}: cannot connect to a dask scheduler ({e})") from None
        n = max(1, _total_threads(client))
        kind = f"dask cluster {scheduler} ({n} threads)"

    def close() -> None:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        _close_client(client)
        if cluster is not None:
            cluster.close()

    return Runner(_executor(client), n, kind, close)
