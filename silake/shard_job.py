"""One shard, one unit of work: read its samples, decode them, write the shard's data files, stage them.

This is plain Python (the Beam pipeline only fans it out): tests call `ingest_shard` directly. The shard's
files and its commit row are staged (`silake.lake.staging`); the commit step makes them visible. Every
sample read is accounted for: it becomes a `files` row or a quarantine row of scope 'sample', and the
commit row records both counts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from silake import failpoints, tempfiles
from silake.decode.errors import Reject
from silake.decode.sample import DecodedSample, decode_sample
from silake.lake.commit import CommitRecord
from silake.lake.lease import Lease
from silake.lake.shard_writer import ShardWriter
from silake.lake.staging import Claim, ShardManifest, new_attempt, write_claim, write_manifest
from silake.lake.storage import LakeStorage
from silake.memory import keep_freed_memory
from silake.metadata.join import MetadataIndex
from silake.overlap import WriteBehind, prefetched
from silake.schemas.ids import parse_file_id
from silake.schemas.limits import DEFAULT_CAPS, DEFAULT_READ_LIMITS, Caps, ReadLimits
from silake.schemas.problem import Problem
from silake.schemas.release import nominal_fps
from silake.schemas.rows import FilesRow, QuarantineRow, Scope, record_batch
from silake.schemas.tables import SHARD_TABLES
from silake.sources.filesystems import SourceAccess
from silake.sources.reader import RangeReader, open_range_reader
from silake.sources.shards import ShardRef
from silake.tario.members import RawSample, TarMember
from silake.tario.samples import iter_samples
from silake.tario.walker import NotATar

log = logging.getLogger(__name__)

#: Problem codes of tar damage (a sample cut by it carries one of them).
DAMAGE_CODES = frozenset({"truncated", "corrupt_tar"})
#: Set to stop every shard running in a thread of this process at its next sample (a run interrupted).
cancel_all = threading.Event()


class Cancelled(BaseException):
    """The run was interrupted while this shard was being read."""


@dataclass(frozen=True)
class IngestContext:
    """What every shard of a run shares. The launcher resolves the settings into it once (`silake.ingest`);
    workers take their limits and source access from it, never from the environment."""

    lake_root: str
    run_id: str
    metadata: MetadataIndex = field(default_factory=MetadataIndex)
    caps: Caps = DEFAULT_CAPS
    reads: ReadLimits = DEFAULT_READ_LIMITS
    access: SourceAccess = field(default_factory=SourceAccess)
    lease: Lease | None = None  # the run's lease: a step that commits (FinalizeRun) is fenced by it


@dataclass(frozen=True)
class ShardReport:
    """What happened to one shard: its staged manifest (data files and commit row) and its frame count."""

    manifest: ShardManifest
    frames: int

    @property
    def commit(self) -> CommitRecord:
        return self.manifest.commit

    @property
    def balanced(self) -> bool:
        return self.commit.balanced


def _quarantine_row(ctx: IngestContext, shard: ShardRef, scope: Scope, problem: Problem,
                    sample_index: int | None = None, file_id: str | None = None) -> QuarantineRow:
    return QuarantineRow.of(shard.uri, scope, problem, run_id=ctx.run_id, sample_index=sample_index,
                            file_id=file_id)


def _files_row(ctx: IngestContext, shard: ShardRef, raw: RawSample, decoded: DecodedSample) -> FilesRow:
    """The sample's `files` row: its keys, where it was read, what decoding found, the metadata joined. The
    dataclass takes every column by name: a fact or metadata column missing, extra or misspelt is a TypeError
    here, never a silent null."""
    values: dict[str, Any] = {
        **decoded.keys._asdict(),
        "batch_idx": shard.batch_idx, "archive_idx": shard.archive_idx, "shard_uri": shard.uri,
        "sample_index": raw.index,
        **decoded.facts,
        **ctx.metadata.columns_for(decoded.keys),
        "run_id": ctx.run_id,
    }
    return FilesRow(**values)


_swept = threading.Event()


def _sweep_once() -> None:
    """A worker's first shard removes what killed silake processes on its host left in the temp dir."""
    if not _swept.is_set():
        _swept.set()
        tempfiles.sweep()


def ingest_shard(shard: ShardRef, ctx: IngestContext) -> ShardReport:
    """Write one shard's data files and stage them for the commit step; never raises for bad data or an
    unreachable shard (only for a lake it cannot write). Interrupted (Ctrl-C, `cancel_all`), it removes what
    it wrote before the interruption goes on."""
    _sweep_once()
    keep_freed_memory(ctx.reads.keep_freed_bytes)  # the next sample reuses this one's buffers
    storage = LakeStorage(ctx.lake_root)
    claim = Claim(ctx.run_id, shard.label, shard.split, shard.shard_key, new_attempt())
    write_claim(storage, claim)
    writer = ShardWriter(storage, claim, SHARD_TABLES)
    try:
        return _ingest(shard, ctx, storage, claim, writer)
    except BaseException:
        writer.discard()
        raise


