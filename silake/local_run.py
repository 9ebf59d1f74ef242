"""Shards run on this machine without Beam: in this process, in threads, or in worker processes.

The unit of work is the same as on every runner (`silake.shard_job.ingest_shard`), and the launcher's
commit loop commits what it stages, so a local run is a Beam run minus Beam's start-up (an import of
seconds in the launcher and again in every worker) and its shutdown on Ctrl-C (minutes). The mode is
chosen by shard count from measurements (README, `benchmarks/bench_startup.py`):

    1 shard, or 1 worker        in this process
    more                        worker processes (each ignores Ctrl-C, the launcher stops them)

On Linux, worker processes are forked from a fork server that imported their modules once
(`WORKER_PRELOAD`), rather than spawned to import them each (~1 s of CPU per worker). multiprocessing gives
each the launcher's working directory and `sys.path` of the moment; `_worker_init` gives it the launcher's
environment of the moment too (the server's dates from its start) and re-reads what silake took from it at
import (the failpoints), and freezes what it inherited out of the cyclic GC's way (`gc.freeze`, as CPython
advises for forked workers). Elsewhere they are spawned.

`threads` is available (`--runner threads`) for machines where processes are costly: zlib, zstd and
Arrow release the GIL, json decoding does not.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from silake import failpoints
from silake.lake.commit import CommitRecord
from silake.shard_job import IngestContext, cancel_all, ingest_shard
from silake.sources.shards import ShardRef

log = logging.getLogger(__name__)

IN_PROCESS, THREADS, PROCESSES = "in-process", "threads", "processes"


class WorkerDied(RuntimeError):
    """A worker process ended without finishing its shard (killed, out of memory)."""


def choose(n_shards: int, workers: int | None, mode: str | None = None) -> tuple[str, int]:
    """(mode, workers) for a local run of `n_shards` shards: never more workers than shards."""
    n = max(1, min(workers or os.cpu_count() or 1, n_shards))
    if mode is None:
        mode = IN_PROCESS if n == 1 else PROCESSES
    return mode, (1 if mode == IN_PROCESS else n)


#: What a worker process imports, loaded once by the fork server (pyarrow imports pandas at its first array).
WORKER_PRELOAD = ("silake.local_run", "pandas")


def _worker_init(environ: dict[str, str]) -> None:
    """Worker processes take the launcher's environment of now (the fork server's dates from its start),
    leave Ctrl-C to the launcher (a terminal sends it to the whole process group), and die with it: Linux
    kills them when their parent dies (PR_SET_PDEATHSIG), and their parent, the fork server, exits when the
    launcher does, even by SIGKILL."""
    # What the fork server imported lives as long as the worker: frozen, the cyclic GC's collections skip it
    # (they walked it at every full collection, and wrote to its pages, which then stopped being shared).
    gc.freeze()
    if os.environ != environ:
        os.environ.clear()
        os.environ.update(environ)
        failpoints.rearm()
    _let_the_fork_server_go()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl: go too
            os._exit(1)


def _let_the_fork_server_go() -> None:
    """Close this worker's copy of the fork server's keep-alive pipe. The server exits when no process holds
    it any more, and multiprocessing gives every forked child a copy: the server would then outlive a
    SIGKILLed launcher for as long as the workers do, and the workers (killed when their parent, the server,
    dies) would live forever."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)  # private (tests check it in a worker, and a SIGKILL)
    if server is None or not hasattr(server, "_forkserver_alive_fd"):
        log.warning("this Python's multiprocessing.forkserver has no _forkserver_alive_fd: workers may outlive "
                    "a killed launcher")
        return
    fd = server._forkserver_alive_fd
    if isinstance(fd, int):
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


def _run_one(shard: ShardRef, ctx: IngestContext) -> CommitRecord:
    return ingest_shard(shard, ctx).commit


def _executor(mode: str, workers: int) -> Executor:
    if mode == THREADS:
        return ThreadPoolExecutor(workers, thread_name_prefix="silake-shard")
    ctx = _process_context()
    _ensure_fork_server(ctx)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(dict(os.environ),))


def _process_context() -> multiprocessing.context.BaseContext:
    """A fork server on Linux (where PR_SET_PDEATHSIG ties the workers to it), else spawn (macOS: forking
    a process that loaded numpy and Accelerate is what made CPython spawn there)."""
    if not sys.platform.startswith("linux") or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_PRELOAD))  # (no effect once this process's server runs)
    return ctx


