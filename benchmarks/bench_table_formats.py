"""Open table format benchmark (not a test): DuckLake (SQLite catalog) vs Delta Lake (delta-rs), on silake's workload.

    make bench-formats                                                 # installs the bench extra, 2,000 shards
    .venv/bin/python benchmarks/bench_table_formats.py                 # 2,000 shards: ~4-6 min on 2 cores
    .venv/bin/python benchmarks/bench_table_formats.py --shards 21000 --scale-tables files --repeats 2  # ~17 min

Standalone: it needs duckdb, pyarrow, numpy, deltalake and the pip packages duckdb-extension-ducklake, -sqlite and
-delta (same version as duckdb): the `bench` extra, locked in benchmarks/requirements.lock. No network: the
extensions are installed from the files those packages ship into a private extension directory (never
`INSTALL <name>` from the network).

The workload: every source shard yields one small Parquet file per per-shard table (here a representative subset:
`files` ~60 columns x 6 rows, `transcript_words` 900 rows, `vad_segments` 60 rows, `quarantine` 1 row in every 10th
shard) plus one commit row in `ingest_shards`. Files are laid out hive-style as
`ROOT/main/<table>/label=<l>/split=<s>/<shard>.parquet` (label/split live in the path only), written once by a pool
of worker processes and hard-linked into the Delta tree, so both formats register byte-identical files.

Phases, the same for both formats (shard ranges are identical, so the lakes have the same rows):
  A  per-shard commit latency: register one shard's files in every table + its commit row, in one transaction
     (DuckLake: BEGIN; CALL ducklake_add_data_files per table; INSERT commit row; COMMIT. Delta: one
     create_write_transaction of AddActions per table, then write_deltalake of the commit row);
  R  atomicity: the same per-shard commits while a reader in a second process polls all tables and counts the
     observations where a shard is visible in one table but not in another (two reader flavours per format);
  W  per-shard commit latency when the format's own writer writes the data (DuckLake INSERT, write_deltalake);
  B  scale: the remaining shards up to --shards, registered in batches of --batch-size shards per commit;
  Q  fresh-process queries on `files` (open + count(*), point lookup on file_id, group by label/split), before and
     after compaction (ducklake_merge_adjacent_files / DeltaTable.optimize.compact);
  T  time travel to the snapshot/version after phase W and to the one before the delete, snapshot listing;
  D  delete one participant's rows across all tables (DuckLake: one transaction; Delta: one delete per table) with
     a concurrent reader, then purge (DuckLake: with and without flushing inlined data, then rewrite + expire +
     cleanup; Delta: vacuum) and look for the participant's rows left in Parquet files and in DuckLake's catalog.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.resources
import json
import multiprocessing as mp
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LABELS = ("improvised", "naturalistic")
PARTITION = ["label", "split"]
FILES_PER_SHARD = 6
WORDS_PER_FILE = 150
VAD_PER_FILE = 10
QUARANTINE_EVERY = 10  # shards s with s % QUARANTINE_EVERY == 0 carry one quarantine row
N_PARTICIPANTS = 1000
DATA_TABLES = ("files", "transcript_words", "vad_segments", "quarantine")
COMMIT_TABLE = "ingest_shards"
ALL_TABLES = (*DATA_TABLES, COMMIT_TABLE)
ROWS_PER_SHARD = {"files": FILES_PER_SHARD, "transcript_words": FILES_PER_SHARD * WORDS_PER_FILE,
                  "vad_segments": FILES_PER_SHARD * VAD_PER_FILE}
EXTENSIONS = ("ducklake", "sqlite", "delta")
MARKER = ".bench_table_formats"

# ---------------------------------------------------------------------------------------------------------------
# schemas (a mirror of silake's schemas/tables.py for the tables modelled here)

KEY = [("file_id", pa.string()), ("vendor_id", pa.string()), ("session_id", pa.string()),
       ("prompt_hash", pa.string()), ("participant_id", pa.string()), ("interaction_key", pa.string())]
_i32, _i64, _i16, _f64, _b, _s = pa.int32(), pa.int64(), pa.int16(), pa.float64(), pa.bool_(), pa.string()
FILES_COLUMNS = [
    ("batch_idx", _i32), ("archive_idx", _i32), ("shard_uri", _s), ("sample_index", _i32), ("n_frames", _i64),
    ("nominal_fps", _f64), ("fps", _f64), ("duration_s", _f64), ("video_duration_s", _f64), ("has_movement", _b),
    ("n_hypernet", _i32), ("n_nonfinite_values", _i64), ("json_has_id", _b), ("annotation_kinds", pa.list_(_s)),
    ("has_annotation_1p", _b), ("has_annotation_3p", _b), ("n_transcript_segments", _i32), ("n_words", _i32),
    ("n_timed_words", _i32), ("n_vad_segments", _i32), ("n_annotations", _i32), ("has_wav", _b),
    ("wav_sample_rate", _i32), ("wav_channels", _i16), ("wav_format", _i16), ("wav_bits_per_sample", _i16),
    ("wav_n_samples", _i64), ("wav_duration_s", _f64), ("has_mp4", _b), ("mp4_major_brand", _s),
    ("mp4_has_moov", _b), ("mp4_duration_s", _f64), ("json_offset", _i64), ("json_size", _i64),
    ("npz_offset", _i64), ("npz_size", _i64), ("wav_offset", _i64), ("wav_size", _i64), ("mp4_offset", _i64),
    ("mp4_size", _i64), ("has_participant_row", _b), ("personality_disclosed", _b), ("extraversion", _f64),
    ("agreeableness", _f64), ("conscientiousness", _f64), ("neuroticism", _f64), ("openness", _f64),
    ("has_relationship_row", _b), ("relationship", _s), ("relationship_detail", _s), ("run_id", _s),
]
SCHEMAS: dict[str, pa.Schema] = {
    "files": pa.schema([*KEY, *FILES_COLUMNS]),
    "transcript_words": pa.schema([*KEY, ("segment_idx", _i32), ("word_idx", _i32), ("word", _s),
                                   ("start_s", _f64), ("end_s", _f64), ("score", _f64)]),
    "vad_segments": pa.schema([*KEY, ("vad_idx", _i32), ("start_s", _f64), ("end_s", _f64)]),
    "quarantine": pa.schema([("shard_uri", _s), ("scope", _s), ("sample_index", _i32), ("member_name", _s),
                             ("file_id", _s), ("reason_code", _s), ("reason", _s), ("run_id", _s)]),
    "ingest_shards": pa.schema([
        ("shard_uri", _s), ("shard_key", _s), ("batch_idx", _i32), ("archive_idx", _i32), ("size", _i64),
        ("etag", _s), ("status", _s), ("samples_seen", _i64), ("files_rows", _i64),
        ("quarantined_samples", _i64), ("table_rows", pa.map_(_s, _i64)), ("bytes_fetched", _i64), ("run_id", _s),
        ("started_at", pa.timestamp("us", tz="UTC")), ("finished_at", pa.timestamp("us", tz="UTC"))]),
}
#: lake schema = file schema + the hive partition columns
LAKE_SCHEMAS = {t: s.append(pa.field("label", _s)).append(pa.field("split", _s)) for t, s in SCHEMAS.items()}
VOCAB = np.array(["the", "a", "and", "to", "of", "i", "you", "it", "that", "in", "is", "was", "so", "like", "yeah",
                  "we", "know", "just", "what", "um", "but", "this"])

# ---------------------------------------------------------------------------------------------------------------
# synthetic shards


def shard_key(s: int) -> str:
    return f"shard-{s:06d}"


def shard_partition(s: int) -> tuple[str, str]:
    r = (s // 2) % 10
    return LABELS[s % 2], "train" if r < 8 else ("dev" if r == 8 else "test")


def participant_of(s: int, j: int) -> str:
    return f"{((s * FILES_PER_SHARD + j) * 7919) % N_PARTICIPANTS:04d}"


def file_id_of(s: int, j: int) -> str:
    return f"V{s % 4:02d}_S{s:05d}_I{((s * 3 + j // 2) * 2654435761) % 10**8:08d}_P{participant_of(s, j)}"


def shard_uri(s: int) -> str:
    label, split = shard_partition(s)
    return f"s3://bucket/release/{label}/{split}/{shard_key(s)}.tar"


def _keys(s: int, repeat: int) -> dict[str, pa.Array]:
    fids = [file_id_of(s, j) for j in range(FILES_PER_SHARD)]
    cols = {
        "file_id": fids,
        "vendor_id": [f"{s % 4:02d}"] * FILES_PER_SHARD,
        "session_id": [f"{s:05d}"] * FILES_PER_SHARD,
        "prompt_hash": [f.split("_")[2][1:] for f in fids],
        "participant_id": [participant_of(s, j) for j in range(FILES_PER_SHARD)],
        "interaction_key": ["_".join(f.split("_")[:3]) for f in fids],
    }
    idx = pa.array(np.repeat(np.arange(FILES_PER_SHARD), repeat))
    return {k: pc.take(pa.array(v, _s), idx) for k, v in cols.items()}


def _filler(name: str, typ: pa.DataType, n: int, s: int) -> pa.Array:
    rng = np.random.default_rng(s * 1009 + len(name))
    if pa.types.is_integer(typ):
        return pa.array(rng.integers(0, 30_000, n), typ)
    if pa.types.is_floating(typ):
        return pa.array(rng.random(n) * 100.0, typ)
    if pa.types.is_boolean(typ):
        return pa.array(rng.random(n) < 0.5)
    if pa.types.is_list(typ):
        return pa.array([["1P-IS", "3P-R"]] * n, typ)
    return pa.array([f"{name}-{s % 97}"] * n, typ)


def shard_tables(s: int, tables: tuple[str, ...]) -> dict[str, pa.Table]:
    """The per-shard Parquet content of `tables` (without label/split, which live in the path)."""
    out: dict[str, pa.Table] = {}
    n = FILES_PER_SHARD
    if "files" in tables:
        cols = _keys(s, 1)
        for name, typ in FILES_COLUMNS:
            cols[name] = _filler(name, typ, n, s)
        cols["shard_uri"] = pa.array([shard_uri(s)] * n)
        cols["sample_index"] = pa.array(np.arange(n, dtype=np.int32))
        out["files"] = pa.table(cols, schema=SCHEMAS["files"])
    if "transcript_words" in tables:
        m = n * WORDS_PER_FILE
        rng = np.random.default_rng(s)
        start = np.tile(np.arange(WORDS_PER_FILE) * 0.31, n)
        cols = _keys(s, WORDS_PER_FILE)
        cols |= {"segment_idx": pa.array(np.tile(np.arange(WORDS_PER_FILE) // 12, n).astype(np.int32)),
                 "word_idx": pa.array(np.tile(np.arange(WORDS_PER_FILE) % 12, n).astype(np.int32)),
                 "word": pa.array(VOCAB[rng.integers(0, len(VOCAB), m)]),
                 "start_s": pa.array(start), "end_s": pa.array(start + 0.25), "score": pa.array(rng.random(m))}
        out["transcript_words"] = pa.table(cols, schema=SCHEMAS["transcript_words"])
    if "vad_segments" in tables:
        start = np.tile(np.arange(VAD_PER_FILE) * 4.0, n)
        cols = _keys(s, VAD_PER_FILE)
        cols |= {"vad_idx": pa.array(np.tile(np.arange(VAD_PER_FILE), n).astype(np.int32)),
                 "start_s": pa.array(start), "end_s": pa.array(start + 2.5)}
        out["vad_segments"] = pa.table(cols, schema=SCHEMAS["vad_segments"])
    if "quarantine" in tables and s % QUARANTINE_EVERY == 0:
        out["quarantine"] = pa.table({
            "shard_uri": [shard_uri(s)], "scope": ["sample"], "sample_index": pa.array([0], _i32),
            "member_name": [f"{file_id_of(s, 0)}.npz"], "file_id": [file_id_of(s, 0)],
            "reason_code": ["npz_pickle"], "reason": ["object arrays need allow_pickle"], "run_id": ["bench"]},
            schema=SCHEMAS["quarantine"])
    return out


def with_partition(t: pa.Table, s: int) -> pa.Table:
    label, split = shard_partition(s)
    n = len(t)
    return t.append_column("label", pa.array([label] * n, _s)).append_column("split", pa.array([split] * n, _s))


def ingest_rows(shards: list[int], table_rows: dict[int, dict[str, int]]) -> pa.Table:
    """The commit rows (`ingest_shards`, with label/split) of `shards`."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for s in shards:
        label, split = shard_partition(s)
        tr = table_rows[s]
        rows.append({
            "shard_uri": shard_uri(s), "shard_key": shard_key(s), "batch_idx": s // 1000, "archive_idx": s % 1000,
            "size": 1_500_000_000, "etag": f"etag-{s}", "status": "ok", "samples_seen": FILES_PER_SHARD,
            "files_rows": tr.get("files", 0), "quarantined_samples": tr.get("quarantine", 0),
            "table_rows": list(tr.items()), "bytes_fetched": 1_500_000_000, "run_id": "bench",
            "started_at": now, "finished_at": now, "label": label, "split": split})
    return pa.Table.from_pylist(rows, schema=LAKE_SCHEMAS[COMMIT_TABLE])


