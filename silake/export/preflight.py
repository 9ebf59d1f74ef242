"""Before writing: every source shard the export reads must exist, be readable and be unchanged.

"Unchanged" is the ingest's own notion (`silake.lake.commit`): the size and version tag (etag, or
mtime+size locally) recorded in `ingest_shards`. Every shard is checked (concurrently) and every problem is
reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from silake.export.errors import SourcesUnavailable
from silake.export.selection import SelectedFile, Selection
from silake.sources.errors import SourceError
from silake.sources.filesystems import SourceAccess, size_and_etag

PROBE_THREADS = 16


def _needed_bytes(files: Iterable[SelectedFile], members: Iterable[str]) -> dict[str, int]:
    """Per shard URI, one past the last byte the export reads."""
    wanted = tuple(members)
    out: dict[str, int] = {}
    for f in files:
        for ext in wanted:
            loc = f.members.get(ext)
            if loc is not None:
                out[f.shard_uri] = max(out.get(f.shard_uri, 0), loc[0] + loc[1])
    return out


def check_sources(selection: Selection, members: Iterable[str], *, threads: int = PROBE_THREADS,
                  access: SourceAccess | None = None) -> None:
    """Raise SourcesUnavailable listing every missing, unreadable or changed source shard (reached with
    `access`; None: the settings')."""
    needed = _needed_bytes(selection.files, members)
    uris = sorted(needed)

    def probe(uri: str) -> str | None:
        try:
            size, etag = size_and_etag(uri, retry=access.retry if access else None)
        except SourceError as exc:
            return f"unreachable: {exc}"
        except OSError as exc:  # anything else the store raised
            return f"unreachable: {uri}: {type(exc).__name__}: {exc}"
        commit = selection.shards.get(uri)
        if commit is not None and commit.size is not None and size != commit.size:
            return (f"changed since ingest: {uri}: {size} bytes now, {commit.size} when ingested "
                    "(re-ingest it)")
        if commit is not None and commit.etag and etag and etag != commit.etag:
            return (f"changed since ingest: {uri}: version {etag} now, {commit.etag} when ingested "
                    "(re-ingest it)")
        if size < needed[uri]:
            return f"truncated: {uri}: {size} bytes, the media index reaches byte {needed[uri]}"
        return None

    if not uris:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(uris)))) as pool:
        results = list(pool.map(probe, uris))
    problems = [p for p in results if p is not None]
    if problems:
        raise SourcesUnavailable(problems)
