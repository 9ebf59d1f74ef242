"""manifest.json: what an export holds and where every byte came from.

Deterministic: no timestamps, no output path, keys sorted, lists in export order, so the same predicate over
the same lake gives the same manifest. Layout (format "silake-export/1"):

    format, kind ("webdataset" | "parquet"), silake_version, predicate,
    lake: {uri, snapshot (read for the whole export), run_ids (of the selected files),
           ingest_run_ids (every ingest_shards row)},
    options: {members, shard_size, keep_pairs} | {part_size, tables},
    selection: {files_in_lake, files_selected, duplicates_skipped: [...], warnings: [...]},
    counts: {...}, shards: [...] | tables: {...},
    samples: [{key, label, split, interaction_key, source: {uri, sample_index, run_id}, ...}]

WebDataset samples also carry `shard` and, per member, `source_offset`, `size`, `sha256` and `offset` (of
the payload in the output shard); `absent` lists requested members the source sample does not have.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from silake.export.parquet_export import WrittenPart
from silake.export.plan import PlannedShard
from silake.export.selection import SelectedFile, Selection
from silake.export.webdataset import ShardResult

FORMAT = "silake-export/1"


def _version() -> str:
    try:
        return version("silake")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _source(f: SelectedFile) -> dict[str, Any]:
    return {"uri": f.shard_uri, "sample_index": f.sample_index, "run_id": f.run_id}


def _header(selection: Selection, kind: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": kind,
        "silake_version": _version(),
        "predicate": selection.predicate,
        "lake": {"uri": selection.lake, "snapshot": selection.snapshot, "run_ids": selection.run_ids,
                 "ingest_run_ids": selection.ingest_run_ids},
        "selection": {
            "files_in_lake": selection.files_in_lake,
            "files_selected": len(selection.files),
            "duplicates_skipped": [
                {"file_id": d.file_id, "label": d.label, "split": d.split, "source": _source(d)}
                for d in selection.duplicates
            ],
            "warnings": selection.warnings,
        },
    }


def webdataset_manifest(selection: Selection, members: tuple[str, ...], shard_size: int, keep_pairs: bool,
                        results: list[ShardResult], without_members: list[str]) -> dict[str, Any]:
    """The manifest of a WebDataset export."""
    samples: list[dict[str, Any]] = []
    shards: list[dict[str, Any]] = []
    absent: Counter[str] = Counter()
    shard_of_interaction: dict[str, set[str]] = {}
    n_members = payload = 0
    for res in results:
        shard: PlannedShard = res.shard
        shards.append({"name": shard.name, "samples": len(shard.samples), "bytes": res.bytes,
                       "payload_bytes": shard.payload_bytes, "sha256": res.sha256,
                       "first_key": shard.samples[0].key, "last_key": shard.samples[-1].key})
        for s in shard.samples:
            f = s.file
            written = res.members[s.key]
            entry = {
                "key": s.key, "label": f.label, "split": f.split, "interaction_key": f.interaction_key,
                "shard": shard.name, "source": _source(f), "absent": list(s.absent),
                "members": {
                    m.ext: {"source_offset": m.offset, "size": m.size, "sha256": written[m.ext].sha256,
                            "offset": written[m.ext].offset}
                    for m in s.members
                },
            }
            samples.append(entry)
            absent.update(s.absent)
            n_members += len(s.members)
            payload += s.payload_bytes
            shard_of_interaction.setdefault(f.interaction_key, set()).add(shard.name)
    interactions = len(shard_of_interaction)
    out = _header(selection, "webdataset")
    out["options"] = {"members": list(members), "shard_size": shard_size, "keep_pairs": keep_pairs}
    out["counts"] = {
        "samples": len(samples),
        "samples_without_members": len(without_members),
        "interactions": interactions,
        "interactions_across_shards": sum(1 for v in shard_of_interaction.values() if len(v) > 1),
        "source_shards": len({s["source"]["uri"] for s in samples}),
        "shards": len(shards),
        "members": n_members,
        "members_absent": dict(sorted(absent.items())),
        "payload_bytes": payload,
        "bytes": sum(s["bytes"] for s in shards),
    }
    out["samples_without_members"] = without_members
    out["shards"] = shards
    out["samples"] = samples
    return out


def parquet_manifest(selection: Selection, part_size: int, tables: dict[str, list[WrittenPart]]
                     ) -> dict[str, Any]:
    """The manifest of a Parquet export."""
    out = _header(selection, "parquet")
    out["options"] = {"part_size": part_size, "tables": list(tables)}
    out["tables"] = {
        name: {"rows": sum(p.rows for p in parts), "bytes": sum(p.bytes for p in parts),
               "files": [{"path": p.path, "rows": p.rows, "bytes": p.bytes, "sha256": p.sha256}
                         for p in parts]}
        for name, parts in tables.items()
    }
    out["counts"] = {
        "samples": len(selection.files),
        "interactions": len({f.interaction_key for f in selection.files}),
        "source_shards": len({f.shard_uri for f in selection.files}),
        "files": sum(len(parts) for parts in tables.values()),
        "rows": {name: t["rows"] for name, t in out["tables"].items()},
        "bytes": sum(t["bytes"] for t in out["tables"].values()),
    }
    out["samples"] = [
        {"key": f.file_id, "label": f.label, "split": f.split, "interaction_key": f.interaction_key,
         "source": _source(f)}
        for f in selection.files
    ]
    return out


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
