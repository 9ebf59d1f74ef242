"""The SQL layer's derived tables, stored in the lake: the QA findings (`qa_findings`).

Every commit that changes the lake's data refreshes them inside its own catalog transaction, so each
snapshot holds the findings of its own data and reading `qa_flags` never recomputes anything. A commit
recomputes only what it can have changed. A file's findings depend on its own rows, on every file of its
interaction (partner flags) and on every file of its participant's digit stem (id variants, splits,
duplicates), so the targets of a refresh are the files sharing an interaction or a stem with a file the
commit touched, and the QA families of `sql/qa` run over the targets' own interactions and stems (their
scope, see `05_qa_scope.sql`), of which only the targets' findings are kept. A change of the metadata tables
or of the SQL layer itself recomputes everything.

A DuckDB transaction writes one database only (the lake), so the SQL layer is defined in the writer's
in-memory database beforehand (`prepare`), with the two scope views reading relations registered on the
connection, which a refresh replaces (registering is not a write).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from silake.lake.committer import CHANGED_COLUMNS
from silake.lake.session import ALIAS
from silake.schemas.tables import TABLES

from .views import view_script

_CHANGED = "silake_changed_files"  # the files a commit touched (CHANGED_COLUMNS)
_ALL = "silake_qa_all"  # one row: whether the refresh covers every file

_TARGETS = "qa_refresh_targets"


def _near(source: str) -> str:
    """Rows `t` sharing an interaction, or a vendor and participant stem, with a row of `source`."""
    return (f"(SELECT every FROM {_ALL}) OR interaction_key IN (SELECT interaction_key FROM {source}) OR EXISTS "
            f"(SELECT 1 FROM {source} AS c WHERE c.vendor_id = t.vendor_id AND participant_stem(c.participant_id) "
            "= participant_stem(t.participant_id))")


_WRITER_SCOPE = (
    f"CREATE OR REPLACE VIEW memory.main.{_TARGETS} AS SELECT * FROM files AS t WHERE {_near(_CHANGED)};\n"
    f"CREATE OR REPLACE VIEW memory.main.qa_scope_files AS SELECT * FROM files AS t WHERE {_near(_TARGETS)};\n"
    f"CREATE OR REPLACE VIEW memory.main.qa_scope_filelist AS SELECT * FROM filelist AS t WHERE {_near(_TARGETS)};\n"
)


def _changed_schema() -> pa.Schema:
    files = TABLES["files"]
    return pa.schema([pa.field(c, pa.string()) if c in ("label", "split") else files.schema.field(c)
                      for c in CHANGED_COLUMNS])


def _register(con: duckdb.DuckDBPyConnection, changed: pa.Table | None, every: bool) -> None:
    schema = _changed_schema()
    con.register(_CHANGED, schema.empty_table() if changed is None else changed.select(schema.names).cast(schema))
    con.register(_ALL, pa.table({"every": [every]}))


class QaFindings:
    """Keeps `qa_findings` in step with the data, commit by commit (the writer's default `derive`)."""

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Define the SQL layer in the writer's in-memory database, with the scope views of a refresh; the
        lake stays the default database, the session's views come first on the search path."""
        _register(con, None, every=False)
        con.execute(f"USE memory; SET search_path = 'memory.main,{ALIAS}.main';\n" + view_script() + "\n"
                    + _WRITER_SCOPE + f"USE {ALIAS}; SET search_path = 'memory.main,{ALIAS}.main';")

    def __call__(self, con: duckdb.DuckDBPyConnection, changed: pa.Table | None) -> None:
        """Recompute the findings of the closure of `changed` (the files a commit added, replaced or removed;
        None: every file), in the caller's transaction."""
        if changed is not None and changed.num_rows == 0:
            return
        _register(con, changed, every=changed is None)
        try:
            con.execute(f"SET search_path = 'memory.main,{ALIAS}.main';\n"  # a USE may have reset it
                        f"DELETE FROM qa_findings WHERE (SELECT every FROM {_ALL}) OR file_id IN "
                        f"(SELECT file_id FROM {_TARGETS} UNION SELECT file_id FROM {_CHANGED});\n"
                        "INSERT INTO qa_findings SELECT * FROM qa_findings_live WHERE "
                        f"(SELECT every FROM {_ALL}) OR file_id IN (SELECT file_id FROM {_TARGETS});")
        finally:
            _register(con, None, every=False)


refresh_qa = QaFindings()
