"""The SQL layer as one script: the `.sql` files of `sql/` (installed as `silake.sql`), in layer order.

Layers run in order - base, analytics, qa - and the files of a layer in name order. Each base file
`sql/base/<table>.sql` defines the view of one lake table; a lake without that table (say, no
filelist.csv was ingested) gets an empty view with the table's columns instead, so every view above it
still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb
import pyarrow as pa

from silake.schemas.tables import PARTITION_COLUMNS, TABLES, Table

from .connection import sql_literal

LAYERS: tuple[str, ...] = ("base", "analytics", "qa")
SQL_PACKAGE = "silake.sql"


@dataclass(frozen=True)
class SqlFile:
    layer: str
    name: str  # file name, e.g. 'files.sql'
    text: str

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".sql")

    @property
    def table(self) -> Table | None:
        """The lake table a base file defines the view of."""
        return TABLES.get(self.stem) if self.layer == "base" else None


def sql_root() -> Traversable:
    """The `sql/` folder: package data `silake.sql` of an installed wheel, else the source checkout's.

    (A setuptools editable install cannot import `silake.sql`, a namespace package mapped by package-dir,
    so an editable install reads the checkout's `sql/` directly.)
    """
    try:
        return files(SQL_PACKAGE)
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "sql"
        if checkout.is_dir():
            return checkout
        raise


def sql_files() -> list[SqlFile]:
    """Every view file, in execution order."""
    root = sql_root()
    out: list[SqlFile] = []
    for layer in LAYERS:
        entries = sorted((e for e in root.joinpath(layer).iterdir() if e.name.endswith(".sql")),
                         key=lambda e: e.name)
        out += [SqlFile(layer, e.name, e.read_text(encoding="utf-8")) for e in entries]
    return out


def table_glob(table: Table) -> str:
    """Path of a table's files relative to the lake root, as the base views read them."""
    if table.per_shard:
        return f"{table.name}/label=*/split=*/*.parquet"
    return f"{table.name}/{table.name}.parquet"


def tables_present(con: duckdb.DuckDBPyConnection, lake_root: str) -> set[str]:
    """Names of the lake tables with at least one file under `lake_root` (one glob per table)."""
    root = lake_root.rstrip("/")
    probes = " UNION ALL ".join(
        f"SELECT {sql_literal(t.name)} AS name FROM glob({sql_literal(f'{root}/{table_glob(t)}')}) "
        f"HAVING count(*) > 0"
        for t in TABLES.values()
    )
    # literal SQL, not parameters: binding Python parameters makes duckdb import pandas (seconds)
    return {name for (name,) in con.sql(probes).fetchall()}


_SCALAR_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN", pa.int16(): "SMALLINT", pa.int32(): "INTEGER",
    pa.int64(): "BIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
}


def duckdb_type(typ: pa.DataType) -> str:
    """The DuckDB type Parquet files of this Arrow type read as (the lake's types only)."""
    if typ in _SCALAR_TYPES:
        return _SCALAR_TYPES[typ]
    if pa.types.is_fixed_size_list(typ):
        return f"{duckdb_type(typ.value_type)}[{typ.list_size}]"
    if pa.types.is_list(typ):
        return f"{duckdb_type(typ.value_type)}[]"
    if pa.types.is_map(typ):
        return f"MAP({duckdb_type(typ.key_type)}, {duckdb_type(typ.item_type)})"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMP WITH TIME ZONE" if typ.tz else "TIMESTAMP"
    raise TypeError(f"no DuckDB type for {typ}")


def empty_view_sql(table: Table) -> str:
    """A view with the table's columns (and label/split for per-shard tables) and no rows."""
    columns = [(f.name, duckdb_type(f.type)) for f in table.schema]
    if table.per_shard:
        columns += [(c, "VARCHAR") for c in PARTITION_COLUMNS]
    select = ",\n    ".join(f'CAST(NULL AS {typ}) AS "{name}"' for name, typ in columns)
    return (f"-- {table.name}: the lake has no {table.name} files yet - an empty view with its columns.\n"
            f"CREATE OR REPLACE VIEW {table.name} AS\nSELECT\n    {select}\nWHERE false;\n")


def baked_lake_path_sql(lake_root: str) -> str:
    """`lake_path` with the lake root as a literal (for the catalog file: session variables are not
    persisted), still overridable with SET VARIABLE lake_root."""
    return ("-- The lake root baked in; SET VARIABLE lake_root = '...' points the views elsewhere.\n"
            "CREATE OR REPLACE MACRO lake_path(relative_path) AS\n"
            f"    rtrim(coalesce(getvariable('lake_root'), {sql_literal(lake_root)}), '/') || '/' "
            "|| relative_path;\n")


def view_script(lake_root: str, present: set[str], *, bake_root: bool = False) -> str:
    """Every view definition as one SQL script for `lake_root` (an absolute path or a URI).

    Without `bake_root` the script starts with SET VARIABLE lake_root; with it, `lake_path` carries the
    root as a literal instead (what the catalog file stores).
    """
    parts = [] if bake_root else [f"SET VARIABLE lake_root = {sql_literal(lake_root)};\n"]
    for f in sql_files():
        if f.table is not None and f.table.name not in present:
            parts.append(empty_view_sql(f.table))
            continue
        parts.append(f"-- >>> sql/{f.layer}/{f.name}\n{f.text.rstrip()}\n")
        if bake_root and f.layer == "base" and f.stem == "00_lake":
            parts.append(baked_lake_path_sql(lake_root))
    return "\n".join(parts)


def define_views(con: duckdb.DuckDBPyConnection, lake_root: str) -> set[str]:
    """Define every view on `con` (which must be able to read `lake_root`); returns the tables present."""
    present = tables_present(con, lake_root)
    con.execute(view_script(lake_root, present))
    return present
