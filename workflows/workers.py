"""Flows run side by side: one worker process per flow at a time, the machine's cores shared.

GPAW here is built without MPI and keeps one core busy; CHGNet on small cells gains little
from a second thread. So ``ionflow run`` runs independent flows in worker processes (``spawn``:
no forked torch or BLAS state), each with its share of the cores. A flow travels to its worker
as JSON (``Flow.as_dict``, the way FireWorks and jobflow-remote ship flows to their workers);
each worker runs it with ``jobflow.run_locally`` and stores its results itself the moment it
finishes (the results store locks and merges, :mod:`ionflow.analysis.store`), so a kill of the
run loses only flows that had not finished. Job progress comes back through a queue to the one
progress display.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Any

from jobflow import Flow
from maggma.core import Store
from monty.json import MontyDecoder, MontyEncoder

JOB_LOGGER = "jobflow.core.job"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
"""Thread counts the workers' libraries read on import. Numba's (baderkit) matters: its OpenMP
layer sets the process's OpenMP thread count, which torch shares; left at one per core, two
workers ran four busy threads on two cores after their first Bader analysis, and CHGNet
relaxations took 5x longer."""


def default_workers() -> int:
    """Worker processes for ``ionflow run`` when not told: one per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@contextlib.contextmanager
def threads_per_worker(threads: int) -> Iterator[None]:
    """BLAS/OpenMP threads of the workers about to start (they read these on import)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker_start(queue, threads: int, filters: list) -> None:
    """In each worker: torch's threads, the command's warning filters, and job log records
    sent to the parent's display."""
    import torch

    torch.set_num_threads(threads)
    warnings.filters[:] = filters
    logger = logging.getLogger(JOB_LOGGER)
    logger.addHandler(QueueHandler(queue))
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _to_json(obj: Flow | Store) -> str:
    return json.dumps(obj.as_dict(), cls=MontyEncoder)


def _from_json(text: str) -> Any:
    return json.loads(text, cls=MontyDecoder)


def _run_in_worker(
    run_one: Callable,
    label: str,
    flow: str,
    key: str,
    jobs: int,
    store: str,
    work_dir: Path,
    data: str | None,
) -> int:
    data_store = None if data is None else _from_json(data)
    return run_one(label, _from_json(flow), key, jobs, _from_json(store), work_dir, data_store)


def run_side_by_side(
    run_one: Callable[..., int],
    todo: list[tuple[str, Flow, str, int]],
    store: Store,
    work_dir: Path,
    data: Store | None,
    workers: int,
    handler: logging.Handler,
) -> int:
    """Run ``run_one(label, flow, key, jobs, store, work_dir, data)`` for each flow of ``todo``
    in ``workers`` processes, job progress to ``handler``; return the jobs they ran. The first
    failure is raised once the flows already running have finished (and stored their results);
    none is started after it."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, default_workers() // workers)
    with context.Manager() as manager, threads_per_worker(threads):
        queue = manager.Queue()
        listener = QueueListener(queue, handler)
        listener.start()
        try:
            start = (queue, threads, list(warnings.filters))
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=_worker_start, initargs=start
            ) as pool:
                futures: list[Future] = [
                    pool.submit(
                        _run_in_worker,
                        run_one,
                        label,
                        _to_json(flow),
                        key,
                        jobs,
                        _to_json(store),
                        work_dir,
                        None if data is None else _to_json(data),
                    )
                    for label, flow, key, jobs in todo
                ]
                done, pending = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    for future in pending:
                        future.cancel()
                    wait(pending)
                    raise failed[0].exception()
                return sum(future.result() for future in futures)
        finally:
            listener.stop()
