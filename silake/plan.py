"""Plan an ingest run: discover the shards, find the metadata, and skip what the lake already holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from silake.lake.commit import committed_versions
from silake.lake.storage import LakeStorage
from silake.sources.discovery import discover_shards, find_metadata
from silake.sources.shards import ShardRef


@dataclass(frozen=True)
class IngestPlan:
    shards: tuple[ShardRef, ...]  # every shard the sources name
    todo: tuple[ShardRef, ...]  # new, changed, failed before, or all with full_refresh
    metadata_uris: dict[str, str]

    @property
    def skipped(self) -> int:
        return len(self.shards) - len(self.todo)


def plan_ingest(sources: Sequence[str], lake_root: str, *, metadata: str | None = None,
                full_refresh: bool = False) -> IngestPlan:
    shards = tuple(discover_shards(sources))
    done = {} if full_refresh else committed_versions(LakeStorage(lake_root))
    todo = tuple(s for s in shards if done.get((s.label, s.split, s.shard_key)) != (s.size, s.etag))
    return IngestPlan(shards, todo, find_metadata(sources, metadata))
