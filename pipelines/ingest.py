"""The ingest job: discover shards, take the lake's lease, fan `ingest_shard` out with Beam, commit.

    shards --Reshuffle--> IngestShard (one shard: write its data files, stage them)
                          [remote runs that do not wait: --ToList--> FinalizeRun (commit, release the lease)]

Workers never touch the catalog: they stage each finished shard (`silake.lake.staging`), and the launcher
commits the staged shards as they come (`silake.commit_loop`), one catalog transaction per batch. A run
whose launcher does not wait (a scheduled Dataflow job) commits in its last step instead. Beam only
orchestrates: every step calls plain functions from `silake`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from silake.commit_loop import CommitLoop
from silake.lake import lease
from silake.lake.catalog import Lake, LakeError, locate_lake
from silake.lake.commit import CommitRecord, committed_versions
from silake.lake.committer import Committer
from silake.lake.maintenance import maybe_compact
from silake.lake.release_tables import commit_release_tables
from silake.lake.session import CatalogWriter
from silake.metadata.load import load_metadata
from silake.plan import IngestPlan, discover, plan_ingest
from silake.shard_job import IngestContext, ingest_shard

from .runners import is_local, make_runner

log = logging.getLogger(__name__)
NAMESPACE = "silake"
COUNTERS = ("shards", "shards_failed", "shards_truncated", "samples_seen", "files", "frames",
            "quarantined_samples", "bytes_fetched", "shard_bytes")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


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


@dataclass
class RunSummary:
    """What a run did, computed from the shards it committed."""

    run_id: str
    lake: str
    shards_total: int
    shards_skipped: int
    shards_processed: int = 0
    shards_failed: list[str] = field(default_factory=list)
    shards_truncated: list[str] = field(default_factory=list)
    samples_seen: int = 0
    files: int = 0
    frames: int = 0
    quarantined_samples: int = 0
    bytes_fetched: int = 0
    shard_bytes: int = 0
    unbalanced_shards: list[str] = field(default_factory=list)  # samples seen != files + quarantined
    metadata_rejected_rows: int = 0
    metadata_tables_written: list[str] = field(default_factory=list)
    shards_recovered: int = 0  # staged by a killed run and committed by this one
    snapshots: list[int] = field(default_factory=list)
    compacted: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_shards

    def add(self, c: CommitRecord) -> None:
        self.shards_processed += 1
        if c.status == "failed":
            self.shards_failed.append(c.shard_uri)
        elif c.status == "truncated":
            self.shards_truncated.append(c.shard_uri)
        self.samples_seen += c.samples_seen
        self.files += c.files_rows
        self.frames += c.table_rows.get("frames", 0)
        self.quarantined_samples += c.quarantined_samples
        self.bytes_fetched += c.bytes_fetched
        self.shard_bytes += c.size
        if not c.balanced:
            self.unbalanced_shards.append(c.shard_uri)


def finalize(writer: CatalogWriter, committer: Committer) -> dict[str, tuple[int, int]]:
    """After the workers: commit what is left, compact when the small tables need it, refresh the views."""
    from silake.query.views import publish_views  # DuckDB views only where the catalog is written

    committer.finish()
    compacted = maybe_compact(writer) or {}
    publish_views(writer)
    return compacted


class FinalizeRunFn(beam.DoFn):
    """Last step of a run whose launcher does not wait: commit everything staged, release the lease."""

    def __init__(self, lake: Lake, run_id: str) -> None:
        self.lake, self.run_id = lake, run_id

    def process(self, _keys):
        storage = self.lake.storage
        try:
            with CatalogWriter(self.lake) as writer:
                committer = Committer(writer, self.run_id, check=lambda: lease.verify(storage, self.run_id))
                finalize(writer, committer)
                yield len(committer.committed)
        finally:
            lease.release(storage, self.run_id)


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
    return (keys | "Collect" >> beam.combiners.ToList()
            | "FinalizeRun" >> beam.ParDo(FinalizeRunFn(finalize_in_pipeline, ctx.run_id)))


def _metric_totals(result) -> dict[str, int]:
    totals: dict[str, int] = {}
    try:
        for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
            value = counter.committed if counter.committed is not None else counter.attempted
            totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + int(value or 0)
    except Exception as exc:  # some runners do not report metrics; the lake's commit rows still do
        log.warning("Beam metrics unavailable: %s", exc)
    return totals


def run_pipeline(sources: Sequence[str], lake: str, *, catalog: str | None = None, metadata: str | None = None,
                 runner: str = "FnApiRunner", workers: int | None = None, full_refresh: bool = False,
                 progress: bool = False, wait: bool = True, beam_args: Sequence[str] = ()
                 ) -> tuple[RunSummary, dict[str, int]]:
    """Run one ingest; returns the run summary and the Beam metric totals.

    Local runs always wait. A remote run (Dataflow) returns right after submission unless `wait`; its last
    step then commits and releases the lease.
    """
    found = discover(sources, metadata=metadata)  # the sources are listed before the lake is touched
    target = locate_lake(lake, catalog, must_exist=False)
    storage = target.storage
    run_id = new_run_id()
    lease.acquire(storage, run_id)
    handed_over = False
    try:
        with CatalogWriter(target) as writer:
            committer = Committer(writer, run_id, check=lambda: lease.verify(storage, run_id))
            recovered, _ = committer.recover()
            meta = load_metadata(found.metadata_uris)
            written = commit_release_tables(writer, meta.arrow_tables(), meta.quarantine(), run_id=run_id)
            assert writer.con is not None
            plan = plan_ingest(found.shards, committed_versions(writer.con), full_refresh=full_refresh)
            summary = RunSummary(run_id, target.root, len(plan.shards), plan.skipped,
                                 metadata_rejected_rows=meta.rejected_rows, metadata_tables_written=written,
                                 shards_recovered=recovered)
            if not plan.todo and is_local(runner):  # nothing to do; a remote launch still submits a (tiny) job
                summary.compacted = finalize(writer, committer)
                summary.snapshots = committer.snapshots
                return summary, {}
            ctx = IngestContext(target.root, run_id, meta.index)
            if is_local(runner):  # no more worker processes than shards: each one costs a Beam import
                workers = max(1, min(workers or os.cpu_count() or 1, len(plan.todo)))
            runner_obj, options = make_runner(runner, workers, beam_args)
            pipeline = beam.Pipeline(runner=runner_obj, options=options)
            launcher_commits = is_local(runner) or wait
            build_pipeline(pipeline, plan, ctx, finalize_in_pipeline=None if launcher_commits else target)
            if not launcher_commits:
                pipeline.run()
                handed_over = True  # the job's last step commits and releases the lease
                log.info("submitted run %s to %s; not waiting", run_id, runner)
                return summary, {}
            interval = float(os.environ.get("SILAKE_COMMIT_INTERVAL", "1.0"))
            with CommitLoop(committer, len(plan.todo), progress=progress, interval=interval) as loop:
                result = pipeline.run()
                result.wait_until_finish()
            if loop.error is not None:
                raise loop.error
            summary.compacted = finalize(writer, committer)
            summary.snapshots = committer.snapshots
            for record in sorted(committer.committed, key=lambda r: r.shard_uri):
                summary.add(record)
    finally:
        if not handed_over:
            lease.release(storage, run_id)
    return summary, _metric_totals(result)


def format_summary(summary: RunSummary, totals: dict[str, int]) -> str:
    fetched = summary.bytes_fetched / summary.shard_bytes if summary.shard_bytes else 0.0
    lines = [
        f"run {summary.run_id} -> {summary.lake}",
        f"  shards: {summary.shards_processed} processed, {summary.shards_skipped} already committed "
        f"(unchanged), {len(summary.shards_failed)} failed, {len(summary.shards_truncated)} truncated",
        f"  samples: {summary.samples_seen} seen = {summary.files} files + {summary.quarantined_samples} "
        f"quarantined ({'balanced' if summary.balanced else 'UNBALANCED: ' + ', '.join(summary.unbalanced_shards)})",
        f"  frames: {summary.frames}",
        f"  bytes fetched: {summary.bytes_fetched:,} of {summary.shard_bytes:,} shard bytes ({fetched:.1%})",
    ]
    if summary.snapshots:
        first, last = summary.snapshots[0], summary.snapshots[-1]
        lines.append(f"  snapshots: {first}" + (f"-{last}" if last != first else "")
                     + f" ({len(summary.snapshots)} commit{'s' if len(summary.snapshots) != 1 else ''})")
    if summary.shards_recovered:
        lines.append(f"  recovered: {summary.shards_recovered} shards staged by an interrupted run, committed")
    if summary.metadata_tables_written:
        lines.append(f"  metadata tables written: {', '.join(summary.metadata_tables_written)}")
    if summary.metadata_rejected_rows:
        lines.append(f"  metadata rows rejected: {summary.metadata_rejected_rows} (see the quarantine table)")
    if summary.compacted:
        moved = ", ".join(f"{t} {a}->{b}" for t, (a, b) in summary.compacted.items() if a != b)
        lines.append(f"  compacted: {moved or 'nothing to merge'}")
    if totals:
        lines.append("  beam metrics: " + ", ".join(f"{k}={totals[k]}" for k in COUNTERS if k in totals))
    for uri in summary.shards_failed:
        lines.append(f"  FAILED (retried next run): {uri}")
    return "\n".join(lines)


def run_ingest(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    """`silake ingest` entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("apache_beam").setLevel(logging.ERROR)  # relayed worker notices; ours stay visible
    try:
        summary, totals = run_pipeline(
            args.sources, args.lake, catalog=args.catalog, metadata=args.metadata, runner=args.runner,
            workers=args.workers, full_refresh=args.full_refresh,
            progress=not args.no_progress and sys.stderr.isatty(), wait=args.wait, beam_args=beam_args,
        )
    except (lease.LeaseHeld, lease.LeaseLost) as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 3
    except (OSError, ValueError, LakeError) as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 2
    if not is_local(args.runner) and not args.wait:
        todo = summary.shards_total - summary.shards_skipped
        print(f"submitted run {summary.run_id} to {args.runner}: {todo} shards to ingest, "
              f"{summary.shards_skipped} already committed; watch it with:\n  silake snapshots --lake "
              f"{summary.lake}")
        return 0
    print(format_summary(summary, totals))
    if not summary.balanced:
        return 4
    return 1 if summary.shards_failed else 0
