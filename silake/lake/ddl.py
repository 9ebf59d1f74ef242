"""The catalog's tables and their comments, generated from `silake.schemas.tables` (nothing here declares a
column).

DuckLake has no fixed-size ARRAY type, so the npz arrays' fixed-size lists are LISTs in the catalog (the
Parquet files store both as the same LIST). `body_pose[1][2]` and every list function work on them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pyarrow as pa

from silake.schemas.tables import LARGE_TABLES, PARTITION_COLUMNS, TABLES, Table

from .sqltext import quote, sql_literal

_SCALAR_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN", pa.int16(): "SMALLINT", pa.int32(): "INTEGER",
    pa.int64(): "BIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
}


def duckdb_type(typ: pa.DataType) -> str:
    """The DuckDB (and DuckLake) type of a lake column of this Arrow type."""
    if typ in _SCALAR_TYPES:
        return _SCALAR_TYPES[typ]
    if pa.types.is_fixed_size_list(typ) or pa.types.is_list(typ):
        return f"{duckdb_type(typ.value_type)}[]"
    if pa.types.is_map(typ):
        return f"MAP({duckdb_type(typ.key_type)}, {duckdb_type(typ.item_type)})"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMP WITH TIME ZONE" if typ.tz else "TIMESTAMP"
    raise TypeError(f"no DuckDB type for {typ}")


def table_columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column of the table as the catalog holds it."""
    columns = [(f.name, duckdb_type(f.type)) for f in table.schema]
    if table.per_shard:
        columns += [(c, "VARCHAR") for c in PARTITION_COLUMNS]
    return columns


def create_table_sql(table: Table) -> str:
    """CREATE TABLE (and its hive partitioning) in the current catalog."""
    cols = ",\n    ".join(f"{quote(n)} {t}" for n, t in table_columns(table))
    sql = f"CREATE TABLE {quote(table.name)} (\n    {cols}\n);\n"
    if table.per_shard:
        sql += f"ALTER TABLE {quote(table.name)} SET PARTITIONED BY ({', '.join(PARTITION_COLUMNS)});\n"
    return sql


def evolve_sql(table: Table, existing: dict[str, str]) -> str:
    """ALTER TABLE ... ADD COLUMN for columns the catalog lacks; raises on a changed or dropped column.

    `existing`: column name -> DuckDB type as `duckdb_columns()` reports it for the catalog's table.
    """
    wanted = dict(table_columns(table))
    changed = [f"{n}: {existing[n]} in the catalog, {t} here" for n, t in wanted.items()
               if n in existing and existing[n] != t]
    dropped = sorted(set(existing) - set(wanted))
    if changed or dropped:
        raise ValueError(f"table {table.name} of this lake has another schema than this silake version writes "
                         f"({'; '.join(changed + [f'{d}: not written any more' for d in dropped])}); rebuild "
                         "the lake with `silake ingest --full-refresh` into a new root")
    return "".join(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(n)} {t};\n"
                   for n, t in wanted.items() if n not in existing)


def comments_sql(table: Table, current: Mapping[str | None, str | None] | None = None) -> str:
    """COMMENT ON the table and its columns, with the descriptions of schemas/tables.py, wherever the catalog's
    comments `current` (column -> comment; key None: the table's) differ - all of them when it is None."""
    current = current or {}
    name = quote(table.name)
    wanted: dict[str | None, tuple[str, str]] = {None: (f"TABLE {name}", table.description)}
    wanted.update({c: (f"COLUMN {name}.{quote(c)}", doc) for c, doc in table.column_docs.items()})
    return "".join(f"COMMENT ON {target} IS {sql_literal(doc)};\n"
                   for key, (target, doc) in wanted.items() if current.get(key) != doc)


def all_tables() -> list[Table]:
    return list(TABLES.values())


#: The view a catalog's tables are fingerprinted by: a writer whose tables match skips comparing them.
TABLES_INFO_VIEW = "lake_tables"


def tables_fingerprint() -> str:
    """A digest of every table as this silake creates it (columns, types, partitioning, comments, options)."""
    script = "".join(create_table_sql(t) + comments_sql(t) for t in all_tables())
    return hashlib.sha256((script + ",".join(sorted(LARGE_TABLES))).encode()).hexdigest()


def tables_info_sql(digest: str, version: str) -> str:
    """The marker view a writer stores once the catalog's tables match `digest`."""
    return (f"CREATE OR REPLACE VIEW {TABLES_INFO_VIEW} AS SELECT {sql_literal(digest)} AS tables_fingerprint, "
            f"{sql_literal(version)} AS written_by_silake, 'the tables as silake creates them; the data is in "
            "the tables' AS note;\n"
            f"COMMENT ON VIEW {TABLES_INFO_VIEW} IS 'which silake''s table definitions this catalog holds (a writer "
            "compares its tables only when the fingerprint differs)';\n")


def missing_columns(existing: dict[str, dict[str, str]]) -> list[str]:
    """`table.column` this silake declares and a catalog lacks (`existing`: table -> column -> type)."""
    return [f"{t.name}.{name}" for t in all_tables() for name, _ in table_columns(t)
            if name not in existing.get(t.name, {})]
