"""The export job as one function: validate everything, then write, then publish the manifest last.

Order: parse the predicate -> open the lake -> check the output -> select (binder errors) -> empty? ->
sources reachable and unchanged (WebDataset) -> remove a previous export (--overwrite) -> write -> dataset
card (README.md) -> manifest.
Every check that can fail on input runs before the first byte is written; a failure while writing removes
what this run published, so an output is either a complete export (with manifest.json) or absent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import duckdb

from silake import tempfiles
from silake.export.card import JsonTypes, parquet_card, webdataset_card
from silake.export.defaults import DEFAULT_JOBS, DEFAULT_MEMBERS, DEFAULT_SHARD_SIZE, FORMATS
from silake.export.errors import BadInput, CopyFailed, EmptySelection
from silake.export.layout import parse_members, plan_shards, samples_without_members
from silake.export.manifest import manifest_bytes, manifest_json, parquet_manifest, webdataset_manifest
from silake.export.output import CARD, MANIFEST, OutputTarget
from silake.export.parquet_export import export_schema, export_tables
from silake.export.preflight import check_sources
from silake.export.selection import Selection, parse_predicate, select_files
from silake.export.tar_writer import BLOCK
from silake.export.webdataset import ByteProgress, export_shards, source_reads
from silake.lake.catalog import LakeError
from silake.query.connection import connect, current_snapshot, open_lake
from silake.schemas.export_manifest import ExportManifest


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote (the manifest holds the details)."""

    out: str
    kind: str
    samples: int
    files: int  # output shards (webdataset) or Parquet parts
    bytes: int  # bytes written, manifest excluded
    payload_bytes: int  # member bytes copied (webdataset); == bytes for parquet
    bytes_fetched: int  # bytes read from the source shards (webdataset)
    seconds: float
    model: ExportManifest  # manifest.json, typed

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """manifest.json as parsed JSON."""
        return manifest_json(self.model)

    @property
    def throughput(self) -> float:
        """Bytes written per second."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


def export(lake: str, where: str, out: str, *, format: str = "webdataset",
           members: str | tuple[str, ...] = DEFAULT_MEMBERS, shard_size: int = DEFAULT_SHARD_SIZE,
           keep_pairs: bool = True, overwrite: bool = False, progress: bool = False, jobs: int = DEFAULT_JOBS,
           warn: Callable[[str], None] | None = None, snapshot: int | None = None,
           catalog: str | None = None) -> ExportResult:
    """Export the files `where` selects from `lake` to `out`; raises ExportError (see its exit codes).

    The whole export reads one snapshot of the lake: `snapshot`, else the latest when it starts (recorded
    in the manifest), so the same predicate at the same snapshot gives the same bytes after later ingests.
    """
    started = time.perf_counter()
    if format not in FORMATS:
        raise BadInput(f"unknown format {format!r} (choose {' or '.join(FORMATS)})")
    minimum = BLOCK if format == "webdataset" else 1  # a tar shard holds at least its end-of-archive block
    if shard_size < minimum:
        raise BadInput(f"--shard-size must be at least {minimum} byte{'s' * (minimum > 1)}, got {shard_size}")
    wanted = parse_members(members) if format == "webdataset" else ()
    parse_predicate(where)
    tempfiles.sweep()  # what killed silake processes on this host left in the temp dir
    try:
        target_lake = open_lake(lake, catalog=catalog)
        if snapshot is None:
            with contextlib.closing(connect(target_lake)) as latest:
                snapshot = current_snapshot(latest)
        con = connect(target_lake, snapshot=snapshot)
    except LakeError as exc:
        raise BadInput(str(exc)) from None
    try:
        target = OutputTarget.prepare(out, target_lake.storage, overwrite)
        selection = select_files(con, where, target_lake.root, snapshot=snapshot)
        for w in selection.warnings:
            if warn is not None:
                warn(w)
        if not selection.files:
            raise EmptySelection(f"the predicate selects no file (0 of {selection.files_in_lake} files in "
                                 f"the lake): nothing written to {out}")
        if selection.duplicates and warn is not None:
            warn(f"{len(selection.duplicates)} file id(s) are selected twice; each is exported once "
                 "(see duplicates_skipped in the manifest)")
        if format == "webdataset":
            return _webdataset(selection, target, wanted, shard_size, keep_pairs, progress, jobs, started)
        return _parquet(con, selection, target, shard_size, progress, started)
    finally:
        con.close()


@contextlib.contextmanager
def _all_or_nothing(target: OutputTarget, errors: type[BaseException] | tuple[type[BaseException], ...]
                    ) -> Iterator[None]:
    """Publish the whole output or nothing: on any failure remove what this run published."""
    try:
        yield
    except errors as exc:  # writing or publishing the output
        target.discard_published()
        raise CopyFailed(f"writing {target.uri} failed: {exc}") from exc
    except BaseException:
        target.discard_published()
        raise
    finally:
        target.cleanup()


def _webdataset(selection: Selection, target: OutputTarget, members: tuple[str, ...], shard_size: int,
                keep_pairs: bool, progress: bool, jobs: int, started: float) -> ExportResult:
    shards = plan_shards(selection.files, members, shard_size, keep_pairs)
    without = samples_without_members(selection.files, members)
    if not shards:
        raise EmptySelection(f"none of the {len(selection.files)} selected files has any of the members "
                             f"{','.join(members)}: nothing written to {target.uri}")
    sources = source_reads()  # the settings, resolved once for the whole export
    check_sources(selection, members, access=sources.access)
    sizes = {uri: shard.size for uri, shard in selection.shards.items()}  # recorded == current (preflight)
    target.clear()
    with _all_or_nothing(target, OSError):
        results = export_shards(shards, target, sizes, progress=progress, jobs=jobs, sources=sources)
        manifest = webdataset_manifest(selection, members, shard_size, keep_pairs, results, without)
        json_types = JsonTypes()
        for r in results:
            json_types.merge(r.json_types)
        target.publish_bytes(webdataset_card(manifest, json_types).encode(), CARD)
        target.publish_bytes(manifest_bytes(manifest), MANIFEST)
    c = manifest.counts
    return ExportResult(target.uri, "webdataset", c.samples, c.shards, c.bytes, c.payload_bytes,
                        sum(r.bytes_fetched for r in results), time.perf_counter() - started, manifest)


def _parquet(con: duckdb.DuckDBPyConnection, selection: Selection, target: OutputTarget,
             part_size: int, progress: bool, started: float) -> ExportResult:
    target.clear()
    bar = ByteProgress(None, progress, desc="export parquet")
    with _all_or_nothing(target, (duckdb.Error, OSError)), contextlib.closing(bar):
        tables = export_tables(con, selection, target, part_size, on_bytes=bar.update)
        manifest = parquet_manifest(selection, part_size, tables)
        target.publish_bytes(parquet_card(manifest, {t: export_schema(t) for t in tables}).encode(), CARD)
        target.publish_bytes(manifest_bytes(manifest), MANIFEST)
    c = manifest.counts
    return ExportResult(target.uri, "parquet", c.samples, c.files, c.bytes, c.bytes, 0,
                        time.perf_counter() - started, manifest)
