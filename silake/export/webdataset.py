"""WebDataset export: each planned shard written by copying source byte ranges into a fresh tar.

Every member is fetched through the media index (`{ext}_offset`/`{ext}_size` in `files`): the 512-byte source
header before it is checked (the bytes are still the member the lake indexed), then the payload is streamed
in COPY_CHUNK pieces into the output archive with its sha256 computed on the way. Nothing is re-encoded,
no source shard is read whole, and memory stays at a chunk per worker (plus one json member, parsed on the
way for the dataset card's feature types: `silake.export.card`). Shards are written concurrently
(one worker per shard, each to its own local file) and published as they finish; their bytes do not
depend on the number of workers.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import NamedTuple

from silake import failpoints
from silake.export.card import JsonTypes
from silake.export.defaults import DEFAULT_JOBS
from silake.export.errors import CopyFailed
from silake.export.layout import PlannedShard
from silake.export.output import OutputTarget
from silake.export.tar_writer import (
    SourceMismatch,
    TarStreamWriter,
    WrittenMember,
    check_source_header,
    iter_range,
)
from silake.schemas.limits import ReadLimits
from silake.sources.errors import SourceError
from silake.sources.filesystems import SourceAccess
from silake.sources.reader import RangeReader, open_range_reader

#: Source readers a worker keeps open at once (partners often live in different source shards).
MAX_OPEN_READERS = 8


@dataclass(frozen=True)
class ShardResult:
    """One written output shard."""

    shard: PlannedShard
    bytes: int
    sha256: str
    members: dict[str, dict[str, WrittenMember]]  # sample key -> ext -> what was written
    bytes_fetched: int  # bytes read from the sources for this shard (headers and read-ahead included)
    json_types: JsonTypes  # the Arrow type of its json members, for the dataset card


class _Stopped(Exception):
    pass


class _Readers:
    """An LRU of open source readers."""

    def __init__(self, sizes: dict[str, int | None], sources: SourceReads, max_open: int = MAX_OPEN_READERS) -> None:
        self.sizes, self.sources = sizes, sources
        self.max_open = max_open
        self.open: OrderedDict[str, RangeReader] = OrderedDict()
        self.bytes_fetched = 0

    def get(self, uri: str) -> RangeReader:
        reader = self.open.get(uri)
        if reader is not None:
            self.open.move_to_end(uri)
            return reader
        if len(self.open) >= self.max_open:
            _, old = self.open.popitem(last=False)
            self._close(old)
        reads = self.sources.reads
        reader = open_range_reader(uri, size=self.sizes.get(uri), window=reads.read_window,
                                   cache_windows=reads.read_cache_windows, access=self.sources.access)
        self.open[uri] = reader
        return reader

    def _close(self, reader: RangeReader) -> None:
        self.bytes_fetched += reader.bytes_fetched
        reader.close()

    def close_all(self) -> None:
        while self.open:
            _, reader = self.open.popitem()
            self._close(reader)


class SourceReads(NamedTuple):
    """How the export reads its source shards (the settings' source access and read limits)."""

    access: SourceAccess
    reads: ReadLimits


def source_reads() -> SourceReads:
    """The settings' source access and read limits, resolved once per export."""
    from silake.settings import current

    settings = current()
    return SourceReads(settings.source_access(), settings.read_limits())


def write_shard(shard: PlannedShard, target: OutputTarget, sizes: dict[str, int | None],
                on_bytes: Callable[[int], None] | None = None, stop: threading.Event | None = None,
                sources: SourceReads | None = None) -> ShardResult:
    """Write one planned shard to a local staging file, check it, publish it under its name."""
    path = os.path.join(target.staging_dir(), shard.name.replace("/", "__") + ".partial")
    readers = _Readers(sizes, sources or source_reads())
    written: dict[str, dict[str, WrittenMember]] = {}
    json_types = JsonTypes()
    try:
        with open(path, "wb", buffering=1 << 20) as fh:
            tar = TarStreamWriter(fh)
            for sample in shard.samples:
                reader = readers.get(sample.file.shard_uri)
                per_sample: dict[str, WrittenMember] = {}
                for m in sample.members:
                    failpoints.hit("export.member")
                    if stop is not None and stop.is_set():
                        raise _Stopped
                    check_source_header(reader, m.offset, m.size, sample.key, m.ext)
                    chunks = iter_range(reader, m.offset, m.size)
                    if m.ext == "json":
                        chunks = json_types.observe(chunks, m.size)
                    per_sample[m.ext] = tar.add(m.name, m.size, chunks, on_bytes=on_bytes)
                written[sample.key] = per_sample
            nbytes, sha = tar.close()
    except BaseException:
        readers.close_all()
        if os.path.exists(path):
            os.remove(path)
        raise
    readers.close_all()
    if nbytes != shard.tar_bytes:  # the plan knows every byte: a mismatch is a bug
        os.remove(path)
        raise CopyFailed(f"{shard.name}: wrote {nbytes} bytes, planned {shard.tar_bytes}")
    target.publish(path, shard.name)
    return ShardResult(shard, nbytes, sha, written, readers.bytes_fetched, json_types)


class ByteProgress:
    """A thread-safe tqdm bar over payload bytes copied (or nothing)."""

    def __init__(self, total: int | None, enabled: bool, desc: str = "export") -> None:
        self._lock = threading.Lock()
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                             dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def export_shards(shards: Sequence[PlannedShard], target: OutputTarget, sizes: dict[str, int | None], *,
                  progress: bool = False, jobs: int = DEFAULT_JOBS, sources: SourceReads | None = None
                  ) -> list[ShardResult]:
    """Write every planned shard (concurrently); on the first failure stop, and raise CopyFailed."""
    bar = ByteProgress(sum(s.payload_bytes for s in shards), progress)
    stop = threading.Event()
    sources = sources or source_reads()
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(shards)))) as pool:
            futures = {pool.submit(write_shard, s, target, sizes, bar.update, stop, sources): s for s in shards}
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # interrupted: let the workers stop at their next member
                stop.set()
                raise
            failed = sorted((f for f in done if f.exception() is not None), key=lambda f: futures[f].index)
            if failed:
                stop.set()
                for f in futures:
                    f.cancel()
                wait(futures)
                raise _copy_failed(futures[failed[0]], failed[0].exception())  # type: ignore[arg-type]
            return [f.result() for f in futures]  # submitted in shard order
    finally:
        bar.close()


def _copy_failed(shard: PlannedShard, exc: BaseException) -> BaseException:
    """The CopyFailed to raise for a worker's failure (anything unexpected is re-raised as is)."""
    if isinstance(exc, SourceMismatch):
        err: BaseException = CopyFailed(f"{shard.name}: source changed since ingest: {exc}")
    elif isinstance(exc, (SourceError, OSError, ValueError)):
        err = CopyFailed(f"{shard.name}: {exc}")
    else:
        return exc
    err.__cause__ = exc
    return err
