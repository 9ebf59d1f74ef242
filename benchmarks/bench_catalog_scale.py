"""Full-release scale of the catalog (not a test): a synthetic lake as large as the release, in files and rows.

    .venv/bin/python benchmarks/bench_catalog_scale.py --out bench-data/catalog-scale            # 21,000 shards
    .venv/bin/python benchmarks/bench_catalog_scale.py --out /tmp/scale --shards 500 --files 3080  # a quick look

Builds, through the lake's own write path (`ShardWriter`, `commit_batch` with the QA refresh, then
`maybe_compact` and `renew_if_large` after each commit, as an ingest's commit step does), a lake of
`--shards` shards
holding `--files` files (the release: 21,000 shards, 129,370 file ids) with every per-shard table at the
release's rates per file (transcript words ~140, VAD intervals ~30, segments ~15, annotations ~4, a second
of emotion per second of video for vendor 00, frames and hypernet as small placeholder files so that every
table has a file per shard). Then it measures, each time in a fresh process:

  1. opening the lake plus `SELECT count(*) FROM files`, a point lookup of one file id, `qa_summary`;
  2. the same on "today's hive layout": the per-shard files read through glob views (what silake 0.1 did),
     with the same SQL layer on top (QA computed at query time, as silake 0.1 did);
  3. the same again after a full `silake compact`;
  4. a no-op ingest's planning: open the catalog for writing, read the committed shard versions, diff
     them with 21,000 shard references.

The lake stays under --out for a second look (`--measure-only`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from silake.lake import lease
from silake.lake.catalog import locate_lake
from silake.lake.commit import CommitRecord
from silake.lake.committer import commit_batch
from silake.lake.maintenance import compact, maybe_compact
from silake.lake.session import CatalogWriter
from silake.lake.shard_writer import ShardWriter
from silake.lake.staging import Claim, ShardManifest, settle
from silake.schemas.release import EMOTION_CLASSES
from silake.schemas.tables import SHARD_TABLES, TABLES

RUN_ID = "20260101T000000Z-scale001"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: (label, split) of each shard, in the release's proportions (train ~95 % of the batches).
PARTITIONS = [("improvised", "train")] * 82 + [("improvised", "dev")] * 3 + [("improvised", "test")] * 3 + \
    [("naturalistic", "train")] * 10 + [("naturalistic", "dev")] + [("naturalistic", "test")]
VOCAB = np.array([f"w{i}" for i in range(5000)], dtype=object)
ZIPF = 1.0 / np.arange(1, 5001) ** 1.1
ZIPF /= ZIPF.sum()


def _column(field: pa.Field, n: int, rng: np.random.Generator) -> pa.Array:
    typ = field.type
    if pa.types.is_fixed_size_list(typ):
        inner = _column(pa.field("x", typ.value_type), n * typ.list_size, rng)
        return pa.FixedSizeListArray.from_arrays(inner, typ.list_size)
    if pa.types.is_list(typ):
        return pa.array([[]] * n, typ)
    if pa.types.is_map(typ):
        return pa.array([[]] * n, typ)
    if pa.types.is_floating(typ):
        return pa.array(rng.random(n).astype(typ.to_pandas_dtype()), typ)
    if pa.types.is_integer(typ):
        return pa.array(rng.integers(0, 100, n), typ)
    if pa.types.is_boolean(typ):
        return pa.array(rng.random(n) < 0.9, typ)
    if pa.types.is_timestamp(typ):
        return pa.array([NOW] * n, typ)
    return pa.array([f"s{v}" for v in rng.integers(0, 50, n)], typ)


def _table(name: str, n: int, rng: np.random.Generator, keys: dict[str, np.ndarray], **cols: object) -> pa.Table:
    schema = TABLES[name].sample_schema
    arrays = []
    for f in schema:
        if f.name in keys:
            arrays.append(pa.array(keys[f.name], f.type))
        elif f.name in cols:
            arrays.append(pa.array(cols[f.name], f.type))
        else:
            arrays.append(_column(f, n, rng))
    return pa.Table.from_arrays(arrays, schema=schema)


def shard_tables(index: int, first_file: int, n_files: int, rng: np.random.Generator) -> dict[str, pa.Table]:
    """One shard's rows: n_files files (interactions of two partners), at the release's rates."""
    ids = np.arange(first_file, first_file + n_files)
    vendor = np.array([f"{(i // 2) % 4:02d}" for i in ids])
    session = np.array([f"{i // 2 % 9000 + 1000:04d}" for i in ids])
    prompt = np.array([f"{i // 2 % 1312:08d}" for i in ids])
    participant = np.array([f"{i:05d}" for i in ids])
    inter = np.array([f"V{v}_S{s}_I{p}" for v, s, p in zip(vendor, session, prompt, strict=True)])
    fid = np.array([f"{k}_P{p}" for k, p in zip(inter, participant, strict=True)])
    base = {"file_id": fid, "vendor_id": vendor, "session_id": session, "prompt_hash": prompt,
            "participant_id": participant, "interaction_key": inter}

    def rep(counts: np.ndarray) -> dict[str, np.ndarray]:
        return {k: np.repeat(v, counts) for k, v in base.items()}

    duration = rng.uniform(60, 180, n_files)
    frames = np.round(duration * 30).astype(np.int64)
    movement = vendor == "00"
    tables: dict[str, pa.Table] = {}
    tables["files"] = _table("files", n_files, rng, base, n_frames=frames, duration_s=duration,
                             video_duration_s=duration, wav_duration_s=duration, nominal_fps=[30.0] * n_files,
                             fps=frames / duration, wav_n_samples=np.round(duration * 48000).astype(np.int64),
                             has_movement=movement, n_pose_valid=frames, n_box_valid=frames,
                             n_translation_sentinel=np.zeros(n_files, np.int64),
                             n_movement_valid=[int(f) if m else None for f, m in zip(frames, movement, strict=True)],
                             annotation_kinds=[["3P-V"]] * n_files)
    words = rng.poisson(140, n_files)
    w = int(words.sum())
    starts = rng.uniform(0, 1, w) * np.repeat(duration, words)
    tables["transcript_words"] = _table(
        "transcript_words", w, rng, rep(words), segment_idx=np.zeros(w, np.int32),
        word_idx=np.concatenate([np.arange(k, dtype=np.int32) for k in words]),
        word=rng.choice(VOCAB, w, p=ZIPF), start_s=starts, end_s=starts + 0.3)
    vad = rng.poisson(30, n_files)
    v = int(vad.sum())
    vstart = rng.uniform(0, 1, v) * np.repeat(duration, vad)
    tables["vad_segments"] = _table("vad_segments", v, rng, rep(vad),
                                    vad_idx=np.concatenate([np.arange(k, dtype=np.int32) for k in vad]),
                                    start_s=vstart, end_s=vstart + rng.uniform(0.5, 4, v))
    seg = rng.poisson(15, n_files)
    tables["transcript_segments"] = _table("transcript_segments", int(seg.sum()), rng, rep(seg))
    ann = rng.poisson(4, n_files)
    a = int(ann.sum())
    ts = rng.integers(0, 100, a)
    tables["annotations"] = _table("annotations", a, rng, rep(ann), kind=["3P-V"] * a, start_ts=ts, end_ts=ts + 3)
    secs = np.where(movement, np.ceil(duration).astype(np.int64), 0)
    e = int(secs.sum())
    tables["emotion_seconds"] = _table(
        "emotion_seconds", e, rng, rep(secs), second=np.concatenate([np.arange(k, dtype=np.int32) for k in secs]),
        dominant_emotion=rng.choice(np.array(EMOTION_CLASSES, dtype=object), e))
    one = np.ones(n_files, np.int64)  # frames and hypernet: a row per file, so every table has its file
    tables["frames"] = _table("frames", n_files, rng, rep(one))
    tables["hypernet"] = _table("hypernet", n_files, rng, rep(one))
    return tables


def stage_shards(root: str, indices: list[int], files_per_shard: list[int], offsets: list[int]) -> list[str]:
    """Write the data files of some shards (a worker process); returns their manifests as JSON."""
    lake = locate_lake(root, must_exist=False)
    out = []
    for i in indices:
        rng = np.random.default_rng(i)
        label, split = PARTITIONS[i % len(PARTITIONS)]
        key = f"{i // 64:04d}-{i % 64:04d}"
        claim = Claim(RUN_ID, label, split, key, "a0000000")
        writer = ShardWriter(lake.storage, claim, SHARD_TABLES)
        for name, table in shard_tables(i, offsets[i], files_per_shard[i], rng).items():
            for batch in table.to_batches():
                writer.add(name, batch)
        rows = writer.rows()
        files = writer.publish()
        n = rows["files"]
        commit = CommitRecord(f"hf://datasets/facebook/seamless-interaction/{label}/{split}/{key[:4]}/{key[5:]}.tar",
                              key, label, split, i // 64, i % 64, 1_100_000_000, f"etag{i}", "ok", n, n, 0, rows,
                              95_000_000, RUN_ID, claim.attempt, NOW, NOW)
        out.append(ShardManifest(claim, files, commit).to_json().decode())
    return out


def build(root: Path, shards: int, files: int, jobs: int, batch: int) -> None:
    per = np.full(shards, files // shards)
    per[: files % shards] += 1
    offsets = np.concatenate([[0], np.cumsum(per)[:-1]]).tolist()
    lake = locate_lake(str(root), must_exist=False)
    t0 = time.perf_counter()
    chunks = [list(range(s, min(s + batch, shards))) for s in range(0, shards, batch)]
    lease.acquire(lake.storage, RUN_ID)
    commit_s: list[float] = []
    try:
        with CatalogWriter(lake) as writer, ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(stage_shards, str(root), c, per.tolist(), offsets) for c in chunks]
            for n, fut in enumerate(futures):
                manifests = [ShardManifest.from_json(m.encode()) for m in fut.result()]
                t = time.perf_counter()
                commit_batch(writer, manifests, message=f"scale batch {n}")
                commit_s.append(time.perf_counter() - t)
                for m in manifests:
                    settle(lake.storage, m.claim)
                t = time.perf_counter()
                compacted = maybe_compact(writer)
                writer.renew_if_large()  # what the commit step does after each commit
                done = min((n + 1) * batch, shards)
                print(f"  {done} / {shards} shards committed ({time.perf_counter() - t0:.0f} s; last commit of "
                      f"{len(manifests)} shards {commit_s[-1]:.2f} s"
                      + (f", compaction {time.perf_counter() - t:.1f} s" if compacted else "") + ")", flush=True)
    finally:
        lease.release(lake.storage, RUN_ID)
    print(f"built in {time.perf_counter() - t0:.0f} s; commit of {batch} shards: median "
          f"{sorted(commit_s)[len(commit_s) // 2]:.2f} s, max {max(commit_s):.2f} s")


PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
mode, root, sql = sys.argv[1], sys.argv[2], sys.argv[3]
import duckdb
if mode == "hive":  # what silake 0.1 did: a view per table globbing its files, a lake without a catalog
    from pathlib import Path
    from silake.lake import extensions
    from silake.lake.ddl import table_columns
    from silake.query.views import view_script
    from silake.schemas.tables import TABLES
    con = extensions.connect()
    for name, t in TABLES.items():  # the per-shard files only (compaction's merged files start "ducklake-")
        pattern = f"{root}/main/{name}/*/*/[0-9]*.parquet" if t.per_shard else f"{root}/main/{name}/*.parquet"
        if t.name in ("qa_findings", "ingest_shards") or next(Path(root, "main", name).rglob("[0-9]*.parquet"),
                                                             None) is None:
            cols = ", ".join(f'"{c}" {typ}' for c, typ in table_columns(t))
            con.execute(f"CREATE TABLE {name} ({cols})")
            continue
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)")
    con.execute(view_script())
    con.execute("CREATE OR REPLACE VIEW qa_flags AS FROM qa_flags_live")  # QA at query time, as silake 0.1
else:
    from silake.query.connection import connect
    con = connect(root)
t1 = time.perf_counter()
rows = con.execute(sql).fetchall()
t2 = time.perf_counter()
print(json.dumps({"open_s": t1 - t0, "query_s": t2 - t1, "rows": len(rows)}))
"""

