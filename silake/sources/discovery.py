"""Finding the shards and metadata CSVs of a release from the SOURCES given on the command line.

A source is one of:
- a release root (directory or URL prefix) holding `{label}/{split}/{batch}/{archive}.tar`: listed
  recursively, only paths whose tail matches the layout are kept (archive numbers may have gaps);
- a glob (`*`, `?`, `[`): every matching `.tar` file;
- a single shard path or URL (any name; outside the layout its key is `x-<sha1(uri)[:16]>`).
Plain http(s) URLs cannot be listed: only single shard URLs are supported there (size and etag via HEAD).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from silake.schemas.release import LABELS, METADATA_FILES, SHARD_PATH_REGEX, SPLITS
from silake.sources.errors import SourceError, SourceNotFound
from silake.sources.filesystems import (
    HTTP,
    LOCAL,
    Location,
    etag_from_info,
    exists,
    filesystem,
    join,
    local_version,
    locate,
    size_and_etag,
)
from silake.sources.retry import RetryPolicy, with_retries
from silake.sources.shards import ShardRef

log = logging.getLogger(__name__)

#: The layout at the tail of a path, anchored on a path component boundary.
LAYOUT_TAIL = re.compile(r"(?:^|/)" + SHARD_PATH_REGEX)
#: Where a release root ends inside a path: at a `{label}` component (optionally followed by `{split}`).
_ROOT_SPLIT = re.compile(rf"(?:^|/)(?:{'|'.join(LABELS)})(?:/(?:{'|'.join(SPLITS)}))?(?:/|$)")
_GLOB_CHARS = re.compile(r"[*?\[]")


def shard_ref(uri: str, size: int, etag: str | None) -> ShardRef:
    """A ShardRef for a canonical URI: layout fields parsed from its tail, else an `x-` key from its sha1."""
    m = LAYOUT_TAIL.search(uri)
    if m is None:
        key = "x-" + hashlib.sha1(uri.encode("utf-8")).hexdigest()[:16]
        return ShardRef(uri=uri, size=size, etag=etag, label="unknown", split="unknown",
                        batch_idx=None, archive_idx=None, shard_key=key)
    batch, archive = int(m.group("batch")), int(m.group("archive"))
    return ShardRef(uri=uri, size=size, etag=etag, label=m.group("label"), split=m.group("split"),
                    batch_idx=batch, archive_idx=archive, shard_key=f"{batch:04d}-{archive:04d}")


def is_glob(uri: str) -> bool:
    """True if the URI has glob characters (for http(s) URLs, `?` starts a query string and is not one)."""
    loc = locate(uri)
    text = loc.uri.split("?", 1)[0] if loc.kind == HTTP else loc.uri
    return bool(_GLOB_CHARS.search(text))


def _to_uri(loc: Location, fs_path: str) -> str:
    """Canonical URI of a path listed by the filesystem of `loc`."""
    if loc.kind == LOCAL:
        return os.path.abspath(fs_path)
    return locate(f"{loc.uri.split('://', 1)[0]}://{fs_path}").uri


def _ref_from_info(loc: Location, fs_path: str, info: dict[str, Any]) -> ShardRef:
    uri = _to_uri(loc, fs_path)
    if loc.kind == LOCAL:
        size, version = local_version(uri)
        return shard_ref(uri, size, version)
    listed, etag = info.get("size"), etag_from_info(info)
    if listed is None or etag is None:
        return shard_ref(uri, *size_and_etag(uri))
    return shard_ref(uri, int(listed), etag)


def _files(listing: dict[str, dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
    for path, info in listing.items():
        if info.get("type", "file") == "file":
            yield path, info


def _discover_one(source: str, retry: RetryPolicy | None) -> list[ShardRef]:
    loc = locate(source)
    if loc.kind == HTTP:
        if is_glob(source):
            raise SourceError(f"{source}: http(s) URLs cannot be listed or globbed; give single shard URLs "
                              "(or use hf://datasets/... for a Hugging Face repo)")
        try:
            size, etag = size_and_etag(loc.uri, retry=retry)
        except SourceNotFound as exc:
            raise SourceNotFound(f"source matches nothing: {source} ({exc})") from exc
        return [shard_ref(loc.uri, size, etag)]

    fs = filesystem(loc.kind)
    if is_glob(source):
        listing = with_retries(lambda: fs.glob(loc.path, detail=True), what=f"globbing {source}",
                               policy=retry)
        refs = [_ref_from_info(loc, p, info) for p, info in _files(listing) if p.endswith(".tar")]
        if not refs:
            raise SourceNotFound(f"source matches nothing: {source} (no .tar file matches the glob)")
        return refs

    def stat() -> dict[str, Any] | None:
        try:
            return fs.info(loc.path)
        except FileNotFoundError:
            return None

    info = with_retries(stat, what=f"stat {source}", policy=retry)
    if info is None:
        raise SourceNotFound(f"source matches nothing: {source} (no such file or directory)")
    if info.get("type") != "directory":
        return [_ref_from_info(loc, loc.path, info)]
    listing = with_retries(lambda: fs.find(loc.path, detail=True), what=f"listing {source}", policy=retry)
    refs = [_ref_from_info(loc, p, i) for p, i in _files(listing)
            if LAYOUT_TAIL.search(p.replace(os.sep, "/"))]
    if not refs:
        raise SourceNotFound(f"source matches nothing: {source} "
                             "(no {label}/{split}/{batch}/{archive}.tar below it)")
    return refs


def discover_shards(sources: Sequence[str], *, retry: RetryPolicy | None = None) -> list[ShardRef]:
    """All shards of the given sources, de-duplicated and sorted by URI.

    The same URI given twice (root and glob overlapping) is kept once. The same layout shard
    (label, split, shard_key) reached through two different URIs (two mirrors) is kept once, from
    the first source that names it, with a warning. A source that matches nothing raises SourceError.
    """
    if not sources:
        raise SourceError("no sources given")
    by_uri: dict[str, ShardRef] = {}
    by_layout: dict[tuple[str, str, str], str] = {}
    for source in sources:
        for ref in sorted(_discover_one(source, retry), key=lambda r: r.uri):
            if ref.uri in by_uri:
                continue
            if ref.batch_idx is not None:
                layout_key = (ref.label, ref.split, ref.shard_key)
                first = by_layout.get(layout_key)
                if first is not None:
                    log.warning("shard %s/%s/%s found twice: keeping %s, ignoring %s",
                                *layout_key, first, ref.uri)
                    continue
                by_layout[layout_key] = ref.uri
            by_uri[ref.uri] = ref
    return sorted(by_uri.values(), key=lambda r: r.uri)


def release_root(source: str) -> str:
    """The release root a source lives in: the prefix before `{label}/`, else the non-glob prefix.

    For a single file outside the layout it is the file's folder (local) or URL prefix.
    """
    loc = locate(source)
    text = loc.uri
    if is_glob(source):
        text = text[:_GLOB_CHARS.search(text).start()]  # type: ignore[union-attr]
        text = text.rsplit("/", 1)[0] if "/" in text else text
    m = _ROOT_SPLIT.search(text)
    if m is not None:
        return text[:m.start()] or "/"
    if text.endswith(".tar"):
        return text.rsplit("/", 1)[0]
    return text


def find_metadata(sources: Sequence[str], metadata: str | None = None, *,
                  retry: RetryPolicy | None = None) -> dict[str, str]:
    """name -> URI of the METADATA_FILES CSVs that exist at `metadata` (if given) or at the sources' roots.

    With several roots, the first root holding a file wins. Missing files are simply absent from the result.
    """
    roots = [metadata] if metadata else list(dict.fromkeys(release_root(s) for s in sources))
    found: dict[str, str] = {}
    for root in roots:
        for name, filename in METADATA_FILES.items():
            if name in found:
                continue
            uri = join(root, filename)
            if exists(uri, retry=retry):
                found[name] = locate(uri).uri
    return found
