"""An ingest run: list the sources, take the lake's lease, stage the shards, commit them, report.

    discover (sources only) -> lease (the metadata CSVs then parse on their own thread) -> recover what a
    killed run staged -> metadata (waited for) -> plan
    -> shards staged by workers (this machine: silake.local_run; a cluster: Beam or Dask) while the
       launcher's commit thread stores the views and the metadata tables, then commits finished shards
    -> finalize (the rest committed, small tables compacted) -> lease released

Beam is imported only when a Beam runner runs shards (`silake.pipelines.ingest`); bad input and no-op runs
never pay for it. Ctrl-C or SIGTERM stops the workers, commits what they finished, removes what they had
half-written, releases the lease and ends with one line (exit 130 / 143).
"""

from __future__ import annotations

import logging
import sys
import uuid
from argparse import Namespace
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from silake import signals, tempfiles
from silake.commit_loop import CommitLoop
from silake.ingest_plan import IngestPlan, Sources, discover, plan_ingest
from silake.lake import lease
from silake.lake.catalog import Lake, LakeError, locate_lake
from silake.lake.commit import committed_versions
from silake.lake.committer import Committer
from silake.lake.release_tables import commit_release_tables
from silake.lake.session import CatalogWriter, first_line
from silake.lake.storage import LakeStorage
from silake.metadata.load import BackgroundLoad, MetadataLoad
from silake.schemas.release import METADATA_FILES
from silake.settings import current
from silake.shard_job import IngestContext

log = logging.getLogger(__name__)

LOCAL_RUNNERS = {"local": None, "in-process": "in-process", "threads": "threads", "processes": "processes"}
BEAM_LOCAL_RUNNERS = frozenset({"fnapirunner", "directrunner", "direct"})
DASK_RUNNER = "dask"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def is_local(runner: str) -> bool:
    """The launcher waits for the shards (on this machine, or on a Dask cluster it drives)."""
    return runner in LOCAL_RUNNERS or runner == DASK_RUNNER or runner.lower() in BEAM_LOCAL_RUNNERS


@dataclass(frozen=True)
class RunSummary:
    """What a run did: computed once, by the launcher at the end of the run (`of`), from the commit records
    of the shards this run committed (its `ingest_shards` rows) and what the launcher did before them."""

    run_id: str
    lake: str
    shards_total: int
    shards_skipped: int
    shards_processed: int
    shards_failed: tuple[str, ...]
    shards_truncated: tuple[str, ...]
    samples_seen: int
    files: int
    frames: int
    quarantined_samples: int
    bytes_fetched: int
    shard_bytes: int
    unbalanced_shards: tuple[str, ...]  # samples seen != files + quarantined
    metadata_rejected_rows: int
    metadata_tables_written: tuple[str, ...]
    metadata_missing: tuple[str, ...]  # CSVs not found next to the sources
    shards_recovered: int  # staged by a killed run and committed by this one
    snapshots: tuple[int, ...]
    compacted: dict[str, tuple[int, int]]
    mode: str  # how the shards ran: in-process, processes (N), DataflowRunner, ...

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_shards

    @property
    def shards_left(self) -> int:
        return self.shards_total - self.shards_skipped - self.shards_processed

    @classmethod
    def of(cls, run_id: str, lake: str, found: Sources, plan: IngestPlan, committer: Committer, *,
           recovered: int, meta: MetadataLoad, tables_written: Sequence[str],
           compacted: dict[str, tuple[int, int]], mode: str) -> RunSummary:
        commits = sorted(committer.committed, key=lambda c: c.shard_uri)
        return cls(
            run_id=run_id, lake=lake, shards_total=len(found.shards), shards_skipped=plan.skipped,
            shards_processed=len(commits),
            shards_failed=tuple(c.shard_uri for c in commits if c.status == "failed"),
            shards_truncated=tuple(c.shard_uri for c in commits if c.status == "truncated"),
            samples_seen=sum(c.samples_seen for c in commits),
            files=sum(c.files_rows for c in commits),
            frames=sum(c.table_rows.get("frames", 0) for c in commits),
            quarantined_samples=sum(c.quarantined_samples for c in commits),
            bytes_fetched=sum(c.bytes_fetched for c in commits),
            shard_bytes=sum(c.size for c in commits),
            unbalanced_shards=tuple(c.shard_uri for c in commits if not c.balanced),
            metadata_rejected_rows=meta.rejected_rows,
            metadata_tables_written=tuple(tables_written),
            metadata_missing=tuple(f for n, f in METADATA_FILES.items() if n not in found.metadata_uris),
            shards_recovered=recovered, snapshots=tuple(committer.snapshots), compacted=compacted, mode=mode,
        )


class IngestInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run; the shards committed before it stay."""

    def __init__(self, summary: RunSummary, cause: BaseException) -> None:
        self.summary, self.exit_code = summary, signals.exit_code(cause)
        super().__init__(f"interrupted: {summary.shards_processed} shards committed, {summary.shards_left} left; "
                         "run the same command again to continue")


def prepare_lake(writer: CatalogWriter, meta: MetadataLoad, run_id: str, *, shards_follow: bool = False
                 ) -> list[str]:
    """The catalog work of a run that needs no shard: the SQL layer's views (first, so each data commit's QA
    refresh runs under the views it stores) and the release-wide tables (returns those that changed); with
    `shards_follow`, also the session of the shards' commits (their QA refresh), while the shards run."""
    from silake.query.views import publish_views

    publish_views(writer)
    written = commit_release_tables(writer, meta.arrow_tables(), meta.quarantine(), run_id=run_id)
    if shards_follow:
        writer.prepare_derive()  # ~0.1-0.2 s: else the run's last commit pays it, after the shards
    return written


def finalize(committer: Committer, *, interrupted: bool = False
             ) -> dict[str, tuple[int, int]]:
    """After the workers: commit what is left, drop what never finished; then (unless interrupted, where
    every second counts) compact the small tables when they need it - every commit checks after itself, so
    only a run that committed nothing checks here. Returns what the run compacted. (The views were stored
    before the shards, by `prepare_lake`.)"""
    committer.finish()
    if not interrupted and not committer.snapshots:
        committer.compact_if_needed()
    return committer.compacted


