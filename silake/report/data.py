"""The numbers a report draws, from the queries in `sql/report/` (one SELECT per file, aggregated in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from silake.lake.sqltext import sql_literal
from silake.query.views import sql_root

#: Floor-transfer offsets are binned this finely (s), and clipped into the edge bins beyond +/- the limit.
FTO_BIN_S = 0.1
FTO_LIMIT_S = 3.0


def report_sql(name: str) -> str:
    """The text of `sql/report/<name>.sql`."""
    return sql_root().joinpath("report").joinpath(f"{name}.sql").read_text(encoding="utf-8")  # one part per call (3.11)


def run(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table:
    return con.sql(report_sql(name)).to_arrow_table()


@dataclass
class ReportData:
    """Everything a report plots, as Arrow tables of already-aggregated rows."""

    qa_flags: pa.Table
    files: pa.Table
    turn_taking: pa.Table
    fto_bins: pa.Table
    interaction: str | None
    emotion: pa.Table | None


def default_interaction(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.sql(report_sql("default_interaction")).fetchone()
    return str(row[0]) if row else None


def collect(con: duckdb.DuckDBPyConnection, interaction: str | None = None) -> ReportData:
    """Run every report query. `interaction`: the key whose emotion is plotted over time (default: the
    longest dyad with movement features on both sides; None when the lake has none)."""
    con.execute(f"SET VARIABLE report_fto_bin_s = {FTO_BIN_S}; SET VARIABLE report_fto_limit_s = {FTO_LIMIT_S};")
    if interaction is not None:
        known = con.sql(f"SELECT count(*) FROM interactions WHERE interaction_key = {sql_literal(interaction)}")
        if not (known.fetchone() or (0,))[0]:
            raise ValueError(f"no interaction {interaction!r} in the lake (see: SELECT interaction_key FROM "
                             "interactions)")
    else:
        interaction = default_interaction(con)
    emotion = None
    if interaction is not None:
        con.execute(f"SET VARIABLE report_interaction = {sql_literal(interaction)}")
        emotion = run(con, "emotion_frames")
    return ReportData(qa_flags=run(con, "qa_flags_by_vendor_split"), files=run(con, "file_measures"),
                      turn_taking=run(con, "turn_taking_by_relationship"), fto_bins=run(con, "floor_transfer_offsets"),
                      interaction=interaction, emotion=emotion)


def column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()
