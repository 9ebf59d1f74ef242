"""Planning a run: what the catalog holds is skipped, the rest is taken largest first."""

from __future__ import annotations

from silake.ingest_plan import plan_ingest
from silake.sources.shards import ShardRef


def _shard(archive: int, size: int, etag: str = "v1") -> ShardRef:
    key = f"0000-{archive:04d}"
    return ShardRef(f"/r/improvised/train/0000/{archive:04d}.tar", size, etag, "improvised", "train", 0, archive, key)


def test_the_plan_skips_committed_versions_and_takes_the_largest_shards_first() -> None:
    shards = [_shard(0, 1_100), _shard(1, 1_300), _shard(2, 1_100), _shard(3, 200), _shard(4, 1_200),
              _shard(5, 1_300, "v2")]
    committed = {("improvised", "train", "0000-0001"): (1_300, "v1"),  # unchanged: skipped
                 ("improvised", "train", "0000-0005"): (1_300, "v1")}  # changed since: taken again
    plan = plan_ingest(shards, committed)
    assert [s.archive_idx for s in plan.todo] == [5, 4, 0, 2, 3]  # equal sizes keep their listing order
    assert plan.shards == tuple(shards) and plan.skipped == 1
    everything = plan_ingest(shards, committed, full_refresh=True)
    assert [s.archive_idx for s in everything.todo] == [1, 5, 4, 0, 2, 3]
