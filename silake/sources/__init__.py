"""Sources: where shards live (fsspec URLs, shard discovery, metadata CSVs) and ranged byte access.

The names below are imported on first use, so a module that needs one part (the lake's filesystems) does
not pay for the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "discover_shards": "discovery", "find_metadata": "discovery", "release_root": "discovery",
    "shard_ref": "discovery",
    "SourceError": "errors", "SourceNotFound": "errors", "is_transient": "errors",
    "canonical": "filesystems", "exists": "filesystems", "join": "filesystems", "read_bytes": "filesystems",
    "resolve": "filesystems", "size_and_etag": "filesystems", "SourceAccess": "filesystems",
    "DEFAULT_WINDOW": "reader", "RangeReader": "reader", "open_range_reader": "reader",
    "RetryPolicy": "retry",
    "ShardRef": "shards",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'silake.sources' has no attribute {name!r}")
    return getattr(import_module(f"silake.sources.{_WHERE[name]}"), name)
