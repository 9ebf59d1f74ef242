"""Shards on a Dask cluster: one task per shard, the same unit of work as every runner.

    silake ingest SOURCE --lake ROOT --runner dask                          # a LocalCluster on this machine
    silake ingest SOURCE --lake ROOT --runner dask --dask-scheduler tcp://HOST:8786   # an existing cluster

Each shard is one `client.submit(ingest_shard, ...)` task; the launcher's commit loop commits what the
workers stage, exactly as with local workers or Beam, so progress, the run summary, Ctrl-C and recovery
behave the same. A worker that dies mid-shard (killed, out of memory) is restarted by its nanny and the
scheduler runs the shard again elsewhere: the dead attempt never staged a manifest, so the commit step
discards what it wrote. Workers must reach the sources and the lake root by the same URIs as the launcher
(object storage, or a filesystem every node mounts) and run the same silake.

One shard per worker thread: the tasks go to the scheduler in one graph, so Dask counts them as root tasks
and holds back those no thread is free for (its queuing), and the LocalCluster silake starts sends a worker
no more than it has threads (`worker-saturation` 1.0; Dask's default 1.1 rounds up to two shards for a
single-threaded worker, and the second could wait behind a long first one while another worker idles). On
a cluster of your own, set `distributed.scheduler.worker-saturation: 1.0` in the scheduler's configuration
for the same; an adaptive cluster (dask-jobqueue on SLURM) sees the held-back shards and scales to them.

Why not Beam's DaskRunner: it translates the pipeline into dask.bag partitions, reports no metrics, and
adds Beam's start-up to every worker; a task per shard is what the work already is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from silake.lake.commit import CommitRecord
from silake.shard_job import IngestContext, ingest_shard
from silake.sources.shards import ShardRef

if TYPE_CHECKING:
    from dask.distributed import Client, Future, LocalCluster

log = logging.getLogger(__name__)

#: Times the scheduler may run a shard again after its worker died (Dask's own `allowed-failures` also applies).
TASK_RETRIES = 2
#: Tasks a worker of silake's LocalCluster holds per thread (Dask's `distributed.scheduler.worker-saturation`).
WORKER_SATURATION = 1.0


class DaskUnavailable(RuntimeError):
    """`--runner dask` without dask.distributed installed."""


def _run_one(shard: ShardRef, ctx: IngestContext) -> CommitRecord:
    return ingest_shard(shard, ctx).commit


def run_shards_on_dask(shards: Sequence[ShardRef], ctx: IngestContext, scheduler: str | None,
                       workers: int | None) -> None:
    """Stage every shard on a Dask cluster. Without a scheduler address, a LocalCluster of
    `cluster_size(workers, len(shards))` single-threaded worker processes on loopback."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise DaskUnavailable("--runner dask needs dask.distributed: pip install 'silake[dask]'") from None
    logging.getLogger("distributed").setLevel(logging.WARNING)  # cluster chatter stays out of the summary
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = local_cluster(cluster_size(workers, len(shards)))
        client = Client(cluster)
    futures = []
    try:
        futures = submit_in_order(client, _run_one, shards, [shard_task_key(ctx.run_id, i, s) for i, s in
                                                             enumerate(shards)], ctx=ctx)
        for future in as_completed(futures):
            future.result()  # ingest_shard records bad data itself; this raises only for a lost shard
    except BaseException:
        client.cancel(futures, force=True)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def cluster_size(workers: int | None, n_shards: int) -> int:
    """Worker processes of silake's LocalCluster: `workers` (default: all cores), never more than shards."""
    return max(1, min(workers or os.cpu_count() or 1, n_shards))


def describe_cluster(scheduler: str | None, workers: int | None, n_shards: int) -> str:
    """Where the shards run, for the run summary."""
    return f"dask ({scheduler})" if scheduler else f"dask LocalCluster ({cluster_size(workers, n_shards)})"


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster of `workers` single-threaded worker processes on loopback that hold one task each."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None, silence_logs=logging.WARNING)


def shard_task_key(run_id: str, index: int, shard: ShardRef) -> str:
    """A shard's task key: unique (Dask runs one task per key, and a shard key repeats across label and
    split), and sorting in the run's order (the index is zero-padded)."""
    return f"silake-{run_id}-{index:06d}-{shard.label}-{shard.split}-{shard.shard_key}"


def submit_in_order(client: Client, fn: Callable[..., Any], items: Sequence[Any], keys: Sequence[str],
                    **kwargs: Any) -> list[Future]:
    """Submit `fn(item, **kwargs)` for every item in one graph (so the scheduler sees them all at once, as
    root tasks it may queue), taken in the items' order, each retried `TASK_RETRIES` times."""
    return client.map(fn, items, key=list(keys), retries=TASK_RETRIES, pure=False, **kwargs)
