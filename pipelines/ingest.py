"""The ingest job: discover shards, take the lake's lease, fan `ingest_shard` out with Beam, finalise.

    shards --Reshuffle--> IngestShard (one shard, one unit of work) --ToList--> FinalizeRun

Beam only orchestrates: every step calls plain functions from `silake` (see `silake.shard_job`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from silake.lake import lease
from silake.lake.layout import RUNS_DIR
from silake.lake.storage import LakeStorage
from silake.metadata.load import load_metadata
from silake.plan import IngestPlan, plan_ingest
from silake.shard_job import IngestContext, ShardReport, ingest_shard

from .progress import CommitWatcher
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
        yield report


@dataclass
class RunSummary:
    """What a run did, written to `ROOT/_runs/<run_id>.json` and printed at the end."""

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

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_shards

    def add(self, report: ShardReport) -> None:
        c = report.commit
        self.shards_processed += 1
        if c.status == "failed":
            self.shards_failed.append(c.shard_uri)
        elif c.status == "truncated":
            self.shards_truncated.append(c.shard_uri)
        self.samples_seen += c.samples_seen
        self.files += c.files_rows
        self.frames += report.frames
        self.quarantined_samples += c.quarantined_samples
        self.bytes_fetched += c.bytes_fetched
        self.shard_bytes += c.size
        if not report.balanced:
            self.unbalanced_shards.append(c.shard_uri)


def finalize_run(summary: RunSummary, reports: Sequence[ShardReport]) -> RunSummary:
    """Last step of a run: account for every shard, record the run, refresh the catalog, drop the lease.

    A run that processed nothing (a scheduled remote run with no new shards) only drops the lease, so it
    changes no file in the lake.
    """
    storage = LakeStorage(summary.lake)
    if reports:
        for report in sorted(reports, key=lambda r: r.commit.shard_uri):
            summary.add(report)
        storage.publish_bytes(json.dumps(asdict(summary), indent=2).encode(),
                              storage.path(RUNS_DIR, f"{summary.run_id}.json"))
        _write_catalog(summary.lake)
    lease.release(storage, summary.run_id)
    return summary


def _write_catalog(lake: str) -> None:
    from silake.query.catalog import write_catalog  # DuckDB only where the catalog is written

    try:
        write_catalog(lake)
    except Exception as exc:  # the lake is complete without it; say so and move on
        log.warning("could not write the DuckDB catalog file: %s", exc)


class FinalizeRunFn(beam.DoFn):
    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def process(self, reports):
        yield finalize_run(self.summary, reports)


def build_pipeline(pipeline: beam.Pipeline, plan: IngestPlan, ctx: IngestContext, summary: RunSummary):
    """Add the ingest transforms to `pipeline`; returns the PCollection holding the run summary."""
    reports = (
        pipeline
        | "Shards" >> beam.Create(list(plan.todo), reshuffle=False)
        | "Distribute" >> beam.Reshuffle()
        | "IngestShard" >> beam.ParDo(IngestShardFn(ctx))
    )
    return reports | "Collect" >> beam.combiners.ToList() | "FinalizeRun" >> beam.ParDo(FinalizeRunFn(summary))


def _metric_totals(result) -> dict[str, int]:
    totals: dict[str, int] = {}
    try:
        for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
            value = counter.committed if counter.committed is not None else counter.attempted
            totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + int(value or 0)
    except Exception as exc:  # some runners do not report metrics; the lake's commit rows still do
        log.warning("Beam metrics unavailable: %s", exc)
    return totals


def run_pipeline(sources: Sequence[str], lake: str, *, metadata: str | None = None,
                 runner: str = "FnApiRunner", workers: int | None = None, full_refresh: bool = False,
                 progress: bool = False, wait: bool = True, beam_args: Sequence[str] = ()
                 ) -> tuple[RunSummary, dict[str, int]]:
    """Run one ingest; returns the run summary and the Beam metric totals.

    Local runs always wait. A remote run (Dataflow) returns right after submission unless `wait`; its last
    step still records the run and releases the lease.
    """
    storage = LakeStorage(lake)
    run_id = new_run_id()
    plan = plan_ingest(sources, storage.uri, metadata=metadata, full_refresh=full_refresh)
    summary = RunSummary(run_id, storage.uri, len(plan.shards), plan.skipped)
    lease.acquire(storage, run_id)
    try:
        meta = load_metadata(plan.metadata_uris, storage)
        summary.metadata_rejected_rows = meta.rejected_rows
        if not plan.todo and is_local(runner):  # nothing to do; a remote launch still submits a (tiny) job
            lease.release(storage, run_id)
            return summary, {}
        ctx = IngestContext(storage.uri, run_id, meta.index)
        if is_local(runner):  # no more worker processes than shards: each one costs a Beam import (~6 s CPU)
            workers = max(1, min(workers or os.cpu_count() or 1, len(plan.todo)))
        runner_obj, options = make_runner(runner, workers, beam_args)
        pipeline = beam.Pipeline(runner=runner_obj, options=options)
        build_pipeline(pipeline, plan, ctx, summary)
        watch = CommitWatcher(storage, run_id, len(plan.todo)) if progress else contextlib.nullcontext()
        with watch:
            result = pipeline.run()
            if not is_local(runner) and not wait:
                log.info("submitted run %s to %s; not waiting", run_id, runner)
                return summary, {}
            result.wait_until_finish()
    except BaseException:
        lease.release(storage, run_id)
        raise
    totals = _metric_totals(result)
    if not plan.todo:
        return summary, totals
    # The pipeline's last step wrote the run record; read it back for the caller.
    recorded = json.loads(storage.read_bytes(storage.path(RUNS_DIR, f"{run_id}.json")))
    return RunSummary(**recorded), totals


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
    if summary.metadata_rejected_rows:
        lines.append(f"  metadata rows rejected: {summary.metadata_rejected_rows} (see the quarantine table)")
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
            args.sources, args.lake, metadata=args.metadata, runner=args.runner, workers=args.workers,
            full_refresh=args.full_refresh, progress=not args.no_progress and sys.stderr.isatty(),
            wait=args.wait, beam_args=beam_args,
        )
    except lease.LeaseHeld as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 3
    except (OSError, ValueError) as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 2
    if not is_local(args.runner) and not args.wait:
        todo = summary.shards_total - summary.shards_skipped
        print(f"submitted run {summary.run_id} to {args.runner}: {todo} shards to ingest, "
              f"{summary.shards_skipped} already committed; watch it with:\n  silake query --lake {summary.lake} "
              f"\"select status, count(*) from ingest_shards where run_id = '{summary.run_id}' group by all\"")
        return 0
    print(format_summary(summary, totals))
    if not summary.balanced:
        return 4
    return 1 if summary.shards_failed else 0
