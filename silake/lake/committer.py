"""The commit step: staged shards become visible, a batch at a time, in one catalog transaction each.

For every shard of a batch the transaction removes the rows of the shard's previous version from every
table (exactly: by label, split and shard_key), registers the new data files with
`ducklake_add_data_files` and writes the shard's `ingest_shards` row. A reader sees all of a batch or none
of it. A 'failed' shard (unreadable) replaces only its `ingest_shards` row and adds its quarantine rows:
whatever an earlier run committed for it stays. Only one process commits to a lake: the lease holder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from silake import failpoints
from silake.schemas.tables import INGEST_SHARDS, SHARD_TABLES

from .commit import CommitRecord, ShardId, changed_files, commit_rows, committed_versions
from .maintenance import maybe_compact
from .session import ALIAS, CatalogWriter
from .sqltext import quote, sql_literal
from .staging import (
    ShardManifest,
    discard,
    list_runs,
    list_staged,
    read_manifest,
    remove_run_dir,
    settle,
)
from .storage import LakeStorage

log = logging.getLogger(__name__)
#: Registered as a DuckDB view while a batch commits.
_ROWS_VIEW = "silake_commit_rows"


@dataclass(frozen=True)
class CommitPolicy:
    """When a run commits what its workers staged.

    A commit costs ~0.5 s of CPU however many shards it holds (the catalog transaction, the QA refresh of the
    files it changed, the small tables' compaction check), on the cores the workers use - and on a remote
    lake one upload of the catalog. So finished shards wait: they are committed once the first of them has
    waited `wait` seconds (which bounds how far readers lag behind the workers) or `max_shards` are staged,
    and at the end of the run. A transaction holds at most `max_shards` shards (which bounds its size).
    """

    wait: float = 30.0
    max_shards: int = 100


#: Commit whatever is staged at every look (tests, and the one-shot committers of a finished run).
EAGER = CommitPolicy(wait=0.0)


def shard_predicate(shards: Iterable[ShardId]) -> str:
    """A WHERE clause matching the rows of `shards`, grouped by partition so files prune by their stats."""
    by_partition: dict[tuple[str, str], list[str]] = {}
    for label, split, key in sorted(set(shards)):
        by_partition.setdefault((label, split), []).append(key)
    terms = [f"(label = {sql_literal(label)} AND split = {sql_literal(split)} AND shard_key IN "
             f"({', '.join(sql_literal(k) for k in keys)}))" for (label, split), keys in by_partition.items()]
    return " OR ".join(terms) or "false"


@dataclass(frozen=True)
class _Current:
    run_id: str
    attempt: str | None
    status: str


def _current_rows(con: duckdb.DuckDBPyConnection, shards: list[ShardId]) -> dict[ShardId, _Current]:
    rows = con.execute(f"SELECT label, split, shard_key, run_id, attempt, status FROM ingest_shards "
                       f"WHERE {shard_predicate(shards)}").fetchall()
    return {(label, split, key): _Current(run_id, attempt, status)
            for label, split, key, run_id, attempt, status in rows}


@dataclass
class BatchResult:
    snapshot: int | None
    committed: list[ShardManifest] = field(default_factory=list)
    already: list[ShardManifest] = field(default_factory=list)  # committed before (by a commit not settled)
    superseded: list[ShardManifest] = field(default_factory=list)  # another attempt of the run got there first


def commit_batch(writer: CatalogWriter, manifests: list[ShardManifest], *, message: str,
                 extra: dict[str, object] | None = None) -> BatchResult:
    """Commit `manifests` in one transaction; returns what was committed and what was superseded."""
    latest: dict[ShardId, ShardManifest] = {}
    for m in sorted(manifests, key=lambda m: m.commit.finished_at):
        latest[m.commit.shard_id] = m  # two attempts at one shard in a batch: the last finished wins
    result = BatchResult(None, superseded=[m for m in manifests if latest[m.commit.shard_id] is not m])
    root = writer.lake.data_path

    def body(con: duckdb.DuckDBPyConnection) -> None:
        t0 = time.perf_counter()
        current = _current_rows(con, list(latest))
        todo: list[ShardManifest] = []
        for sid, m in sorted(latest.items()):
            prev = current.get(sid)
            if prev is not None and (prev.run_id, prev.attempt) == (m.claim.run_id, m.claim.attempt):
                result.already.append(m)  # this very attempt is committed: its files are live
            elif prev is not None and prev.run_id == m.claim.run_id and prev.status in ("ok", "truncated"):
                result.superseded.append(m)  # another attempt of this run was committed (a retried bundle)
            else:
                todo.append(m)
        if not todo:
            return
        touched = shard_predicate(m.commit.shard_id for m in todo if m.commit.done)
        before = changed_files(con, touched)
        replaced = [m.commit.shard_id for m in todo if m.commit.done and m.commit.shard_id in current]
        if replaced:
            where = shard_predicate(replaced)
            for table in SHARD_TABLES:
                con.execute(f"DELETE FROM {quote(table)} WHERE {where}")
        rewritten = [m.commit.shard_id for m in todo if m.commit.shard_id in current]
        if rewritten:
            con.execute(f"DELETE FROM ingest_shards WHERE {shard_predicate(rewritten)}")
        for table in SHARD_TABLES:
            paths = [root + m.files[table].path for m in todo if table in m.files]
            if paths:
                listed = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
                con.execute(f"CALL ducklake_add_data_files({sql_literal(ALIAS)}, {sql_literal(table)}, {listed}, "
                            "hive_partitioning => true)").fetchall()
        con.register(_ROWS_VIEW, commit_rows([m.commit for m in todo]))
        try:
            cols = ", ".join(quote(c) for c in INGEST_SHARDS.names)
            con.execute(f"INSERT INTO ingest_shards ({cols}) SELECT {cols} FROM {_ROWS_VIEW}")
        finally:
            con.unregister(_ROWS_VIEW)
        t1 = time.perf_counter()
        writer.derive(con, pa.concat_tables([before, changed_files(con, touched)]))
        log.debug("commit of %d shards: %.2f s registering, %.2f s derived tables", len(todo), t1 - t0,
                  time.perf_counter() - t1)
        result.committed = todo

    keys = sorted(latest)
    info = {**(extra or {}), "shards": len(keys), "shard_keys": ["/".join(k) for k in keys]}
    snapshot = writer.transaction(body, message=message, extra=info)
    result.snapshot = snapshot if result.committed else None
    return result


class Committer:
    """Commits what the workers of one run stage, as they stage it; settles what dead runs left behind.

    `check` is called before every commit and raises if this run may not write any more (its lease is gone).
    `policy` says when staged shards are due (`EAGER`: at every look).
    """

    def __init__(self, writer: CatalogWriter, run_id: str, check: Callable[[], None] | None = None,
                 policy: CommitPolicy = EAGER) -> None:
        self.writer = writer
        self.storage: LakeStorage = writer.lake.storage
        self.run_id = run_id
        self.check = check
        self.policy = policy
        self.committed: list[CommitRecord] = []
        self.snapshots: list[int] = []
        self.compacted: dict[str, tuple[int, int]] = {}  # table -> (files before, after) over this run
        self._pending: dict[str, ShardManifest] = {}  # staged manifests not committed yet, by path
        self._waiting_since: float | None = None  # when the first of them was collected

    def collect(self) -> list[CommitRecord]:
        """Look at the run's staging directory (one listing) and read the manifests staged since the last
        look; returns their shards (finished, not committed yet)."""
        new = [p for p in list_staged(self.storage, self.run_id).manifests if p not in self._pending]
        for path in new:
            self._pending[path] = read_manifest(self.storage, path)
        if new and self._waiting_since is None:
            self._waiting_since = time.monotonic()
        return [self._pending[p].commit for p in new]

    def due(self) -> bool:
        """Whether the staged shards should be committed now (by the policy)."""
        if not self._pending or self._waiting_since is None:
            return False
        return (len(self._pending) >= self.policy.max_shards
                or time.monotonic() - self._waiting_since >= self.policy.wait)

    def poll(self) -> list[CommitRecord]:
        """Collect what is staged and commit it if it is due; returns the shards newly committed."""
        self.collect()
        return self.commit_pending() if self.due() else []

    def commit_pending(self) -> list[CommitRecord]:
        """Commit every collected manifest now, in transactions of at most `policy.max_shards` shards."""
        manifests = sorted(self._pending.values(), key=lambda m: m.commit.finished_at)
        # forgotten before committing: a manifest a failed commit left staged is read again at the next look
        self._pending, self._waiting_since = {}, None
        step = self.policy.max_shards
        records: list[CommitRecord] = []
        for i in range(0, len(manifests), step):
            records += self._commit(manifests[i:i + step], f"ingest run {self.run_id}")
        return records

    def _commit(self, manifests: list[ShardManifest], message: str,
                extra: dict[str, object] | None = None) -> list[CommitRecord]:
        if self.check is not None:
            self.check()
        failpoints.hit("commit.before")
        result = commit_batch(self.writer, manifests, message=message,
                              extra={"run_id": self.run_id, **(extra or {})})
        failpoints.hit("commit.after")
        self._settle(result)
        if result.snapshot is not None:
            self.compact_if_needed()  # keeps the small tables' file counts, and each commit's QA scan, bounded
            self.writer.renew_if_large()
            self.snapshots.append(result.snapshot)
        records = [m.commit for m in result.committed]
        self.committed += records
        return records

    def compact_if_needed(self) -> None:
        """Compact the small tables if one holds too many files; what it merged adds to `compacted`."""
        for table, (before, after) in (maybe_compact(self.writer) or {}).items():
            self.compacted[table] = (self.compacted.get(table, (before, after))[0], after)

    def _settle(self, result: BatchResult) -> None:
        for m in (*result.committed, *result.already):
            settle(self.storage, m.claim)
        for m in result.superseded:
            discard(self.storage, m.claim)

    def finish(self) -> None:
        """After the run: commit what is left, then drop the run's claims that never produced a manifest."""
        self.collect()
        self.commit_pending()
        for claim in list_staged(self.storage, self.run_id).claims:
            discard(self.storage, claim)
        remove_run_dir(self.storage, self.run_id)

    def recover(self) -> tuple[int, int]:
        """Settle what other (dead) runs staged: commit complete manifests of shard versions the lake does not
        hold yet, keep the files of attempts that were committed, delete the rest. Returns (shards
        recovered, attempts discarded). Call with the lease held."""
        recovered = discarded = 0
        for run_id in list_runs(self.storage):
            if run_id == self.run_id:
                continue
            staged = list_staged(self.storage, run_id)
            manifests = [read_manifest(self.storage, p) for p in staged.manifests]
            assert self.writer.con is not None
            done = committed_versions(self.writer.con)
            current = _current_rows(self.writer.con, [m.commit.shard_id for m in manifests]) if manifests else {}
            candidates: list[ShardManifest] = []
            for m in manifests:
                prev = current.get(m.commit.shard_id)
                if prev is not None and (prev.run_id, prev.attempt) == (m.claim.run_id, m.claim.attempt):
                    settle(self.storage, m.claim)  # committed, killed before it was settled
                elif done.get(m.commit.shard_id) != (m.commit.size, m.commit.etag) and self._complete(m):
                    candidates.append(m)
                else:
                    discard(self.storage, m.claim)
                    discarded += 1
            if candidates:
                if self.check is not None:
                    self.check()
                result = commit_batch(self.writer, candidates, message=f"recover run {run_id}",
                                      extra={"run_id": run_id, "recovered_by": self.run_id})
                self._settle(result)
                recovered += len(result.committed)
                discarded += len(result.superseded)
            with_manifest = {m.claim for m in manifests}
            for claim in staged.claims:
                if claim not in with_manifest:
                    discard(self.storage, claim)
                    discarded += 1
            remove_run_dir(self.storage, run_id, dead=True)
        if recovered or discarded:
            log.info("staging recovered: %d shards committed, %d attempts discarded", recovered, discarded)
        return recovered, discarded

    def _complete(self, m: ShardManifest) -> bool:
        for f in m.files.values():
            path = self.storage.path(f.path)
            if not self.storage.exists(path) or self.storage.fs.size(path) != f.bytes:
                return False
        return True