def delta_stats(t: pa.Table) -> str:
    """Delta add-action statistics (numRecords, min/max/nullCount of the string key columns), as a worker would."""
    mins, maxs, nulls = {}, {}, {}
    for name in ("file_id", "session_id", "participant_id", "shard_uri"):
        if name in t.column_names:
            mm = pc.min_max(t[name])
            mins[name], maxs[name] = mm["min"].as_py(), mm["max"].as_py()
            nulls[name] = t[name].null_count
    return json.dumps({"numRecords": len(t), "minValues": mins, "maxValues": maxs, "nullCount": nulls})


def generate_shard(job: tuple[int, tuple[str, ...], str, str]) -> dict[str, Any]:
    """Worker: write one shard's Parquet files into the DuckLake tree, hard-link them into the Delta tree."""
    s, tables, dl_root, delta_root = job
    label, split = shard_partition(s)
    meta: dict[str, Any] = {"shard": s, "files": {}, "rows": {}}
    for table, t in shard_tables(s, tables).items():
        rel = f"label={label}/split={split}/{shard_key(s)}.parquet"
        path = Path(dl_root, "main", table, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, path, compression="zstd")
        link = Path(delta_root, "main", table, rel)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, link)
        st = path.stat()
        meta["files"][table] = (rel, st.st_size, int(st.st_mtime * 1000), delta_stats(t))
        meta["rows"][table] = len(t)
    return meta