def run(sources: Sequence[str], lake: str, *, catalog: str | None = None, metadata: str | None = None,
        runner: str = "local", workers: int | None = None, full_refresh: bool = False, progress: bool = False,
        wait: bool = True, beam_args: Sequence[str] = (), dask_scheduler: str | None = None
        ) -> tuple[RunSummary, dict[str, int]]:
    """Run one ingest; returns the run summary and the Beam metric totals (empty without Beam).

    Local runs always wait. A remote run (Dataflow) returns right after submission unless `wait`; its last
    step then commits and releases the lease. Raises IngestInterrupted on Ctrl-C / SIGTERM. The settings
    are resolved once, here: the workers get what they need of them in the IngestContext.
    """
    settings = current()
    found = discover(sources, metadata=metadata)  # the sources are listed before the lake is touched
    forked_ahead = False
    if runner in LOCAL_RUNNERS:  # worker processes get ready while the catalog opens
        from silake.local_run import start_fork_server

        forked_ahead = start_fork_server(len(found.shards), workers, LOCAL_RUNNERS[runner])
    tempfiles.sweep()  # what killed runs on this host left in the temp dir
    target = locate_lake(lake, catalog, must_exist=False)
    storage = target.storage
    run_id = new_run_id()
    detached = not wait and not is_local(runner)  # the launcher exits: nobody renews the lease
    held = lease.acquire(storage, run_id, lease.DETACHED_TTL if detached else None)
    metadata_load = BackgroundLoad(found.metadata_uris, settings.metadata_limits())  # while the catalog opens
    handed_over = False
    totals: dict[str, int] = {}
    compacted: dict[str, tuple[int, int]] = {}
    mode = ""
    interrupted: BaseException | None = None
    try:
        with CatalogWriter(target, own_sql_only=True) as writer, lease.Heartbeat(storage, held, enabled=not detached):
            writer.fence_with(held)
            committer = Committer(writer, run_id, check=lambda: lease.verify(storage, held),
                                  policy=settings.commit_policy())
            recovered, _ = committer.recover()
            meta = metadata_load.result()
            assert writer.con is not None
            plan = plan_ingest(found.shards, committed_versions(writer.con), full_refresh=full_refresh)
            if forked_ahead:  # stopped if the plan has no work for worker processes after all
                from silake.local_run import settle_fork_server

                settle_fork_server(len(plan.todo), workers, LOCAL_RUNNERS[runner])
            if not plan.todo and is_local(runner):  # nothing to do; a remote launch still submits a (tiny) job
                written = prepare_lake(writer, meta, run_id)
                compacted = finalize(committer)
            else:
                writer.claim()  # from here on, a run that held the lake before cannot commit
                ctx = IngestContext(target.root, run_id, meta.index, caps=settings.caps(),
                                    reads=settings.read_limits(), access=settings.source_access(), lease=held)
                # the commit thread stores the views and the release tables while the first shards run
                with CommitLoop(committer, len(plan.todo), progress=progress and is_local(runner),
                                interval=settings.commit_interval,
                                first=lambda: prepare_lake(writer, meta, run_id, shards_follow=not detached)) as loop:
                    mode = _describe_runner(runner, len(plan.todo), workers, dask_scheduler)  # interrupted too
                    try:
                        handed_over, totals = _run_shards(plan, ctx, target, runner, workers, wait, beam_args,
                                                          dask_scheduler)
                    except BaseException as exc:
                        interrupted = signals.as_interruption(exc)
                        if interrupted is None:
                            raise
                written = loop.first_result or []
                if handed_over:
                    log.info("submitted run %s to %s; not waiting", run_id, runner)
                if loop.error is not None and interrupted is None:
                    raise loop.error
                if not handed_over:
                    compacted = finalize(committer, interrupted=interrupted is not None)
            summary = RunSummary.of(run_id, target.root, found, plan, committer, recovered=recovered, meta=meta,
                                    tables_written=written, compacted=compacted, mode=mode)
            if interrupted is not None:
                raise IngestInterrupted(summary, interrupted)
    except Exception as exc:
        if not isinstance(exc, (lease.LeaseLost, IngestInterrupted)):
            _raise_if_lost(storage, held, exc)  # a newer run took the lake: that is the cause, not what broke
        raise
    finally:
        metadata_load.settle()  # an early failure: not left parsing while the interpreter shuts down
        if not handed_over:
            lease.release(storage, held)
    return summary, totals


def _raise_if_lost(storage: LakeStorage, held: lease.Lease, exc: BaseException) -> None:
    """Raise LeaseLost (from `exc`) if this run's lease was taken over: a run that lost the lake fails in
    whatever it touches next (files the new holder's recovery removed), and the lease is why."""
    try:
        lease.verify(storage, held)
    except lease.LeaseLost as lost:
        raise lost from exc
    except Exception:
        return


def _run_shards(plan: IngestPlan, ctx: IngestContext, target: Lake, runner: str, workers: int | None, wait: bool,
                beam_args: Sequence[str], dask_scheduler: str | None = None) -> tuple[bool, dict[str, int]]:
    """Stage every shard of the plan on the runner; (handed over to a job that commits itself, metrics)."""
    if runner == DASK_RUNNER:
        from silake.dask_run import run_shards_on_dask

        run_shards_on_dask(plan.todo, ctx, dask_scheduler, workers)
        return False, {}
    if runner in LOCAL_RUNNERS:
        from silake.local_run import choose, run_shards

        run_shards(plan.todo, ctx, *choose(len(plan.todo), workers, LOCAL_RUNNERS[runner]))
        return False, {}
    from silake.pipelines.ingest import run_beam  # Beam only for a Beam runner

    return run_beam(plan, ctx, target, runner=runner, workers=workers, wait=wait, beam_args=beam_args)


