"""The ingest as a Beam pipeline, for Beam's runners (Dataflow, Beam's local FnApiRunner, ...).

    shards --Reshuffle--> IngestShard (one shard: write its data files, stage them)
                          [runs that do not wait: --ToList--> FinalizeRun (commit, release the lease)]

Workers never touch the catalog: they stage each finished shard (`silake.lake.staging`), and the launcher
commits the staged shards in batches while they come (`silake.commit_loop`). A run whose launcher does not wait (a
scheduled Dataflow job) commits in its last step instead. Beam only orchestrates: every step calls plain
functions from `silake` (`silake.ingest` is the run itself).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from silake import signals
from silake.ingest import finalize
from silake.ingest_plan import IngestPlan
from silake.lake import lease
from silake.lake.catalog import Lake
from silake.lake.committer import Committer
from silake.lake.session import CatalogWriter
from silake.local_run import kill_child_processes
from silake.shard_job import IngestContext, ingest_shard

from .runners import is_beam_local, make_runner

log = logging.getLogger(__name__)
NAMESPACE = "silake"
COUNTERS = ("shards", "shards_failed", "shards_truncated", "samples_seen", "files", "frames",
            "quarantined_samples", "bytes_fetched", "shard_bytes")


class IngestShardFn(beam.DoFn):
    """Runs `ingest_shard` on each shard and counts what it did in Beam metrics."""

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx

    def setup(self) -> None:
        self.counters = {name: Metrics.counter(NAMESPACE, name) for name in COUNTERS}

    def process(self, shard):
        report = ingest_shard(shard, self.ctx)
        c = report.commit
        for name, value in (("shards", 1), ("shards_failed", c.status == "failed"),
                            ("shards_truncated", c.status == "truncated"), ("samples_seen", c.samples_seen),
                            ("files", c.files_rows), ("frames", report.frames),
                            ("quarantined_samples", c.quarantined_samples), ("bytes_fetched", c.bytes_fetched),
                            ("shard_bytes", c.size)):
            self.counters[name].inc(int(value))
        yield c.shard_key


class FinalizeRunFn(beam.DoFn):
    """Last step of a run whose launcher does not wait: commit everything staged, release the lease. Its
    commits are fenced by the launcher's lease: if another run took the lake over meanwhile, nothing commits."""

    def __init__(self, lake: Lake, held: lease.Lease) -> None:
        self.lake, self.lease = lake, held

    def process(self, _keys):
        storage = self.lake.storage
        try:
            with CatalogWriter(self.lake, fence=self.lease, own_sql_only=True) as writer:
                committer = Committer(writer, self.lease.run_id, check=lambda: lease.verify(storage, self.lease))
                finalize(committer)
                yield len(committer.committed)
        finally:
            lease.release(storage, self.lease)


def build_pipeline(pipeline: beam.Pipeline, plan: IngestPlan, ctx: IngestContext, *,
                   finalize_in_pipeline: Lake | None = None):
    """Add the ingest transforms to `pipeline`."""
    keys = (
        pipeline
        | "Shards" >> beam.Create(list(plan.todo), reshuffle=False)
        | "Distribute" >> beam.Reshuffle()
        | "IngestShard" >> beam.ParDo(IngestShardFn(ctx))
    )
    if finalize_in_pipeline is None:
        return keys
    assert ctx.lease is not None, "a run that commits in the pipeline needs its lease"
    return (keys | "Collect" >> beam.combiners.ToList()
            | "FinalizeRun" >> beam.ParDo(FinalizeRunFn(finalize_in_pipeline, ctx.lease)))


def metric_totals(result) -> dict[str, int]:
    totals: dict[str, int] = {}
    try:
        for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
            value = counter.committed if counter.committed is not None else counter.attempted
            totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + int(value or 0)
    except Exception as exc:  # some runners do not report metrics; the lake's commit rows still do
        log.warning("Beam metrics unavailable: %s", exc)
    return {k: totals[k] for k in COUNTERS if k in totals}


def run_beam(plan: IngestPlan, ctx: IngestContext, target: Lake, *, runner: str, workers: int | None, wait: bool,
             beam_args: Sequence[str] = ()) -> tuple[bool, dict[str, int]]:
    """Run the plan's shards on a Beam runner while the launcher's commit loop commits them.

    Returns (handed over, metric totals): a remote run that does not wait is handed over to its last step,
    which commits and releases the lease. On Ctrl-C / SIGTERM, Beam's local worker processes are killed
    before the interruption goes on (Beam's own shutdown takes minutes).
    """
    launcher_commits = is_beam_local(runner) or wait
    if is_beam_local(runner):  # no more worker processes than shards: each one costs a Beam import
        workers = max(1, min(workers or os.cpu_count() or 1, len(plan.todo)))
    runner_obj, options = make_runner(runner, workers, beam_args)
    pipeline = beam.Pipeline(runner=runner_obj, options=options)
    build_pipeline(pipeline, plan, ctx, finalize_in_pipeline=None if launcher_commits else target)
    try:
        result = pipeline.run()
        if not launcher_commits:
            return True, {}
        result.wait_until_finish()
    except BaseException as exc:
        if is_beam_local(runner):
            kill_child_processes()
        if isinstance(exc, Exception) and signals.as_interruption(exc) is None:
            from silake.lake.session import first_line
            from silake.local_run import WorkerDied

            raise WorkerDied(f"a worker failed: {first_line(exc)}") from exc  # Beam's wrapper, one line
        raise
    return False, metric_totals(result)