PLAN = r"""
import json, sys, time
t0 = time.perf_counter()
root, shards = sys.argv[1], int(sys.argv[2])
from silake.lake.catalog import locate_lake
from silake.lake.commit import committed_versions
from silake.lake.session import CatalogWriter
from silake.ingest_plan import plan_ingest
from silake.sources.shards import ShardRef
PARTS = {PARTS}
refs = []
for i in range(shards):
    label, split = PARTS[i % len(PARTS)]
    key = f"{i // 64:04d}-{i % 64:04d}"
    refs.append(ShardRef(f"hf://x/{label}/{split}/{key}.tar", 1_100_000_000, f"etag{i}", label, split, i // 64,
                         i % 64, key))
t1 = time.perf_counter()
with CatalogWriter(locate_lake(root)) as w:
    plan = plan_ingest(refs, committed_versions(w.con))
t2 = time.perf_counter()
print(json.dumps({"plan_s": t2 - t1, "process_s": t2 - t0, "todo": len(plan.todo)}))
"""

QUERIES = {
    "count(*) from files": "SELECT count(*) FROM files",
    "point lookup of a file id": "SELECT * FROM files WHERE file_id = (SELECT 'V00_S1000_I00000000_P00000')",
    "qa_summary": "SELECT * FROM qa_summary",
}


