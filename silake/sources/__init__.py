"""Sources: where shards live (fsspec URLs, shard discovery, metadata CSVs) and ranged byte access."""

from silake.sources.discovery import discover_shards, find_metadata, release_root, shard_ref
from silake.sources.errors import SourceError, SourceNotFound, is_transient
from silake.sources.filesystems import canonical, exists, join, read_bytes, resolve, size_and_etag
from silake.sources.reader import DEFAULT_WINDOW, RangeReader, open_range_reader
from silake.sources.retry import RetryPolicy
from silake.sources.shards import ShardRef

__all__ = [
    "DEFAULT_WINDOW", "RangeReader", "RetryPolicy", "ShardRef", "SourceError", "SourceNotFound", "canonical",
    "discover_shards", "exists", "find_metadata", "is_transient", "join", "open_range_reader", "read_bytes",
    "release_root",
    "resolve", "shard_ref", "size_and_etag",
]
