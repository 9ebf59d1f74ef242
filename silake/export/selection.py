"""Predicate -> selected files: one row per file carrying every `files` column and the `file_qa` flags.

The predicate is parsed as a single SQL expression (`duckdb.SQLExpression`: no second statement, no
`) union (...`) and bound against that row before anything is written; DuckDB's parser, binder or
conversion message is raised verbatim as `BadPredicate`.

A file id selected twice (the release lists some under two labels/splits: QA flag `duplicate_file_id`) is
exported once: the first selected copy by the SQL layer's `file_copy_order` (the order `canonical_files`
picks by); the others are reported in the manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from silake.export.errors import BadInput, BadPredicate
from silake.lake.sqltext import quote as sql_identifier
from silake.schemas.release import MEMBER_EXTENSIONS

#: The SQL layer's order of the copies of one file id (sql/analytics/00_canonical_files.sql).
COPY_ORDER = "file_copy_order(label, split, shard_uri, sample_index)"
#: Columns joined on between `files` and `file_qa`.
JOIN_KEYS: tuple[str, ...] = ("file_id", "label", "split")
_NONDETERMINISTIC = re.compile(r"\b(random|uuid|gen_random_uuid|now|current_timestamp|current_time|"
                               r"get_current_timestamp|setseed)\s*\(|\bcurrent_(timestamp|date|time)\b", re.I)


@dataclass(frozen=True)
class SelectedFile:
    """One selected file and where its members sit in its source shard."""

    file_id: str
    label: str
    split: str
    interaction_key: str
    shard_uri: str
    sample_index: int
    run_id: str
    members: dict[str, tuple[int, int] | None]  # ext -> (payload offset, size); None when absent

    @property
    def order_key(self) -> tuple[str, str, str, str]:
        return (self.label, self.split, self.interaction_key, self.file_id)


@dataclass(frozen=True)
class SourceShard:
    """The commit row (`ingest_shards`) of a source shard."""

    uri: str
    shard_key: str
    label: str
    split: str
    size: int | None
    etag: str | None
    status: str | None
    run_id: str | None


@dataclass
class Selection:
    """What a predicate selects, in export order (label, split, interaction_key, file_id)."""

    predicate: str
    lake: str
    files: list[SelectedFile]
    files_in_lake: int
    snapshot: int | None = None  # the lake snapshot the selection was read at
    duplicates: list[SelectedFile] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)  # distinct run_id of the selected files
    ingest_run_ids: list[str] = field(default_factory=list)  # distinct run_id of ingest_shards
    shards: dict[str, SourceShard] = field(default_factory=dict)  # source shards of the selection, by URI
    warnings: list[str] = field(default_factory=list)

    @property
    def shard_uris(self) -> list[str]:
        return sorted({f.shard_uri for f in self.files})


# -- the lake as DuckDB views -------------------------------------------------------------------------------
def relation_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {sql_identifier(relation)}").fetchall()]


_IDENT = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')


def referenced_names(predicate: str) -> set[str]:
    """Every identifier-like word of the predicate, lower-cased (a superset of the columns it names)."""
    return {(q.replace('""', '"') if q else w).lower() for q, w in _IDENT.findall(predicate)}


def file_rows_sql(con: duckdb.DuckDBPyConnection, predicate: str | None = None) -> tuple[str, str]:
    """SQL of one row per file: every `files` column plus the `file_qa` columns `files` does not have.

    Returns (full, to_run): `file_qa` evaluates every QA rule over the lake, so `to_run` joins it only when
    the predicate may name one of its columns (any identifier-like word counts: a false match only costs
    the join); `full` always joins it (binding against it gives the binder's complete list of candidates).
    """
    names = relation_names(con)
    if "files" not in names:
        raise BadInput("the lake has no files view")
    plain = "SELECT * FROM files"
    if "file_qa" not in names:
        return plain, plain
    f_cols = columns_of(con, "files")
    q_cols = columns_of(con, "file_qa")
    keys = [k for k in JOIN_KEYS if k in q_cols]
    extra = [c for c in q_cols if c not in f_cols]
    select = ", ".join(["f.*", *(f"q.{sql_identifier(c)}" for c in extra)])
    using = ", ".join(sql_identifier(k) for k in keys)
    full = f"SELECT {select} FROM files AS f LEFT JOIN file_qa AS q USING ({using})"
    if predicate is not None and not referenced_names(predicate) & {c.lower() for c in extra}:
        return full, plain
    return full, full


# -- the selection ------------------------------------------------------------------------------------------
_SELECT_COLUMNS = ("file_id", "label", "split", "interaction_key", "shard_uri", "sample_index", "run_id",
                   *(f"{m}_{part}" for m in MEMBER_EXTENSIONS for part in ("offset", "size")))


def parse_predicate(predicate: str) -> duckdb.Expression:
    """The predicate as one DuckDB expression; BadPredicate with the parser's message otherwise."""
    if not predicate.strip():
        raise BadPredicate("empty predicate (use --where true to select every file)")
    try:
        return duckdb.SQLExpression(predicate)
    except duckdb.Error as exc:
        raise BadPredicate(f"invalid predicate {predicate!r}: {exc}") from exc


def select_files(con: duckdb.DuckDBPyConnection, predicate: str, lake: str = "", *,
                 snapshot: int | None = None) -> Selection:
    """Evaluate `predicate` over one row per file; raises BadPredicate (DuckDB's message) on a bad one."""
    expr = parse_predicate(predicate)
    full_sql, run_sql = file_rows_sql(con, predicate)
    try:
        con.sql(full_sql).filter(expr)  # bind against every column (the binder's candidates name them all)
        rel = con.sql(run_sql).filter(expr).select(*(duckdb.ColumnExpression(c) for c in _SELECT_COLUMNS))
        rows = rel.order(f"file_id, {COPY_ORDER}").fetchall()
    except duckdb.Error as exc:
        raise BadPredicate(f"invalid predicate {predicate!r}: {exc}") from exc
    files_in_lake = int(con.execute("SELECT count(*) FROM files").fetchone()[0])  # type: ignore[index]

    chosen: dict[str, SelectedFile] = {}
    duplicates: list[SelectedFile] = []
    for row in rows:
        rec = dict(zip(_SELECT_COLUMNS, row, strict=True))
        members: dict[str, tuple[int, int] | None] = {}
        for m in MEMBER_EXTENSIONS:
            off, size = rec[f"{m}_offset"], rec[f"{m}_size"]
            members[m] = None if off is None or size is None else (int(off), int(size))
        sf = SelectedFile(rec["file_id"], rec["label"], rec["split"], rec["interaction_key"],
                          rec["shard_uri"], int(rec["sample_index"]), rec["run_id"], members)
        if sf.file_id in chosen:
            duplicates.append(sf)
        else:
            chosen[sf.file_id] = sf
    files = sorted(chosen.values(), key=lambda f: f.order_key)

    sel = Selection(predicate, lake, files, files_in_lake, snapshot, duplicates)
    sel.run_ids = sorted({f.run_id for f in files if f.run_id is not None})
    sel.shards, sel.ingest_run_ids = _source_shards(con, {f.shard_uri for f in files})
    if _NONDETERMINISTIC.search(predicate):
        sel.warnings.append("the predicate calls a non-deterministic function: the same predicate may not "
                            "select the same files again")
    return sel


def _source_shards(con: duckdb.DuckDBPyConnection, uris: set[str]
                   ) -> tuple[dict[str, SourceShard], list[str]]:
    """Commit rows of the shards in `uris`, and the distinct run ids of every commit row."""
    if "ingest_shards" not in relation_names(con):
        return {}, []
    rows = con.execute(
        "SELECT shard_uri, shard_key, label, split, size, etag, status, run_id FROM ingest_shards "
        "ORDER BY shard_uri, label, split, shard_key"
    ).fetchall()
    shards: dict[str, SourceShard] = {}
    run_ids: set[str] = set()
    for uri, key, label, split, size, etag, status, run_id in rows:
        if run_id is not None:
            run_ids.add(run_id)
        if uri in uris and uri not in shards:
            shards[uri] = SourceShard(uri, key, label, split, size, etag, status, run_id)
    return shards, sorted(run_ids)