def start_fork_server(n_shards: int, workers: int | None, mode: str | None = None) -> bool:
    """Start the workers' fork server now if a run of `n_shards` would use worker processes (`choose`), so
    that its imports (~0.5 s) overlap what the launcher does before the shards (opening the catalog,
    planning) instead of following it; returns whether it started one (False when one runs already). The
    run's pool uses it (or starts it, when this was not called). A run whose plan then has no work for worker
    processes stops it (`settle_fork_server`).

    The server starts with SIGINT ignored: a Ctrl-C at the terminal reaches the whole process group, and the
    server would die with a traceback if one arrived while it imports (its loop ignores SIGINT only after
    that; the launcher stops the workers itself)."""
    if choose(n_shards, workers, mode)[0] != PROCESSES or _fork_server_pid() is not None:
        return False
    return _ensure_fork_server(_process_context())


def _fork_server_pid() -> int | None:
    from multiprocessing import forkserver

    # no public accessor: a Python without these attributes just never stops a server ahead of time
    return getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)


def settle_fork_server(n_shards: int, workers: int | None, mode: str | None = None) -> bool:
    """After planning: stop the fork server `start_fork_server` started ahead if the run has no work for
    worker processes after all (every shard already committed, or few enough left to run in-process), so its
    imports do not go on competing for the cores (measured: a no-op re-run of 8 shards used ~0.65 s more CPU
    with it). Returns whether it stopped one."""
    if n_shards and choose(n_shards, workers, mode)[0] == PROCESSES:
        return False
    from multiprocessing import forkserver

    pid = _fork_server_pid()
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if pid is None or stop is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # it only imports: no worker forked from it yet
    stop()  # (no public stop: `_stop` closes its pipe, reaps it, forgets it; a later pool starts another)
    return True


def _ensure_fork_server(ctx: multiprocessing.context.BaseContext) -> bool:
    """Start `ctx`'s fork server unless it runs, with SIGINT ignored (see `start_fork_server`); False for a
    context without one."""
    if ctx.get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():  # signal.signal: the main thread only
        forkserver.ensure_running()
        return True
    # An ignored signal stays ignored across exec (a blocked one does not: the spawn resets the mask). Blocked
    # meanwhile in this thread, a Ctrl-C at the launcher during the spawn waits instead of being dropped.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return True


def stop_workers(pool: Executor) -> None:
    """Stop a pool now: worker processes killed (what they half-wrote is discarded by the commit step),
    pending shards cancelled, threads told to stop at their next step."""
    if isinstance(pool, ProcessPoolExecutor):
        procs = list((getattr(pool, "_processes", None) or {}).values())  # no public kill; shutdown clears it
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.join(timeout=5)
    else:  # threads stop at their next sample; wait for them, so nothing writes after the run settles
        cancel_all.set()
        pool.shutdown(wait=True, cancel_futures=True)


def kill_child_processes() -> int:
    """SIGKILL every descendant process of this one (Beam's local workers on an interrupt); Linux /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    todo, killed = [os.getpid()], 0
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def run_shards(shards: Sequence[ShardRef], ctx: IngestContext, mode: str, workers: int) -> None:
    """Ingest (stage) every shard; the launcher's commit loop picks up what they stage. On Ctrl-C / SIGTERM
    (raised in this thread) the workers are stopped before the exception goes on, so nothing keeps writing
    after it."""
    if mode == IN_PROCESS:
        for shard in shards:
            _run_one(shard, ctx)
        return
    cancel_all.clear()
    pool = _executor(mode, workers)
    try:
        for _ in _as_completed(pool, shards, ctx):
            pass
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _as_completed(pool: Executor, shards: Sequence[ShardRef], ctx: IngestContext) -> Iterator[CommitRecord]:
    pending: dict[Future[CommitRecord], ShardRef] = {pool.submit(_run_one, s, ctx): s for s in shards}
    while pending:
        finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)  # wakes up for signals
        for fut in finished:
            shard = pending.pop(fut)
            try:
                yield fut.result()
            except BrokenProcessPool:
                raise WorkerDied(f"a worker process died while ingesting {shard.uri} (killed? out of memory?); "
                                 "the shards committed so far stay, run the same command again for the "
                                 "rest") from None
