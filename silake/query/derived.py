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
in-memory database beforehand (`prepare`), with the scope views reading relations registered on the
connection: a refresh selects its scope once into Arrow and registers it (registering is not a write).
"""

from __future__ import annotations

from contextlib import suppress

import duckdb
import pyarrow as pa

from silake.lake.commit import CHANGED_COLUMNS
from silake.lake.session import ALIAS
from silake.lake.sqltext import sql_literal

from .views import session_setup_sql, view_script

_CHANGED = "silake_changed_files"  # the files a commit touched (CHANGED_COLUMNS)
_TARGETS = "silake_qa_targets"  # the files whose findings are recomputed (file ids)
_SCOPE_FILES = "silake_qa_scope_files"  # every files row the targets' findings depend on
_SCOPE_FILELIST = "silake_qa_scope_filelist"  # and every filelist row
_WRITER_SCOPE = (
    f"CREATE OR REPLACE VIEW memory.main.qa_scope_files AS SELECT * FROM {_SCOPE_FILES};\n"
    f"CREATE OR REPLACE VIEW memory.main.qa_scope_filelist AS SELECT * FROM {_SCOPE_FILELIST};\n"
)


def _near(source: str) -> str:
    """Rows `t` sharing an interaction, or a vendor and participant stem, with a row of `source`."""
    return (f"interaction_key IN (SELECT interaction_key FROM {source}) OR EXISTS (SELECT 1 FROM {source} AS c "
            "WHERE c.vendor_id = t.vendor_id AND participant_stem(c.participant_id) = "
            "participant_stem(t.participant_id))")


def _select(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    return con.execute(sql).to_arrow_table()


def _register_scope(con: duckdb.DuckDBPyConnection, changed: pa.Table | None, *, empty: bool = False) -> int:
    """Select the refresh's targets and scope once (all files when `changed` is None) and register them;
    returns how many targets there are."""
    limit = " LIMIT 0" if empty else ""
    if changed is None:
        every = _select(con, f"SELECT file_id FROM files{limit}")
        con.register(_TARGETS, every)
        # no file, no scope: and a scan of an empty DuckLake table looks up statistics per column, ~3 ms each
        # (duckdb/ducklake#1313), 0.2 s for `files` - at a fresh lake's first two commits
        scope = "" if every.num_rows else " LIMIT 0"
        con.register(_SCOPE_FILES, _select(con, f"SELECT * FROM files{scope}"))
        con.register(_SCOPE_FILELIST, _select(con, f"SELECT * FROM filelist{scope}"))
        return every.num_rows
    con.register(_CHANGED, changed.select(list(CHANGED_COLUMNS)))
    try:
        targets = _select(con, f"SELECT {', '.join(CHANGED_COLUMNS)} FROM files AS t WHERE {_near(_CHANGED)}")
    finally:
        con.unregister(_CHANGED)
    con.register(_TARGETS, targets)
    con.register(_SCOPE_FILES, _select(con, f"SELECT * FROM files AS t WHERE {_near(_TARGETS)}"))
    con.register(_SCOPE_FILELIST, _select(con, f"SELECT * FROM filelist AS t WHERE {_near(_TARGETS)}"))
    return targets.num_rows


class QaFindings:
    """Keeps `qa_findings` in step with the data, commit by commit (the writer's default `derive`)."""

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Define the SQL layer in the writer's in-memory database, with the scope views of a refresh; the
        lake stays the default database, the session's views come first on the search path."""
        _register_scope(con, None, empty=True)
        con.execute(session_setup_sql() + view_script() + "\n"
                    + _WRITER_SCOPE + f"USE {ALIAS}; SET search_path = 'memory.main,{ALIAS}.main';")

    def __call__(self, con: duckdb.DuckDBPyConnection, changed: pa.Table | None) -> None:
        """Recompute the findings of the closure of `changed` (the files a commit added, replaced or removed;
        None: every file), in the caller's transaction."""
        if changed is not None and changed.num_rows == 0:
            return
        con.execute(f"SET search_path = 'memory.main,{ALIAS}.main';")  # a USE may have reset it
        targets = _register_scope(con, changed)
        try:
            if changed is None:
                gone = "true"
            else:
                ids = sorted(set(changed.column("file_id").to_pylist()))
                gone = (f"file_id IN (SELECT file_id FROM {_TARGETS}) OR file_id IN "
                        f"({', '.join(sql_literal(i) for i in ids)})")
            con.execute(f"DELETE FROM qa_findings WHERE {gone};")
            if targets:  # no target, no finding: skip planning every QA family (~0.5 s; a fresh lake's first commits)
                con.execute("INSERT INTO qa_findings SELECT * FROM qa_findings_live "
                            f"WHERE file_id IN (SELECT file_id FROM {_TARGETS});")
        except BaseException:
            with suppress(duckdb.Error):  # an aborted transaction refuses it; its error must not hide this one
                _register_scope(con, None, empty=True)
            raise
        _register_scope(con, None, empty=True)  # release the scope's Arrow tables


refresh_qa = QaFindings()
