"""Plan an ingest run: discover the shards and the metadata, then skip what the lake already holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from silake.lake.commit import ShardId
from silake.sources.discovery import discover_shards, find_metadata
from silake.sources.shards import ShardRef


@dataclass(frozen=True)
class Sources:
    """What the sources name: every shard, and the metadata CSVs found (name -> URI)."""

    shards: tuple[ShardRef, ...]
    metadata_uris: dict[str, str]


@dataclass(frozen=True)
class IngestPlan:
    shards: tuple[ShardRef, ...]  # every shard the sources name
    todo: tuple[ShardRef, ...]  # new, changed, failed before, or all with full_refresh

    @property
    def skipped(self) -> int:
        return len(self.shards) - len(self.todo)


def discover(sources: Sequence[str], *, metadata: str | None = None) -> Sources:
    """List the sources (never the lake): raises SourceError before anything is written."""
    return Sources(tuple(discover_shards(sources)), find_metadata(sources, metadata))


def plan_ingest(shards: Sequence[ShardRef], committed: dict[ShardId, tuple[int, str | None]], *,
                full_refresh: bool = False) -> IngestPlan:
    """The shards to process: those whose (size, etag) the catalog does not hold as committed, largest first.

    Workers take shards in this order, so the run's tail is made of the small ones (a batch's last archive)
    rather than a large one that started last while the other workers idle (longest-first scheduling;
    shards of equal size keep their listing order)."""
    done = {} if full_refresh else committed
    todo = [s for s in shards if done.get((s.label, s.split, s.shard_key)) != (s.size, s.etag)]
    return IngestPlan(tuple(shards), tuple(sorted(todo, key=lambda s: -s.size)))
