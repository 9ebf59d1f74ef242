"""manifest.json: what an export holds and where every byte came from (`silake.schemas.export_manifest`).

Deterministic: no timestamps, no output path, keys sorted, lists in export order, so the same predicate over
the same lake gives the same manifest. The layout of both kinds (format "silake-export/1") is the schema's.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from silake.export.parquet_export import WrittenPart
from silake.export.selection import SelectedFile, Selection
from silake.export.webdataset import ShardResult
from silake.schemas.export_manifest import (
    Duplicate,
    ExportManifest,
    Header,
    Lake,
    Member,
    ParquetCounts,
    ParquetManifest,
    ParquetOptions,
    Part,
    Sample,
    SelectionSummary,
    Shard,
    Source,
    Table,
    WebDatasetCounts,
    WebDatasetManifest,
    WebDatasetOptions,
    WebDatasetSample,
)


def _version() -> str:
    try:
        return version("silake")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _source(f: SelectedFile) -> Source:
    return Source(uri=f.shard_uri, sample_index=f.sample_index, run_id=f.run_id)


def _header(selection: Selection) -> dict[str, Any]:
    """The fields both kinds share, as keyword arguments of either model."""
    return dict(Header(
        silake_version=_version(),
        predicate=selection.predicate,
        lake=Lake(uri=selection.lake, snapshot=selection.snapshot, run_ids=selection.run_ids,
                  ingest_run_ids=selection.ingest_run_ids),
        selection=SelectionSummary(
            files_in_lake=selection.files_in_lake,
            files_selected=len(selection.files),
            duplicates_skipped=[Duplicate(file_id=d.file_id, label=d.label, split=d.split, source=_source(d))
                                for d in selection.duplicates],
            warnings=selection.warnings,
        ),
    ))


def webdataset_manifest(selection: Selection, members: tuple[str, ...], shard_size: int, keep_pairs: bool,
                        results: list[ShardResult], without_members: list[str]) -> WebDatasetManifest:
    """The manifest of a WebDataset export."""
    samples: list[WebDatasetSample] = []
    shards: list[Shard] = []
    absent: Counter[str] = Counter()
    shard_of_interaction: dict[str, set[str]] = {}
    n_members = payload = 0
    for res in results:
        shard = res.shard
        shards.append(Shard(name=shard.name, samples=len(shard.samples), bytes=res.bytes,
                            payload_bytes=shard.payload_bytes, sha256=res.sha256,
                            first_key=shard.samples[0].key, last_key=shard.samples[-1].key))
        for s in shard.samples:
            f = s.file
            written = res.members[s.key]
            samples.append(WebDatasetSample(
                key=s.key, label=f.label, split=f.split, interaction_key=f.interaction_key, shard=shard.name,
                source=_source(f), absent=list(s.absent),
                members={m.ext: Member(source_offset=m.offset, size=m.size, sha256=written[m.ext].sha256,
                                       offset=written[m.ext].offset)
                         for m in s.members},
            ))
            absent.update(s.absent)
            n_members += len(s.members)
            payload += s.payload_bytes
            shard_of_interaction.setdefault(f.interaction_key, set()).add(shard.name)
    counts = WebDatasetCounts(
        samples=len(samples),
        samples_without_members=len(without_members),
        interactions=len(shard_of_interaction),
        interactions_across_shards=sum(1 for v in shard_of_interaction.values() if len(v) > 1),
        source_shards=len({s.source.uri for s in samples}),
        shards=len(shards),
        members=n_members,
        members_absent=dict(sorted(absent.items())),
        payload_bytes=payload,
        bytes=sum(s.bytes for s in shards),
    )
    return WebDatasetManifest(
        **_header(selection),
        options=WebDatasetOptions(members=list(members), shard_size=shard_size, keep_pairs=keep_pairs),
        counts=counts, samples_without_members=without_members, shards=shards, samples=samples,
    )


def parquet_manifest(selection: Selection, part_size: int, tables: dict[str, list[WrittenPart]]
                     ) -> ParquetManifest:
    """The manifest of a Parquet export."""
    written = {name: Table(rows=sum(p.rows for p in parts), bytes=sum(p.bytes for p in parts),
                           files=[Part(path=p.path, rows=p.rows, bytes=p.bytes, sha256=p.sha256) for p in parts])
               for name, parts in tables.items()}
    counts = ParquetCounts(
        samples=len(selection.files),
        interactions=len({f.interaction_key for f in selection.files}),
        source_shards=len({f.shard_uri for f in selection.files}),
        files=sum(len(parts) for parts in tables.values()),
        rows={name: t.rows for name, t in written.items()},
        bytes=sum(t.bytes for t in written.values()),
    )
    samples = [Sample(key=f.file_id, label=f.label, split=f.split, interaction_key=f.interaction_key,
                      source=_source(f))
               for f in selection.files]
    return ParquetManifest(**_header(selection), options=ParquetOptions(part_size=part_size, tables=list(tables)),
                           tables=written, counts=counts, samples=samples)


def manifest_json(manifest: ExportManifest) -> dict[str, Any]:
    """The manifest as manifest.json holds it (plain JSON values)."""
    return manifest.model_dump(mode="json")


def manifest_bytes(manifest: ExportManifest) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(manifest_json(manifest), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
