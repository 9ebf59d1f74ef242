"""The Python API: a lake in a notebook or a script.

    import silake

    lake = silake.open("lake")                      # a directory, s3://..., gs://...; catalog=..., snapshot=...
    lake.sql("SELECT * FROM qa_summary").df()       # a DuckDB relation: .df(), .pl(), .to_arrow_table(), .fetchall()
    lake.table("files").filter("qa_pass")           # ... (every table and view of the SQL layer)
    arrays = lake.frames("V00_S0809_I00000582_P0947")
    arrays["smplh:body_pose"].shape                 # (T, 21, 3) float32, exactly the npz's array
    lake.snapshots()                                # every commit: id, time, run id, shards
    lake.at(12).sql("SELECT count(*) FROM files")   # the lake as snapshot 12 left it
    lake.export("split = 'dev' AND qa_pass", "subset")   # pinned to this lake's snapshot

A `Lake` holds one read-only DuckDB connection; close it (or use `with silake.open(...) as lake:`) when done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silake.lake.catalog import Lake as LakeLocation
from silake.lake.sqltext import sql_literal
from silake.query.connection import connect, current_snapshot, open_lake
from silake.schemas.catalogue import FEATURES, FEATURES_BY_KEY, HYPERNET_FEATURE, Feature

_BY_COLUMN: dict[str, Feature] = {f.column: f for f in FEATURES}


@dataclass(frozen=True)
class Snapshot:
    """One commit of the lake."""

    id: int
    time: datetime
    run_id: str | None
    shards: int
    what: str | None


class Lake:
    """A lake opened for reading (at its latest snapshot, or at `snapshot`)."""

    def __init__(self, location: LakeLocation, snapshot: int | None = None) -> None:
        self.location = location
        self.con = connect(location, snapshot=snapshot, column_comments=True)
        self.snapshot = snapshot if snapshot is not None else current_snapshot(self.con)

    # -- lifecycle
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"silake.Lake({self.location.root!r}, snapshot={self.snapshot})"

    @property
    def root(self) -> str:
        return self.location.root

    # -- SQL
    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        """One SQL statement over every table and view; a DuckDB relation (lazy until fetched)."""
        rel = self.con.sql(query)
        if rel is None:
            raise ValueError(f"the statement returns no rows: {query!r}")
        return rel

    def table(self, name: str) -> duckdb.DuckDBPyRelation:
        """A table or view of the lake by name (`files`, `frames`, `qa_flags`, `interactions`, ...)."""
        return self.con.table(name)

    # -- arrays
    def frames(self, file_id: str, columns: list[str] | None = None, *, label: str | None = None,
               split: str | None = None) -> dict[str, np.ndarray]:
        """The per-frame npz arrays of one file, keyed and shaped exactly as in its npz.

        `columns`: npz keys (`smplh:body_pose`) or lake columns (`smplh_body_pose`); default: every array
        the file has (movement ones only with movement; `movement:hypernet_features` from `hypernet`).
        `label`/`split` pick one copy of a file id the release lists twice (else that is an error).
        """
        wanted = [self._feature(c) for c in columns] if columns else list(FEATURES)
        label, split, has_movement = self._locate(file_id, label, split)
        if columns is None and not has_movement:
            wanted = [f for f in wanted if f.group != "movement"]
        out: dict[str, np.ndarray] = {}
        per_frame = [f for f in wanted if f.rate == "frame"]
        where = (f"file_id = {sql_literal(file_id)} AND label = {sql_literal(label)} AND "
                 f"split = {sql_literal(split)}")
        if per_frame:
            cols = ", ".join(f'"{f.column}"' for f in per_frame)
            table = self.con.sql(f"SELECT {cols} FROM frames WHERE {where} ORDER BY frame_idx").to_arrow_table()
            for f in per_frame:
                out[f.key] = _array(table.column(f.column), f, table.num_rows)
        if HYPERNET_FEATURE in wanted:
            table = self.con.sql(f'SELECT "{HYPERNET_FEATURE.column}" FROM hypernet WHERE {where} '
                                 "ORDER BY step_idx").to_arrow_table()
            out[HYPERNET_FEATURE.key] = _array(table.column(0), HYPERNET_FEATURE, table.num_rows)
        return out

    def _feature(self, name: str) -> Feature:
        feature = FEATURES_BY_KEY.get(name) or _BY_COLUMN.get(name)
        if feature is None:
            raise KeyError(f"{name!r} is neither an npz key nor a frames column")
        return feature

    def _locate(self, file_id: str, label: str | None, split: str | None) -> tuple[str, str, bool]:
        conds = [f"file_id = {sql_literal(file_id)}"]
        conds += [f"label = {sql_literal(label)}"] if label else []
        conds += [f"split = {sql_literal(split)}"] if split else []
        rows = self.con.sql(f"SELECT label, split, has_movement FROM files WHERE {' AND '.join(conds)} "
                            "ORDER BY label, split").fetchall()
        if not rows:
            raise KeyError(f"no file {file_id!r} in {self.root}"
                           + (f" under {label or '*'}/{split or '*'}" if label or split else ""))
        if len(rows) > 1:
            places = ", ".join(f"{r[0]}/{r[1]}" for r in rows)
            raise ValueError(f"file {file_id!r} is listed in {places}: pass label= and split= to pick one")
        return rows[0][0], rows[0][1], bool(rows[0][2])

    # -- time travel
    def snapshots(self) -> list[Snapshot]:
        """Every snapshot (commit) of the lake, oldest first."""
        rows = self.con.sql(
            "SELECT snapshot_id, snapshot_time, json_extract_string(commit_extra_info, '$.run_id'), "
            "coalesce(json_extract(commit_extra_info, '$.shards')::INTEGER, 0), commit_message "
            "FROM ducklake_snapshots('lake') ORDER BY snapshot_id").to_arrow_table().to_pylist()
        return [Snapshot(*r.values()) for r in rows]

    def at(self, snapshot: int) -> Lake:
        """The same lake as `snapshot` left it (a new connection)."""
        return Lake(self.location, snapshot)

    # -- export
    def export(self, where: str, out: str, **options: Any) -> Any:
        """`silake export` of this lake at this snapshot: see `silake.export.export` for the options."""
        from silake.export import export

        return export(self.root, where, out, snapshot=self.snapshot, catalog=_catalog_arg(self.location),
                      **options)


def _catalog_arg(location: LakeLocation) -> str | None:
    return None if location.catalog_in_root else location.catalog.target


def _array(column: pa.ChunkedArray, feature: Feature, n: int) -> np.ndarray:
    """A lake column (nested lists) as the npz's array: shape (n, *frame_shape), the npz's dtype."""
    values = column.combine_chunks()
    while pa.types.is_list(values.type) or pa.types.is_fixed_size_list(values.type) or \
            pa.types.is_large_list(values.type):
        values = pc.list_flatten(values)
    flat = values.to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat, dtype=feature.np_dtype).reshape(n, *feature.frame_shape)


def open(root: str, *, catalog: str | None = None, snapshot: int | None = None) -> Lake:
    """Open the lake at `root` for reading (a LakeError says why when there is no lake there)."""
    return Lake(open_lake(root, catalog=catalog), snapshot)
