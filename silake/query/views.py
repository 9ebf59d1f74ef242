"""The SQL layer as one script: the `.sql` files of `sql/` (installed as `silake.sql`), in layer order.

Layers run in order - base (the release's constants as macros), analytics, qa - and the files of a layer
in name order. The lake's tables are the catalog's own tables. A session defines the views in its private
in-memory database, ahead of the lake on the search path (so they work at any snapshot); the writer also
stores them in the catalog, so a plain DuckDB that attaches the lake has them too (`publish_views`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from silake.lake.session import ALIAS, CatalogWriter
from silake.lake.sqltext import sql_literal

LAYERS: tuple[str, ...] = ("base", "analytics", "qa")
SQL_PACKAGE = "silake.sql"
#: The view the catalog's copy of the SQL layer is fingerprinted by.
CATALOG_INFO_VIEW = "lake_catalog"


@dataclass(frozen=True)
class SqlFile:
    layer: str
    name: str  # file name, e.g. '20_speech_activity.sql'
    text: str

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".sql")


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


def view_script() -> str:
    """Every macro and view definition as one SQL script (unqualified names: run it with the lake on the
    search path)."""
    return "\n".join(f"-- >>> sql/{f.layer}/{f.name}\n{f.text.rstrip()}\n" for f in sql_files())


def session_setup_sql() -> str:
    """Make the session's in-memory database the default, ahead of the lake on the search path."""
    return f"USE memory;\nSET search_path = 'memory.main,{ALIAS}.main';\n"


def define_views(con: duckdb.DuckDBPyConnection) -> None:
    """Define every view in the session (the lake must be attached as `lake`)."""
    con.execute(session_setup_sql() + view_script())


def fingerprint() -> str:
    return hashlib.sha256(view_script().encode()).hexdigest()


def _catalog_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute(f"SELECT count(*) FROM duckdb_views() WHERE database_name = '{ALIAS}' AND "
                         f"view_name = '{CATALOG_INFO_VIEW}'").fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute(f"SELECT sql_fingerprint FROM {ALIAS}.main.{CATALOG_INFO_VIEW}").fetchone()
    return row[0] if row else None


def publish_views(writer: CatalogWriter) -> bool:
    """Store the SQL layer in the catalog unless it already holds this version; returns whether it wrote."""
    from silake import __version__

    con = writer.con
    assert con is not None
    digest = fingerprint()
    if _catalog_fingerprint(con) == digest:
        return False
    info = (f"CREATE OR REPLACE VIEW {CATALOG_INFO_VIEW} AS SELECT {sql_literal(digest)} AS sql_fingerprint, "
            f"{sql_literal(__version__)} AS written_by_silake, TIMESTAMPTZ "
            f"{sql_literal(datetime.now(UTC).isoformat(timespec='seconds'))} AS written_at, "
            "'the views of silake''s SQL layer (sql/); the data is in the lake''s tables' AS note;\n")

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"USE {ALIAS};\n" + view_script() + info)
        writer.derive(c, None)  # the stored QA findings follow the new SQL

    writer.transaction(body, message="silake: SQL layer views", extra={"sql_fingerprint": digest})
    return True
