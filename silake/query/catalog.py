"""The lake's catalog file, `ROOT/lake.duckdb`: every view, no data, for people who only have DuckDB.

    duckdb ROOT/lake.duckdb            # DuckDB 1.5.x CLI or Python package; nothing else to install

The views read the Parquet files in place. Session variables are not persisted, so the catalog carries the
lake root as a literal in its `lake_path` macro; `SET VARIABLE lake_root = '...'` still points it at a
moved copy. For an s3:// lake the catalog is written locally, then uploaded; readers LOAD httpfs, create an
S3 secret and ATTACH 's3://.../lake.duckdb' (READ_ONLY) - or download the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime

import duckdb

from silake.lake.storage import LakeStorage

from .connection import normalize_lake_root, open_duckdb, sql_literal
from .views import tables_present, view_script

CATALOG_FILE = "lake.duckdb"
#: The DuckDB release line that can open the catalog (its storage format and the SQL of its views).
REQUIRED_DUCKDB = "1.5"


def _about_sql(lake_root: str, present: set[str], fingerprint: str) -> str:
    """`lake_catalog`: one row describing the catalog itself."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    tables = ", ".join(sorted(present)) or "(none)"
    return (
        "-- lake_catalog: what this catalog file is.\n"
        "CREATE OR REPLACE VIEW lake_catalog AS SELECT\n"
        f"    {sql_literal(lake_root)} AS lake_root,\n"
        f"    {sql_literal(tables)} AS tables_present,\n"
        f"    {sql_literal(duckdb.__version__)} AS written_with_duckdb,\n"
        f"    {sql_literal(REQUIRED_DUCKDB + '.x')} AS requires_duckdb,\n"
        f"    TIMESTAMPTZ {sql_literal(created)} AS written_at,\n"
        f"    {sql_literal(fingerprint)} AS fingerprint,\n"
        "    'views only: the data stays in the Parquet files under lake_root; s3:// lakes need httpfs and "
        "an S3 secret' AS note;\n"
    )


def _existing_fingerprint(storage: LakeStorage, tmp: str) -> str | None:
    """The fingerprint recorded in the lake's current catalog file, if there is a readable one."""
    dest = storage.path(CATALOG_FILE)
    if not storage.exists(dest):
        return None
    local = os.path.join(tmp, "current.duckdb")
    with open(local, "wb") as fh:
        fh.write(storage.read_bytes(dest))
    try:
        with duckdb.connect(local, read_only=True) as con:
            row = con.execute("SELECT fingerprint FROM lake_catalog").fetchone()
    except duckdb.Error:  # older or foreign file: rewrite it
        return None
    return row[0] if row else None


def write_catalog(lake_root: str) -> str:
    """Write `lake_root/lake.duckdb` (replacing it atomically) and return its URI.

    The file is left untouched when it already holds the same views for the same root and tables, so a run
    that adds no table changes no file.
    """
    root = normalize_lake_root(lake_root)
    storage = LakeStorage(root)
    with tempfile.TemporaryDirectory(prefix="silake-catalog-") as tmp:
        path = os.path.join(tmp, CATALOG_FILE)
        con = open_duckdb(root, path)  # httpfs and the S3 secret live in this session only
        try:
            present = tables_present(con, root)
            script = view_script(root, present, bake_root=True)
            fingerprint = hashlib.sha256(f"{duckdb.__version__}\n{script}".encode()).hexdigest()
            if _existing_fingerprint(storage, tmp) == fingerprint:
                return root.rstrip("/") + "/" + CATALOG_FILE
            con.execute(script)
            con.execute(_about_sql(root, present, fingerprint))
            con.execute("CHECKPOINT")
        finally:
            con.close()
        storage.publish_file(path, storage.path(CATALOG_FILE))
    return root.rstrip("/") + "/" + CATALOG_FILE
