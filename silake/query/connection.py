"""Open DuckDB on a lake - a local directory or an object-store prefix - with every view defined.

    con = connect("lake")                 # the current snapshot
    con = connect("lake", snapshot=12)    # time travel: the lake as snapshot 12 left it

The catalog is attached read-only as `lake`; the session's views live in its in-memory database, ahead of
the lake on the search path, so `FROM files` and `FROM qa_flags` both work unqualified.
"""

from __future__ import annotations

import duckdb

from silake.lake.catalog import Lake, LakeError, locate_lake
from silake.lake.session import open_reader

from .views import define_views


def open_lake(lake: str, *, catalog: str | None = None) -> Lake:
    """The lake at `lake` (raises LakeError with the way out when there is none)."""
    return locate_lake(lake, catalog)


def connect(lake: str | Lake, *, snapshot: int | None = None, catalog: str | None = None,
            column_comments: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection on the lake with every table and view of the SQL layer (`column_comments`:
    with the view columns' descriptions too, as the `silake sql` shell and the Python API have them)."""
    target = lake if isinstance(lake, Lake) else open_lake(lake, catalog=catalog)
    con = open_reader(target, snapshot=snapshot)
    try:
        define_views(con, column_comments=column_comments)
    except duckdb.Error as exc:
        from silake.lake.ddl import missing_columns  # (Arrow schemas: only on this path)

        gaps = missing_columns(catalog_columns(con))
        con.close()
        if gaps:
            raise LakeError(
                f"the lake at {target.root} was written by an older silake (its tables lack "
                f"{', '.join(gaps[:5])}{' ...' if len(gaps) > 5 else ''}): run `silake ingest SOURCE --lake "
                f"{target.root}` once - the tables gain the columns and the shards written before are re-read"
            ) from None
        raise LakeError(f"cannot define the SQL layer on {target.root}: {exc}") from None
    return con


def catalog_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """table -> column -> type of the lake's tables, as its catalog holds them."""
    out: dict[str, dict[str, str]] = {}
    for table, column, typ in con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                                          "WHERE database_name = 'lake'").fetchall():
        out.setdefault(table, {})[column] = typ
    return out


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The snapshot a connection reads (the attach's SNAPSHOT_VERSION, else the latest)."""
    row = con.execute("SELECT id FROM ducklake_current_snapshot('lake')").fetchone()
    return int(row[0]) if row else 0
