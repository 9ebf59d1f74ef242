"""Shards on a Dask cluster: one task per shard, the same unit of work as every runner.

    silake ingest SOURCE --lake ROOT --runner dask                          # a LocalCluster on this machine
    silake ingest SOURCE --lake ROOT --runner dask --dask-scheduler tcp://HOST:8786   # an existing cluster

Each shard is one `client.submit(ingest_shard, ...)` task; the launcher's commit loop commits what the
workers stage, exactly as with local workers or Beam, so progress, the run summary, Ctrl-C and recovery
behave the same. A worker that dies mid-shard (killed, out of memory) is restarted by its nanny and the
scheduler runs the shard again elsewhere: the dead attempt never staged a manifest, so the commit step
discards what it wrote. Workers must reach the sources and the lake root by the same URIs as the launcher
(object storage, or a filesystem every node mounts) and run the same silake.

Why not Beam's DaskRunner: it translates the pipeline into dask.bag partitions, reports no metrics, and
adds Beam's start-up to every worker; a task per shard is what the work already is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from silake.lake.commit import CommitRecord
from silake.shard_job import IngestContext, ingest_shard
from silake.sources.shards import ShardRef

log = logging.getLogger(__name__)

#: Times the scheduler may run a shard again after its worker died (Dask's own `allowed-failures` also applies).
TASK_RETRIES = 2


class DaskUnavailable(RuntimeError):
    """`--runner dask` without dask.distributed installed."""


def _run_one(shard: ShardRef, ctx: IngestContext) -> CommitRecord:
    return ingest_shard(shard, ctx).commit


def run_shards_on_dask(shards: Sequence[ShardRef], ctx: IngestContext, scheduler: str | None,
                       workers: int | None) -> str:
    """Stage every shard on a Dask cluster; returns how it ran (for the run summary). Without a scheduler
    address, a LocalCluster of `workers` single-threaded worker processes on loopback (default: all cores)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise DaskUnavailable("--runner dask needs dask.distributed: pip install 'silake[dask]'") from None
    logging.getLogger("distributed").setLevel(logging.WARNING)  # cluster chatter stays out of the summary
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
        mode = f"dask ({scheduler})"
    else:
        n = max(1, min(workers or os.cpu_count() or 1, len(shards)))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.WARNING)
        client = Client(cluster)
        mode = f"dask LocalCluster ({n})"
    futures = []
    try:  # task keys must be unique: Dask runs one task per key (a shard key repeats across label/split)
        futures = [client.submit(_run_one, shard, ctx, key=f"silake-{ctx.run_id}-{i}-{shard.label}-{shard.split}-"
                                 f"{shard.shard_key}", retries=TASK_RETRIES, pure=False)
                   for i, shard in enumerate(shards)]
        for future in as_completed(futures):
            future.result()  # ingest_shard records bad data itself; this raises only for a lost shard
    except BaseException:
        client.cancel(futures, force=True)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return mode