# ---------------------------------------------------------------------------------------------------------------
# connections


def ext_file(name: str) -> Path:
    base = importlib.resources.files(f"duckdb_extension_{name}")
    return Path(str(base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"))


def duck(ext_dir: str, load: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": False})
    for name in load:
        con.execute(f"LOAD {name}")
    return con


def install_extensions(ext_dir: str) -> None:
    con = duck(ext_dir)
    for name in EXTENSIONS:
        con.execute(f"INSTALL '{ext_file(name)}'")
    con.close()


def ducklake_connect(ext_dir: str, root: str) -> duckdb.DuckDBPyConnection:
    con = duck(ext_dir, ("ducklake", "sqlite"))
    con.execute(f"ATTACH 'ducklake:sqlite:{root}/ducklake.sqlite' AS lake (DATA_PATH '{root}/')")
    return con


def sql_str(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def table_ref(engine: str, root: str, table: str) -> str:
    if engine.startswith("ducklake"):
        return f"lake.{table}"
    if engine == "delta-duckdb":
        return f"delta_scan({sql_str(f'{root}/main/{table}')})"
    return table  # delta-rs: registered in a QueryBuilder


class Reader:
    """Run one SQL statement over several tables with one engine (fresh objects as each engine requires)."""

    def __init__(self, engine: str, ext_dir: str, root: str, tables: tuple[str, ...]):
        self.engine, self.ext_dir, self.root, self.tables = engine, ext_dir, root, tables
        self.con = None
        if engine == "ducklake":
            self.con = ducklake_connect(ext_dir, root)
        elif engine == "delta-duckdb":
            self.con = duck(ext_dir, ("delta",))

    def ref(self, table: str) -> str:
        return table_ref(self.engine, self.root, table)

    def query(self, sql: str) -> list[tuple]:
        if self.engine == "ducklake-fresh":
            con = ducklake_connect(self.ext_dir, self.root)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        if self.con is not None:
            return self.con.execute(sql).fetchall()
        from deltalake import DeltaTable, QueryBuilder

        qb = QueryBuilder()
        for t in self.tables:
            qb.register(t, DeltaTable(f"{self.root}/main/{t}"))
        return [tuple(r.values()) for r in pa.table(qb.execute(sql).read_all()).to_pylist()]


def state_sql(r: Reader, mode: str, participant: str) -> str:
    if mode == "shards":
        return ("SELECT " + ", ".join(f"(SELECT count(*) FROM {r.ref(t)}) AS n_{t}" for t in r.tables)
                + f", (SELECT coalesce(sum(quarantined_samples), 0) FROM {r.ref(COMMIT_TABLE)}) AS n_quarantined")
    parts = []
    for t in r.tables:
        col = "file_id" if t == "quarantine" else "participant_id"
        val = f"'%_P{participant}'" if t == "quarantine" else sql_str(participant)
        op = "LIKE" if t == "quarantine" else "="
        parts.append(f"(SELECT count(*) FROM {r.ref(t)} WHERE {col} {op} {val}) AS n_{t}")
    return "SELECT " + ", ".join(parts)


def consistent(mode: str, tables: tuple[str, ...], state: tuple, initial: list[int]) -> bool:
    if mode == "shards":
        n = dict(zip(tables, state, strict=False))
        commits, quarantined = n[COMMIT_TABLE], state[-1]
        ok = all(n[t] == ROWS_PER_SHARD[t] * commits for t in tables if t in ROWS_PER_SHARD)
        return ok and ("quarantine" not in n or n["quarantine"] == quarantined)
    return all(v == 0 for v in state) or list(state) == initial


# ---------------------------------------------------------------------------------------------------------------
# child processes: the concurrent reader and the fresh-process queries


def reader_main(spec: dict[str, Any]) -> None:
    tables = tuple(spec["tables"])
    r = Reader(spec["engine"], spec["ext_dir"], spec["root"], tables)
    sql = state_sql(r, spec["mode"], spec.get("participant", ""))
    stop, ready = Path(spec["stop"]), Path(spec["ready"])
    obs = bad = errors = 0
    states: set[tuple] = set()
    examples: list[Any] = []
    first_error = ""
    t0 = time.perf_counter()
    while True:
        done = stop.exists()  # one more observation after the writer has finished
        try:
            state = tuple(int(v) for v in r.query(sql)[0])
        except Exception as e:
            errors += 1
            first_error = first_error or f"{type(e).__name__}: {e}"[:300]
            time.sleep(0.01)
            if done or (obs == 0 and errors >= 20):
                break
            continue
        obs += 1
        states.add(state)
        if not consistent(spec["mode"], tables, state, spec.get("initial", [])):
            bad += 1
            if len(examples) < 3:
                examples.append(dict(zip([*tables, "sum_quarantined"], state, strict=False)))
        if obs == 1:
            ready.write_text("ready")
        if done:
            break
    Path(spec["out"]).write_text(json.dumps({
        "observations": obs, "inconsistent": bad, "distinct_states": len(states), "errors": errors,
        "first_error": first_error, "examples": examples, "seconds": time.perf_counter() - t0,
        "obs_per_s": obs / max(time.perf_counter() - t0, 1e-9)}))


QUERIES = {
    "count": "SELECT count(*) FROM {files}",
    "point": "SELECT * FROM {files} WHERE file_id = '{arg}'",
    "groupby": "SELECT label, split, count(*) AS n, avg(duration_s) AS d FROM {files} GROUP BY label, split "
               "ORDER BY label, split",
}


def query_main(spec: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    engine, root, ext_dir = spec["engine"], spec["root"], spec["ext_dir"]
    sql = QUERIES[spec["query"]].format(files=table_ref(engine, root, "files"), arg=spec.get("arg", ""))
    if engine == "ducklake":
        con = ducklake_connect(ext_dir, root)
        t1 = time.perf_counter()
        rows = con.execute(sql).fetchall()
    elif engine == "delta-duckdb":
        con = duck(ext_dir, ("delta",))
        t1 = time.perf_counter()
        rows = con.execute(sql).fetchall()
    else:
        from deltalake import DeltaTable, QueryBuilder

        table = DeltaTable(f"{root}/main/files")
        qb = QueryBuilder().register("files", table)
        t1 = time.perf_counter()
        rows = [tuple(r.values()) for r in pa.table(qb.execute(sql).read_all()).to_pylist()]
    t2 = time.perf_counter()
    first = rows[0][0] if spec["query"] == "count" else len(rows)
    print(json.dumps({"open_s": t1 - t0, "query_s": t2 - t1, "result": first}))


def child(spec: dict[str, Any]) -> None:
    if spec["kind"] == "reader":
        reader_main(spec)
    else:
        query_main(spec)


# ---------------------------------------------------------------------------------------------------------------
# the two formats


class DuckLakeLake:
    name = "DuckLake"
    reader_engines = ("ducklake", "ducklake-fresh")
    query_engines = ("ducklake",)

    def __init__(self, root: str, ext_dir: str):
        self.root, self.ext_dir = root, ext_dir
        db = sqlite3.connect(f"{root}/ducklake.sqlite")
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
        self.con = ducklake_connect(ext_dir, root)
        for t, schema in LAKE_SCHEMAS.items():
            self.con.register("empty_schema", schema.empty_table())
            cols = self.con.execute("DESCRIBE SELECT * FROM empty_schema").fetchall()
            self.con.unregister("empty_schema")
            ddl = ", ".join(f'"{c[0]}" {c[1]}' for c in cols)
            self.con.execute(f"CREATE TABLE lake.{t} ({ddl})")
            self.con.execute(f"ALTER TABLE lake.{t} SET PARTITIONED BY (label, split)")

    def path(self, table: str, rel: str) -> str:
        return f"{self.root}/main/{table}/{rel}"

    def commit_register(self, metas: list[dict[str, Any]], ingest: pa.Table) -> None:
        paths: dict[str, list[str]] = {}
        for m in metas:
            for table, f in m["files"].items():
                paths.setdefault(table, []).append(self.path(table, f[0]))
        con = self.con
        con.execute("BEGIN")
        for table, ps in paths.items():
            con.execute(f"CALL ducklake_add_data_files('lake', '{table}', [{', '.join(map(sql_str, ps))}])")
        con.register("commit_rows", ingest)
        con.execute(f"INSERT INTO lake.{COMMIT_TABLE} BY NAME SELECT * FROM commit_rows")
        con.execute("COMMIT")
        con.unregister("commit_rows")

    def commit_write(self, tables: dict[str, pa.Table], ingest: pa.Table) -> None:
        con = self.con
        con.execute("BEGIN")
        for table, t in [*tables.items(), (COMMIT_TABLE, ingest)]:
            con.register("src", t)
            con.execute(f"INSERT INTO lake.{table} BY NAME SELECT * FROM src")
            con.unregister("src")
        con.execute("COMMIT")

    def version(self) -> int:
        return int(self.con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])

    def count_at(self, version: int, table: str = "files") -> dict[str, Any]:
        t0 = time.perf_counter()
        n = self.con.execute(f"SELECT count(*) FROM lake.{table} AT (VERSION => {version})").fetchone()[0]
        return {"duckdb": n, "duckdb_s": time.perf_counter() - t0}

    def snapshots(self) -> tuple[int, float]:
        t0 = time.perf_counter()
        n = self.con.execute("SELECT * FROM ducklake_snapshots('lake')").to_arrow_table().num_rows
        return n, time.perf_counter() - t0

    def compact(self, tables: tuple[str, ...]) -> dict[str, Any]:
        out = {}
        for t in tables:
            before = self.con.execute(f"SELECT count(*) FROM ducklake_list_files('lake', '{t}')").fetchone()[0]
            t0 = time.perf_counter()
            self.con.execute(f"CALL ducklake_merge_adjacent_files('lake', '{t}')").to_arrow_table()
            sec = time.perf_counter() - t0
            after = self.con.execute(f"SELECT count(*) FROM ducklake_list_files('lake', '{t}')").fetchone()[0]
            out[t] = {"s": sec, "files_before": before, "files_after": after}
        return out

    def delete_participant(self, tables: tuple[str, ...], pid: str) -> dict[str, Any]:
        v0 = self.version()
        t0 = time.perf_counter()
        self.con.execute("BEGIN")
        for t in tables:
            self.con.execute(f"DELETE FROM lake.{t} WHERE {participant_pred(t, pid)}")
        self.con.execute("COMMIT")
        return {"s": time.perf_counter() - t0, "commits": self.version() - v0}

    def purge(self, tables: tuple[str, ...], flush: bool = True) -> float:
        t0 = time.perf_counter()
        if flush:  # deleted rows of inlined data stay in the catalog until flushed (then rewritten away)
            self.con.execute("CALL ducklake_flush_inlined_data('lake')").to_arrow_table()
        for t in tables:
            sql = f"CALL ducklake_rewrite_data_files('lake', '{t}', delete_threshold => 0)"
            self.con.execute(sql).to_arrow_table()
        self.con.execute("CALL ducklake_expire_snapshots('lake', older_than => now())").to_arrow_table()
        self.con.execute("CALL ducklake_cleanup_old_files('lake', cleanup_all => true)").to_arrow_table()
        return time.perf_counter() - t0

    def catalog_bytes(self) -> tuple[int, int]:
        files = [p for p in Path(self.root).glob("ducklake.sqlite*") if p.is_file()]
        return sum(p.stat().st_size for p in files), len(files)

    def inlined(self) -> list[str]:
        return [t for t in ALL_TABLES if self.con.execute(
            f"SELECT count(*) FROM lake.{t} WHERE filename LIKE 'ducklake_inlined%'").fetchone()[0]]

    def close(self) -> None:
        self.con.close()


def inlined_rows(root: str, pid: str) -> int:
    """Rows of participant `pid` still stored in DuckLake's inlined-data tables inside the SQLite catalog."""
    db = sqlite3.connect(f"{root}/ducklake.sqlite")
    try:
        n = 0
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ducklake_inlined_data%'")]
        for name in names:
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{name}")')]
            if "participant_id" in cols:
                n += db.execute(f'SELECT count(*) FROM "{name}" WHERE participant_id = ?', (pid,)).fetchone()[0]
            elif "file_id" in cols:
                n += db.execute(f'SELECT count(*) FROM "{name}" WHERE file_id LIKE ?', (f"%_P{pid}",)).fetchone()[0]
        return n
    finally:
        db.close()


def participant_pred(table: str, pid: str) -> str:
    return f"file_id LIKE '%_P{pid}'" if table == "quarantine" else f"participant_id = '{pid}'"


class DeltaLake:
    name = "Delta"
    reader_engines = ("delta-duckdb", "delta-rs")
    query_engines = ("delta-duckdb", "delta-rs")

    def __init__(self, root: str, ext_dir: str):
        from deltalake import DeltaTable

        self.root, self.ext_dir = root, ext_dir
        self.tables = {t: DeltaTable.create(f"{root}/main/{t}", LAKE_SCHEMAS[t], partition_by=PARTITION, name=t)
                       for t in ALL_TABLES}
        self.con = duck(ext_dir, ("delta",))

    def uri(self, table: str) -> str:
        return f"{self.root}/main/{table}"

    def _append(self, table: str, data: pa.Table) -> None:
        from deltalake import write_deltalake

        write_deltalake(self.tables[table], data, mode="append", partition_by=PARTITION)
        self.tables[table].update_incremental()

    def commit_register(self, metas: list[dict[str, Any]], ingest: pa.Table) -> None:
        from deltalake.transaction import AddAction

        adds: dict[str, list[AddAction]] = {}
        for m in metas:
            label, split = shard_partition(m["shard"])
            for table, (rel, size, mtime, stats) in m["files"].items():
                adds.setdefault(table, []).append(
                    AddAction(rel, size, {"label": label, "split": split}, mtime, True, stats))
        for table, actions in adds.items():  # one commit per table: the commit table goes last
            dtab = self.tables[table]
            dtab.create_write_transaction(actions, mode="append", schema=LAKE_SCHEMAS[table], partition_by=PARTITION)
            dtab.update_incremental()  # else the next commit starts from a stale version and must resolve conflicts
        self._append(COMMIT_TABLE, ingest)

    def commit_write(self, tables: dict[str, pa.Table], ingest: pa.Table) -> None:
        for table, t in tables.items():
            self._append(table, t)
        self._append(COMMIT_TABLE, ingest)

    def version(self) -> dict[str, int]:
        return {t: d.version() for t, d in self.tables.items()}

    def count_at(self, version: dict[str, int], table: str = "files") -> dict[str, Any]:
        from deltalake import DeltaTable, QueryBuilder

        out: dict[str, Any] = {}
        t0 = time.perf_counter()
        d = DeltaTable(self.uri(table), version=version[table])
        qb = QueryBuilder().register(table, d)
        out["delta-rs"] = pa.table(qb.execute(f"SELECT count(*) AS n FROM {table}").read_all())["n"][0].as_py()
        out["delta-rs_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            out["duckdb"] = self.con.execute(
                f"SELECT count(*) FROM delta_scan('{self.uri(table)}', version => {version[table]})").fetchone()[0]
        except duckdb.Error as e:
            out["duckdb"] = f"error: {e}"[:120]
        out["duckdb_s"] = time.perf_counter() - t0
        return out

    def snapshots(self) -> tuple[int, float]:
        from deltalake import DeltaTable

        t0 = time.perf_counter()
        n = sum(len(DeltaTable(self.uri(t)).history()) for t in ALL_TABLES)
        return n, time.perf_counter() - t0

    def compact(self, tables: tuple[str, ...]) -> dict[str, Any]:
        from deltalake import DeltaTable

        out = {}
        for t in tables:
            d = DeltaTable(self.uri(t))
            before = len(d.file_uris())
            t0 = time.perf_counter()
            d.optimize.compact()
            sec = time.perf_counter() - t0
            out[t] = {"s": sec, "files_before": before, "files_after": len(DeltaTable(self.uri(t)).file_uris())}
            self.tables[t].update_incremental()
        return out

    def delete_participant(self, tables: tuple[str, ...], pid: str) -> dict[str, Any]:
        v0 = self.version()
        t0 = time.perf_counter()
        for t in tables:
            self.tables[t].update_incremental()
            self.tables[t].delete(participant_pred(t, pid))
            self.tables[t].update_incremental()
        v1 = self.version()
        return {"s": time.perf_counter() - t0, "commits": sum(v1[t] - v0[t] for t in tables)}

    def purge(self, tables: tuple[str, ...], flush: bool = True) -> float:
        from deltalake import DeltaTable

        t0 = time.perf_counter()
        for t in tables:
            DeltaTable(self.uri(t)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        return time.perf_counter() - t0

    def catalog_bytes(self) -> tuple[int, int]:
        files = [p for t in ALL_TABLES for p in Path(self.uri(t), "_delta_log").rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files), len(files)

    def close(self) -> None:
        self.con.close()


# ---------------------------------------------------------------------------------------------------------------
# the driver


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def lat_summary(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    xs_sorted = sorted(xs)
    p95 = xs_sorted[min(len(xs) - 1, int(0.95 * len(xs)))]
    head, tail = xs[: max(1, len(xs) // 10)], xs[-max(1, len(xs) // 10):]
    return (f"median {ms(statistics.median(xs))} ms, p95 {ms(p95)} ms, max {ms(max(xs))} ms "
            f"(first 10%: {ms(statistics.median(head))}, last 10%: {ms(statistics.median(tail))}; n={len(xs)})")


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = Path(args.root) / f"run-{args.shards}"
        if self.run.exists():
            if not (self.run / MARKER).exists():
                sys.exit(f"{self.run} exists and was not made by this script; pick another --root")
            shutil.rmtree(self.run)
        self.run.mkdir(parents=True)
        (self.run / MARKER).write_text("")
        self.ext_dir = str(self.run / "extensions")
        self.roots = {"DuckLake": str(self.run / "ducklake"), "Delta": str(self.run / "delta")}
        for r in self.roots.values():
            Path(r, "main").mkdir(parents=True)
        self.results: dict[str, dict[str, str]] = {}  # metric -> format -> text
        self.query_rows: list[tuple[str, str, str, str, str, str]] = []
        self.notes: list[str] = []
        self.metas: dict[int, dict[str, Any]] = {}
        self.t_start = time.perf_counter()

    def put(self, metric: str, fmt: str, text: Any) -> None:
        self.results.setdefault(metric, {})[fmt] = " ".join(str(text).split())
        print(f"  [{fmt}] {metric}: {text}", flush=True)

    # -- layout of the shard ranges
    def ranges(self) -> dict[str, range]:
        a = self.args
        r, edges = {}, 0
        for name, n in (("A", a.commit_shards), ("R1", a.atomicity_shards), ("R2", a.atomicity_shards),
                        ("W", a.write_shards)):
            r[name] = range(edges, edges + n)
            edges += n
        r["B"] = range(edges, max(edges, a.shards))
        return r

    def generate(self) -> None:
        rg = self.ranges()
        jobs = [(s, ALL_TABLES, self.roots["DuckLake"], self.roots["Delta"])
                for name in ("A", "R1", "R2") for s in rg[name]]
        jobs += [(s, self.scale_tables, self.roots["DuckLake"], self.roots["Delta"]) for s in rg["B"]]
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(self.args.workers) as pool:
            for meta in pool.imap_unordered(generate_shard, jobs, chunksize=64):
                self.metas[meta["shard"]] = meta
        sec = time.perf_counter() - t0
        n_files = sum(len(m["files"]) for m in self.metas.values())
        self.put("generate: Parquet files written by workers (shared, hard-linked)", "both",
                 f"{len(jobs)} shards, {n_files} files in {sec:.1f} s ({self.args.workers} workers)")

    @property
    def scale_tables(self) -> tuple[str, ...]:
        return tuple(t for t in self.args.scale_tables.split(",") if t)

    def table_rows(self, shards: list[int]) -> dict[int, dict[str, int]]:
        return {s: dict(self.metas[s]["rows"]) if s in self.metas else {} for s in shards}

    # -- phases
    def per_shard(self, lake: Any, shards: range) -> list[float]:
        lat = []
        for s in shards:
            ingest = ingest_rows([s], self.table_rows([s]))
            t0 = time.perf_counter()
            lake.commit_register([self.metas[s]], ingest)
            lat.append(time.perf_counter() - t0)
        return lat

    def spawn_reader(self, lake: Any, engine: str, mode: str, tag: str, tables: tuple[str, ...],
                     **extra: Any) -> tuple[subprocess.Popen, dict[str, Any]]:
        spec = {"kind": "reader", "engine": engine, "mode": mode, "root": lake.root, "ext_dir": self.ext_dir,
                "tables": list(tables), "stop": str(self.run / f"{tag}.stop"), "ready": str(self.run / f"{tag}.ready"),
                "out": str(self.run / f"{tag}.json"), **extra}
        proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)])
        deadline = time.time() + 300
        while not Path(spec["ready"]).exists():
            if proc.poll() is not None or time.time() > deadline:
                if proc.poll() is None:
                    proc.kill()
                out = Path(spec["out"])
                why = json.loads(out.read_text())["first_error"] if out.exists() else "timeout"
                raise RuntimeError(f"reader {tag} did not start (rc={proc.poll()}): {why}")
            time.sleep(0.05)
        return proc, spec

    @staticmethod
    def stop_reader(proc: subprocess.Popen, spec: dict[str, Any]) -> dict[str, Any]:
        Path(spec["stop"]).write_text("stop")
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        return json.loads(Path(spec["out"]).read_text())

    @staticmethod
    def reader_text(res: dict[str, Any]) -> str:
        text = (f"{res['inconsistent']} inconsistent / {res['observations']} observations "
                f"({res['distinct_states']} distinct states, {res['obs_per_s']:.1f} obs/s")
        if res["errors"]:
            text += f", {res['errors']} reader errors: {res['first_error'][:100]}"
        if res["examples"]:
            text += f"; e.g. {res['examples'][0]}"
        return text + ")"

    def query_suite(self, lake: Any, phase: str, expected_rows: int, point_id: str) -> None:
        for engine in lake.query_engines:
            for q in QUERIES:
                runs = []
                for _ in range(self.args.repeats):
                    spec = {"kind": "query", "engine": engine, "query": q, "root": lake.root,
                            "ext_dir": self.ext_dir, "arg": point_id}
                    t0 = time.perf_counter()
                    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                                         capture_output=True, text=True)
                    wall = time.perf_counter() - t0
                    if out.returncode:
                        runs.append({"error": out.stderr.strip().splitlines()[-1][:150]})
                        break
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    res["wall_s"] = wall
                    runs.append(res)
                if "error" in runs[-1]:
                    self.query_rows.append((lake.name, engine, phase, q, "ERROR", runs[-1]["error"]))
                    continue
                want = {"count": expected_rows, "point": 1, "groupby": 6}[q]
                got = runs[-1]["result"]
                med = {k: statistics.median(r[k] for r in runs) for k in ("open_s", "query_s", "wall_s")}
                self.query_rows.append((lake.name, engine, phase, q,
                                        f"{ms(med['open_s'])} / {ms(med['query_s'])} / {ms(med['wall_s'])}",
                                        "ok" if got == want else f"got {got}, want {want}"))
                print(f"  [{lake.name}] {engine} {phase} {q}: {self.query_rows[-1][4:]}", flush=True)

    def run_format(self, fmt: str) -> None:
        a, rg = self.args, self.ranges()
        root = self.roots[fmt]
        print(f"\n== {fmt} ==", flush=True)
        lake = DuckLakeLake(root, self.ext_dir) if fmt == "DuckLake" else DeltaLake(root, self.ext_dir)

        # A: per-shard commit latency, registering existing files
        lat = self.per_shard(lake, rg["A"])
        self.put("(a) commit latency per shard, register files (4 tables + commit row, 1 tx)", fmt,
                 lat_summary(lat))

        # R: atomicity with a concurrent reader, two reader flavours
        for i, engine in enumerate(lake.reader_engines, start=1):
            proc, spec = self.spawn_reader(lake, engine, "shards", f"{fmt}-R{i}", ALL_TABLES)
            try:
                lat = self.per_shard(lake, rg[f"R{i}"])
            finally:
                res = self.stop_reader(proc, spec)
            self.put(f"(b) atomicity: reader {i} during per-shard commits", fmt,
                     f"[{engine}] " + self.reader_text(res))
            self.put(f"(b) commit latency per shard while reader {i} runs", fmt, lat_summary(lat))

        # W: the format's own writer writes the data
        lat = []
        for s in rg["W"]:
            tables = {t: with_partition(x, s) for t, x in shard_tables(s, DATA_TABLES).items()}
            ingest = ingest_rows([s], {s: {t: len(x) for t, x in tables.items()}})
            t0 = time.perf_counter()
            lake.commit_write(tables, ingest)
            lat.append(time.perf_counter() - t0)
        self.put("(a) commit latency per shard, format writes the data (INSERT / write_deltalake)", fmt,
                 lat_summary(lat))
        if fmt == "DuckLake":
            self.put("data inlined into the catalog (tables with rows in ducklake_inlined_data)", fmt,
                     ", ".join(lake.inlined()) or "none")
        early_version = lake.version()
        early_rows = FILES_PER_SHARD * rg["B"].start

        # B: scale, batches of shards per commit
        shards = list(rg["B"])
        lat = []
        t_all = time.perf_counter()
        for i in range(0, len(shards), a.batch_size):
            batch = shards[i: i + a.batch_size]
            ingest = ingest_rows(batch, self.table_rows(batch))
            t0 = time.perf_counter()
            lake.commit_register([self.metas[s] for s in batch], ingest)
            lat.append(time.perf_counter() - t0)
            if len(lat) % 20 == 0:
                print(f"    batch {len(lat)}: {ms(lat[-1])} ms", flush=True)
        total = time.perf_counter() - t_all
        tabs = ", ".join(self.scale_tables)
        self.put(f"(a) commit latency per batch of {a.batch_size} shards ({tabs} + commit rows)", fmt,
                 lat_summary(lat))
        self.put(f"(c) register {len(shards)} shards in {len(lat)} commits: total", fmt, f"{total:.1f} s")
        n_bytes, n_files = lake.catalog_bytes()
        self.put("(c) metadata size after registration (SQLite catalog / _delta_log)", fmt,
                 f"{n_bytes / 1e6:.1f} MB in {n_files} files")

        # Q: fresh-process queries before and after compaction
        files_rows = FILES_PER_SHARD * a.shards
        point_id = file_id_of(rg["B"].start + (len(rg["B"]) * 3) // 4 if len(rg["B"]) else 0, 3)
        self.query_suite(lake, "before compaction", files_rows, point_id)
        comp = lake.compact(tuple(t for t in DATA_TABLES if t in self.scale_tables or t == "files"))
        self.put("(c) compaction of files (time, files before -> after)", fmt,
                 f"{comp['files']['s']:.1f} s, {comp['files']['files_before']} -> {comp['files']['files_after']}")
        others = {t: v for t, v in comp.items() if t != "files"}
        if others:
            self.put("(c) compaction of the other tables", fmt,
                     "; ".join(f"{t} {v['s']:.1f} s {v['files_before']}->{v['files_after']}"
                               for t, v in others.items()))
        self.query_suite(lake, "after compaction", files_rows, point_id)

        # T / E: time travel and snapshot listing
        tt = lake.count_at(early_version)
        self.put(f"(d) time travel: files at the version after phase W (expect {early_rows} rows)", fmt,
                 "; ".join(f"{k}: {v if not k.endswith('_s') else ms(v) + ' ms'}" for k, v in tt.items()))
        n, sec = lake.snapshots()
        self.put("(e) snapshot listing (DuckLake: ducklake_snapshots; Delta: history() of every table)", fmt,
                 f"{n} snapshots/versions in {ms(sec)} ms")

        # D: delete one participant across all tables, with a concurrent reader
        pid = participant_of(0, 0)
        tables = DATA_TABLES
        r = Reader(lake.reader_engines[0], self.ext_dir, root, tables)
        initial = [int(v) for v in r.query(state_sql(r, "participant", pid))[0]]
        del r
        pre_delete = lake.version()
        proc, spec = self.spawn_reader(lake, lake.reader_engines[0], "participant", f"{fmt}-D", tables,
                                       participant=pid, initial=initial)
        try:
            res_del = lake.delete_participant(tables, pid)
        finally:
            res = self.stop_reader(proc, spec)
        self.put(f"(f) delete participant {pid} from {len(tables)} tables ({sum(initial)} rows: {initial})", fmt,
                 f"{res_del['s']:.2f} s, {res_del['commits']} commit(s)")
        self.put("(f) atomicity: reader during the delete", fmt,
                 f"[{lake.reader_engines[0]}] " + self.reader_text(res))
        r = Reader(lake.reader_engines[0], self.ext_dir, root, tables)
        after = [int(v) for v in r.query(state_sql(r, "participant", pid))[0]]
        del r
        tt = lake.count_at(pre_delete)
        self.put(f"(d) time travel: files before the delete (expect {files_rows})", fmt,
                 "; ".join(f"{k}: {v if not k.endswith('_s') else ms(v) + ' ms'}" for k, v in tt.items()))

        # purge: deleted rows must also leave storage
        self.put("(f) rows of the participant visible after the delete", fmt, str(after))
        if fmt == "DuckLake":
            sec = lake.purge(tables, flush=False)
            self.put("(f) purge without flush (rewrite_data_files + expire_snapshots + cleanup_old_files)", fmt,
                     f"{sec:.1f} s; " + self.leftover(root, tables, pid, fmt))
        sec = lake.purge(tables)
        self.put("(f) purge (DuckLake: flush_inlined_data + the above; Delta: vacuum(retention 0) per table)", fmt,
                 f"{sec:.1f} s; " + self.leftover(root, tables, pid, fmt))
        lake.close()

    def leftover(self, root: str, tables: tuple[str, ...], pid: str, fmt: str) -> str:
        """Rows of participant `pid` still stored: in Parquet data files on disk, and in DuckLake's catalog."""
        con = duck(self.ext_dir)
        left = []
        for t in tables:  # every data file in the partition folders (DuckLake delete files have no such column)
            glob = f"{root}/main/{t}/label=*/split=*/*.parquet"
            left.append(con.execute(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name = true) "
                                    f"WHERE {participant_pred(t, pid)}").fetchone()[0])
        con.close()
        text = f"rows left in Parquet files on disk {left}"
        if fmt == "DuckLake":
            text += f", in the catalog's inlined-data tables {inlined_rows(root, pid)}"
        return text

    def versions(self) -> dict[str, str]:
        import deltalake

        con = duck(self.ext_dir, EXTENSIONS)
        ext = dict(con.execute("SELECT extension_name, extension_version FROM duckdb_extensions() "
                               "WHERE extension_name IN ('ducklake', 'delta', 'sqlite_scanner')").fetchall())
        con.close()
        return {"python": sys.version.split()[0], "duckdb": duckdb.__version__, "deltalake": deltalake.__version__,
                "pyarrow": pa.__version__, "ducklake extension": ext.get("ducklake", "?"),
                "delta extension": ext.get("delta", "?"), "sqlite extension": ext.get("sqlite_scanner", "?"),
                "cpus": str(os.cpu_count())}

    def report(self, command: str) -> None:
        fmts = ("DuckLake", "Delta")
        print("\n## Results\n")
        print(f"Command: `{command}`\n")
        print("Versions: " + ", ".join(f"{k} {v}" for k, v in self.versions().items()) + "\n")
        print("| measure | DuckLake (SQLite catalog) | Delta Lake (delta-rs) |")
        print("|---|---|---|")
        for metric, vals in self.results.items():
            if "both" in vals:
                print(f"| {metric} | {vals['both']} | (same files) |")
            else:
                print(f"| {metric} | " + " | ".join(vals.get(f, "").replace("|", "/") for f in fmts) + " |")
        print("\nFresh-process queries on `files` (median of "
              f"{self.args.repeats}; open / query / process wall incl. interpreter start, ms):\n")
        print("| format | engine | phase | query | open / query / wall ms | result |")
        print("|---|---|---|---|---|---|")
        for row in self.query_rows:
            print("| " + " | ".join(row) + " |")
        print(f"\nTotal benchmark time: {time.perf_counter() - self.t_start:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--root", default="/tmp/bench_tf", help="scratch directory (a run-<shards> folder is made in it)")
    p.add_argument("--shards", type=int, default=2000, help="total shards in each lake (full release: ~21000)")
    p.add_argument("--batch-size", type=int, default=100, help="shards per commit in the scale phase")
    p.add_argument("--scale-tables", default=",".join(DATA_TABLES),
                   help="data tables registered in the scale phase (the commit row is always written)")
    p.add_argument("--commit-shards", type=int, default=100, help="per-shard commits timed without a reader")
    p.add_argument("--atomicity-shards", type=int, default=100, help="per-shard commits under each reader")
    p.add_argument("--write-shards", type=int, default=50, help="per-shard commits by the format's writer")
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per query")
    p.add_argument("--workers", type=int, default=2, help="processes writing the Parquet files")
    p.add_argument("--formats", default="DuckLake,Delta")
    p.add_argument("--keep", action="store_true", help="keep the lakes (default: delete the run folder at the end)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    unknown = set(args.scale_tables.split(",")) - set(DATA_TABLES)
    if unknown or "files" not in args.scale_tables.split(","):
        p.error(f"--scale-tables: must include files, choose among {DATA_TABLES}")
    command = shlex.join([sys.executable, *sys.argv])
    bench = Bench(args)
    install_extensions(bench.ext_dir)
    print(f"command: {command}\nversions: {bench.versions()}", flush=True)
    bench.generate()
    for fmt in args.formats.split(","):
        try:
            bench.run_format(fmt)
        except Exception as e:
            bench.notes.append(f"{fmt}: aborted: {type(e).__name__}: {e}")
            bench.put("ABORTED", fmt, f"{type(e).__name__}: {str(e)[:300]}")
            import traceback

            traceback.print_exc()
    bench.report(command)
    if not args.keep:
        with contextlib.suppress(OSError):
            shutil.rmtree(bench.run)


if __name__ == "__main__":
    main()
