"""The SQL layer as one script: the `.sql` files of `sql/` (installed as `silake.sql`), in layer order.

Layers run in order - base (the release's constants as macros), analytics, qa - and the files of a layer
in name order, among them the files generated from the QA registry (`silake.query.generated`). Every view
and view column carries a comment from its file's header (`silake.query.comments`). The lake's tables are
the catalog's own tables. A session defines the views in its private in-memory database, ahead of the lake
on the search path (so they work at any snapshot); the writer also stores them in the catalog, so a plain
DuckDB that attaches the lake has them too (`publish_views`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from silake.lake.session import ALIAS, CatalogWriter
from silake.lake.sqltext import sql_literal

from .comments import ViewDoc, column_comments_sql, view_comments_sql, view_docs
from .generated import generated_files

LAYERS: tuple[str, ...] = ("base", "analytics", "qa")
SQL_PACKAGE = "silake.sql"
#: The view the catalog's copy of the SQL layer is fingerprinted by.
CATALOG_INFO_VIEW = "lake_catalog"


@dataclass(frozen=True)
class SqlFile:
    layer: str
    name: str  # file name, e.g. '20_speech_activity.sql'
    text: str
    generated: bool = False  # written from the QA registry by silake.query.generated (committed, kept current)

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".sql")

    @property
    def source(self) -> str:
        return f"{'generated: ' if self.generated else ''}sql/{self.layer}/{self.name}"


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
    """Every view file of `sql/`, in execution order (the generated ones are files too, so a plain DuckDB can
    run the folder; `tests/test_sql.py` keeps them equal to what the registry generates)."""
    root = sql_root()
    out: list[SqlFile] = []
    for layer in LAYERS:
        names = {name for name, _ in generated_files(layer)}
        files = [SqlFile(layer, e.name, e.read_text(encoding="utf-8"), generated=e.name in names)
                 for e in root.joinpath(layer).iterdir() if e.name.endswith(".sql")]
        out += sorted(files, key=lambda f: f.name)
    return out


def _docs(files: list[SqlFile]) -> list[ViewDoc]:
    return list(view_docs((f.source, f.text) for f in files).values())


@cache
def view_script() -> str:
    """Every macro and view definition, then every view's comment, as one SQL script (unqualified names: run
    it with the lake on the search path). Read and parsed once per process (the files are package data)."""
    files = sql_files()
    return ("\n".join(f"-- >>> {f.source}\n{f.text.rstrip()}\n" for f in files)
            + "\n-- >>> the views' comments (each from its file's header)\n" + view_comments_sql(_docs(files)))


@cache
def column_comments_script() -> str:
    """COMMENT ON every view column, for a session's in-memory views (DuckLake keeps no view column
    comments, so the catalog's copy of the views has none)."""
    return column_comments_sql(_docs(sql_files()))


def session_setup_sql() -> str:
    """Make the session's in-memory database the default, ahead of the lake on the search path."""
    return f"USE memory;\nSET search_path = 'memory.main,{ALIAS}.main';\n"


def define_views(con: duckdb.DuckDBPyConnection, *, column_comments: bool = False) -> None:
    """Define every view in the session, with its comment (the lake must be attached as `lake`), and with
    `column_comments` every view column's (~350 statements, ~0.1 s: for interactive sessions only)."""
    con.execute(session_setup_sql() + view_script() + (column_comments_script() if column_comments else ""))


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
            "'the views of silake''s SQL layer (sql/); the data is in the lake''s tables' AS note;\n"
            f"COMMENT ON VIEW {CATALOG_INFO_VIEW} IS 'which silake wrote the views stored in this catalog';\n")

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"USE {ALIAS};\n" + view_script() + info)
        writer.derive(c, None)  # the stored QA findings follow the new SQL

    writer.transaction(body, message="silake: SQL layer views", extra={"sql_fingerprint": digest})
    return True
