"""Progress of a running ingest, read from the lake's commit rows (works for any runner).

Workers publish one `ingest_shards` row per finished shard; the launcher polls the new ones and shows
shards done/total, files and the fetch rate in a tqdm bar.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pyarrow.parquet as pq
from tqdm import tqdm

from silake.lake.layout import table_glob
from silake.lake.storage import LakeStorage
from silake.schemas.tables import INGEST_SHARDS


class CommitWatcher:
    """Polls `ingest_shards` for rows of `run_id` in a background thread and drives a progress bar."""

    def __init__(self, storage: LakeStorage, run_id: str, total: int, interval: float = 1.0) -> None:
        self.storage, self.run_id, self.interval = storage, run_id, interval
        self.bar = tqdm(total=total, unit="shard", desc="ingest", dynamic_ncols=True)
        self._seen: dict[str, float] = {}
        self._files = self._bytes = 0
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> CommitWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
        self.bar.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # progress is best-effort; the run's result is what counts
                self.poll()

    def poll(self) -> None:
        fs = self.storage.fs
        for path, info in fs.glob(self.storage.path(table_glob("ingest_shards")), detail=True).items():
            stamp = info.get("mtime") or info.get("LastModified") or info.get("size")
            if self._seen.get(path) == stamp:
                continue
            self._seen[path] = stamp
            row = pq.read_table(path, filesystem=fs, schema=INGEST_SHARDS).to_pylist()[0]
            if row["run_id"] != self.run_id:
                continue
            self._files += row["files_rows"]
            self._bytes += row["bytes_fetched"]
            elapsed = max(time.monotonic() - self._t0, 1e-6)
            self.bar.set_postfix(files=self._files, fetched_MBps=f"{self._bytes / elapsed / 1e6:.1f}")
            self.bar.update(1)
