"""A shard reference: one tar to ingest, as discovery (`silake.sources.discovery`) lists it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShardRef:
    """One tar shard to ingest.

    `shard_key` names the shard in the lake (output files, commit rows): `{batch:04d}-{archive:04d}` when the
    URI ends in the release layout `{label}/{split}/{batch}/{archive}.tar`, else `x-<sha1(uri)[:16]>` with
    label and split 'unknown'. The same shard read from two mirrors has the same key.
    """

    uri: str  # canonical: absolute local path, or scheme://... as fsspec takes it
    size: int
    etag: str | None  # object etag, or a version string built from mtime+size for local files
    label: str
    split: str
    batch_idx: int | None
    archive_idx: int | None
    shard_key: str