def _ingest(shard: ShardRef, ctx: IngestContext, storage: LakeStorage, claim: Claim,
            writer: ShardWriter) -> ShardReport:
    started = datetime.now(UTC)
    files_rows: list[FilesRow] = []
    quarantine: list[QuarantineRow] = []
    seen = quarantined = frames = 0
    status = "ok"
    bytes_fetched = 0
    reads = ctx.reads
    behind: WriteBehind[tuple[str, pa.RecordBatch]] = WriteBehind(lambda item: writer.add(*item),
                                                                   depth=reads.write_behind_batches)
    try:
        with open_range_reader(shard.uri, size=shard.size, window=reads.read_window,
                               cache_windows=reads.read_cache_windows, access=ctx.access) as reader, \
                contextlib.closing(prefetched(_with_payloads(samples := iter_samples(
                    reader, max_member_size=reads.max_tar_member_bytes,
                    max_extended_header_size=reads.max_tar_extended_header_bytes), reader, ctx.caps),
                    depth=reads.prefetch_samples)) as ahead:
            damage_carried = False  # did a sample carry the damage (the sample it cut)?
            for raw, payloads in ahead:
                if cancel_all.is_set():
                    raise Cancelled()
                seen += 1
                damage_carried = raw.problem is not None and raw.problem.code in DAMAGE_CODES

                def read_member(member: TarMember, payloads: dict[str, bytes] = payloads) -> bytes:
                    data = payloads.pop(member.name, None)  # fetched ahead, else read now
                    return data if data is not None else reader.read_at(member.offset, member.size)

                try:
                    decoded = decode_sample(raw, read_member, reader.read_at,
                                            nominal_fps=float(nominal_fps(_vendor(raw))), caps=ctx.caps)
                except Reject as rej:
                    quarantined += 1
                    quarantine.append(_quarantine_row(ctx, shard, "sample", rej.problem, raw.index, raw.file_id))
                    continue
                except Exception as exc:  # a bug or an unforeseen input must not take the job down
                    log.exception("unexpected error decoding %s in %s", raw.key, shard.uri)
                    quarantined += 1
                    problem = Problem("internal_error", f"{type(exc).__name__}: {exc}", None)
                    quarantine.append(_quarantine_row(ctx, shard, "sample", problem, raw.index, raw.file_id))
                    continue
                row = _files_row(ctx, shard, raw, decoded)
                files_rows.append(row)
                frames += row.n_frames
                for table, batch in decoded.batches.items():
                    behind.submit((table, batch))
                for problem in (*raw.member_problems, *decoded.media_problems):
                    quarantine.append(_quarantine_row(ctx, shard, "member", problem, raw.index, raw.file_id))
            if samples.damage is not None:
                status = "truncated"
                if not damage_carried:  # e.g. the end-of-archive marker is missing: no sample was cut
                    quarantine.append(_quarantine_row(ctx, shard, "shard", samples.damage.problem()))
            behind.finish()  # every row group written (a write error is raised here)
            bytes_fetched = reader.bytes_fetched
    except Exception as exc:  # unreachable or unreadable shard: record it, retry on the next run
        behind.abort()
        log.warning("shard %s failed: %s", shard.uri, exc)
        writer.discard()
        # Only the quarantine and commit rows: the shard's tables from an earlier good run stay as they are.
        writer = ShardWriter(storage, claim, ("quarantine",))
        files_rows, frames, seen, quarantined, status = [], 0, 0, 0, "failed"
        if isinstance(exc, NotATar):
            problem = exc.problem()
        else:
            problem = Problem("shard_unreadable", "".join(traceback.format_exception_only(type(exc), exc)).strip(),
                              None)
        quarantine = [_quarantine_row(ctx, shard, "shard", problem)]
    except BaseException:  # interrupted: nothing may write after this shard is discarded
        behind.abort()
        raise

    try:
        if status != "failed":
            writer.add("files", record_batch(FilesRow, files_rows))
        writer.add("quarantine", record_batch(QuarantineRow, quarantine))
    except BaseException:  # `writer` may be a failed shard's replacement, which ingest_shard does not hold
        writer.discard()
        raise
    table_rows = writer.rows()
    files = writer.publish()  # (discards what it could not publish)
    failpoints.hit("shard.staged")
    if cancel_all.is_set():  # told to stop while writing: no manifest, the claim is discarded
        raise Cancelled()
    commit = CommitRecord(
        shard_uri=shard.uri, shard_key=shard.shard_key, label=shard.label, split=shard.split,
        batch_idx=shard.batch_idx, archive_idx=shard.archive_idx, size=shard.size, etag=shard.etag,
        status=status, samples_seen=seen, files_rows=len(files_rows), quarantined_samples=quarantined,
        table_rows=table_rows, bytes_fetched=bytes_fetched, run_id=ctx.run_id, attempt=claim.attempt,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    manifest = ShardManifest(claim, files, commit)
    write_manifest(storage, manifest)
    report = ShardReport(manifest, frames)
    if not report.balanced:  # by construction this cannot happen; say so loudly if it ever does
        log.error("accounting mismatch in %s: %s", shard.uri, commit)
    return report


def _with_payloads(samples: Iterator[RawSample], reader: RangeReader, caps: Caps
                   ) -> Iterator[tuple[RawSample, dict[str, bytes]]]:
    """Each sample with the members decoding will read in full (json, npz) already fetched - unless the
    sample is rejected anyway (a tar problem, a member over its cap), which decoding says without them."""
    limits = {"json": caps.max_json_bytes, "npz": caps.max_npz_bytes}
    for raw in samples:
        payloads: dict[str, bytes] = {}
        if raw.problem is None:
            for ext, cap in limits.items():
                member = raw.members.get(ext)
                if member is not None and member.size <= cap:
                    payloads[member.name] = reader.read_at(member.offset, member.size)
        yield raw, payloads


def _vendor(raw: RawSample) -> str:
    return parse_file_id(raw.file_id).vendor_id if raw.file_id else ""