def probe(mode: str, root: Path, sql: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode, str(root), sql], capture_output=True, text=True,
                         timeout=3600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout)


def measure(root: Path, label: str, modes: tuple[str, ...]) -> None:
    for mode in modes:
        for name, sql in QUERIES.items():
            r = probe(mode, root, sql)
            if "error" in r:
                print(f"| {label} | {mode} | {name} | error: {r['error']} |")
                continue
            print(f"| {label} | {mode} | {name} | open {r['open_s']:.2f} s + query {r['query_s']:.2f} s = "
                  f"{r['open_s'] + r['query_s']:.2f} s |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--shards", type=int, default=21_000)
    ap.add_argument("--files", type=int, default=129_370)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=500, help="shards per commit")
    ap.add_argument("--measure-only", action="store_true")
    args = ap.parse_args()
    root = args.out.resolve()
    if not args.measure_only:
        build(root, args.shards, args.files, args.jobs, args.batch)
    data_files = sum(1 for _ in (root / "main").rglob("[0-9]*.parquet"))
    catalog_mb = (root / "ducklake.sqlite").stat().st_size / 1e6
    print(f"\n{args.shards} shards, {args.files} files, {data_files} per-shard data files, catalog "
          f"{catalog_mb:.0f} MB\n")
    print("| layout | reader | query | time |\n|---|---|---|---|")
    measure(root, "per-shard files", ("hive",))
    measure(root, "as an ingest leaves it", ("catalog",))
    out = subprocess.run([sys.executable, "-c", PLAN.replace("{PARTS}", repr(PARTITIONS)), str(root),
                          str(args.shards)], capture_output=True, text=True, timeout=3600)
    print(f"| as an ingest leaves it | catalog | no-op planning | {out.stdout.strip() or out.stderr.strip()} |")
    lake = locate_lake(str(root))
    lease.acquire(lake.storage, "compact-bench")
    try:
        t = time.perf_counter()
        with CatalogWriter(lake) as writer:
            result = compact(writer)
        print(f"| compact | | {time.perf_counter() - t:.0f} s | "
              + ", ".join(f"{k} {a}->{b}" for k, (a, b) in result.items()) + " |")
    finally:
        lease.release(lake.storage, "compact-bench")
    measure(root, "compacted", ("catalog",))
    out = subprocess.run([sys.executable, "-c", PLAN.replace("{PARTS}", repr(PARTITIONS)), str(root),
                          str(args.shards)], capture_output=True, text=True, timeout=3600)
    print(f"| compacted | catalog | no-op planning | {out.stdout.strip() or out.stderr.strip()} |")


if __name__ == "__main__":
    main()