def _describe_runner(runner: str, n_shards: int, workers: int | None, dask_scheduler: str | None) -> str:
    """How the shards run, for the run summary: in-process, processes (N), dask LocalCluster (N), a Beam
    runner's name."""
    if runner == DASK_RUNNER:
        from silake.dask_run import describe_cluster

        return describe_cluster(dask_scheduler, workers, n_shards)
    if runner in LOCAL_RUNNERS:
        from silake.local_run import choose

        mode, n = choose(n_shards, workers, LOCAL_RUNNERS[runner])
        return mode if n == 1 else f"{mode} ({n})"
    return runner


def format_summary(summary: RunSummary, totals: dict[str, int]) -> str:
    fetched = summary.bytes_fetched / summary.shard_bytes if summary.shard_bytes else 0.0
    lines = [
        f"run {summary.run_id} -> {summary.lake}" + (f" ({summary.mode})" if summary.mode else ""),
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
    if summary.metadata_missing:
        lines.append(f"  warning: no {', '.join(summary.metadata_missing)} next to the sources (or at --metadata): "
                     "their tables are not written and the columns joined from them stay null")
    if summary.metadata_rejected_rows:
        lines.append(f"  metadata rows rejected: {summary.metadata_rejected_rows} (see the quarantine table)")
    if summary.compacted:
        moved = ", ".join(f"{t} {a}->{b}" for t, (a, b) in summary.compacted.items() if a != b)
        lines.append(f"  compacted: {moved or 'nothing to merge'}")
    if totals:
        lines.append("  beam metrics: " + ", ".join(f"{k}={v}" for k, v in totals.items()))
    for uri in summary.shards_failed:
        lines.append(f"  FAILED (retried next run): {uri}")
    return "\n".join(lines)


def run_ingest(args: Namespace, beam_args: Sequence[str]) -> int:
    """`silake ingest`: exit 0 done, 1 some shard failed, 2 bad input, 3 the lake is busy (or this run lost
    it), 4 unbalanced, 5 storage unreachable, 130/143 interrupted."""
    from silake.dask_run import DaskUnavailable
    from silake.local_run import WorkerDied

    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # like the worker processes
    # Beam logs a failing DoFn's traceback before raising it; the run reports it in one line (--debug: all)
    logging.getLogger("apache_beam").setLevel(logging.ERROR if current().debug else logging.CRITICAL)
    for handler in logging.getLogger().handlers:  # once interrupted, Beam's tracebacks of it are noise
        handler.addFilter(lambda r: signals.received() is None or not r.name.startswith("apache_beam"))
    try:
        summary, totals = run(
            args.sources, args.lake, catalog=args.catalog, metadata=args.metadata, runner=args.runner,
            workers=args.workers, full_refresh=args.full_refresh,
            progress=not args.no_progress and sys.stderr.isatty(), wait=args.wait, beam_args=beam_args,
            dask_scheduler=args.dask_scheduler,
        )
    except IngestInterrupted as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return exc.exit_code
    except (lease.LeaseHeld, lease.LeaseLost) as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 3
    except (WorkerDied, DaskUnavailable) as exc:
        print(f"silake ingest: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from silake.sources.errors import is_unreachable

        if is_unreachable(exc):
            print(f"silake ingest: cannot reach the storage of {args.lake} or the sources: "
                  f"{first_line(exc)}", file=sys.stderr)
            return 5
        if isinstance(exc, (OSError, ValueError, LakeError)):
            print(f"silake ingest: {exc}", file=sys.stderr)
            return 2
        raise
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
