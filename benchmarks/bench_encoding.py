"""Encoding candidates for the per-frame arrays on one bench shard: CPU seconds to write `frames` and
`hypernet`, and bytes. Not a test: it prints the figures behind the lake's Parquet options (README).

    .venv/bin/python benchmarks/bench_encoding.py bench-data/release-32/improvised/train/0000/0000.tar [--per-column]
    .venv/bin/python benchmarks/bench_encoding.py bench-data/release-32/improvised/train/0000/0000.tar --budget

`--budget` answers one question instead: which encoding of `frames` and `hypernet` fits issue 11's CPU target
(a shard's CPU at most 1.2x the floor's, the floor inflating every npz with zlib and parsing every json)? It
measures, in alternating rounds in this one process, the floor, the work no encoding removes (inflating and
checking every npz with the product's own `decode_npz`, building its Arrow batches, parsing every json), and
each candidate's encoding into memory (no file, no page cache: the least any write can cost); what 1.2x the
floor leaves after both is what the shard's file writes, its manifest and its share of a commit may spend.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from silake.decode.features import frames_batch, hypernet_batch
from silake.decode.npz import decode_npz
from silake.lake.parquet import writer_options
from silake.schemas.ids import parse_file_id

Writer = Callable[[pa.Table, io.BytesIO], None]


def load(shard: str) -> tuple[pa.Table, pa.Table]:
    frames, hyper = [], []
    with tarfile.open(shard) as tar:
        for m in tar:
            if m.name.endswith(".npz"):
                f = decode_npz(tar.extractfile(m).read(), member_name=m.name)  # type: ignore[union-attr]
                keys = parse_file_id(m.name.rsplit("/", 1)[-1].split(".")[0])
                frames.append(frames_batch(f, keys, 30.0))
                hyper.append(hypernet_batch(f, keys, 30.0))
    return pa.Table.from_batches(frames), pa.Table.from_batches(hyper)


def parquet(**over: object) -> Writer:
    def write(t: pa.Table, buf: io.BytesIO) -> None:
        opts = {**writer_options(t.schema), **over}
        if opts.get("compression") != "zstd":
            opts.pop("compression_level", None)
        pq.write_table(t, buf, row_group_size=max(1, t.num_rows), **opts)
    return write


def duckdb_copy(t: pa.Table, buf: io.BytesIO) -> None:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.register("t", t)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.parquet")
        con.execute(f"COPY t TO '{path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")
        with open(path, "rb") as fh:
            buf.write(fh.read())


def as_binary(t: pa.Table) -> pa.Table:
    """Each fixed-size-list column as fixed_size_binary of the same bytes (what SQL could not index)."""
    cols, fields = [], []
    for fld, col in zip(t.schema, t.columns, strict=True):
        if not pa.types.is_fixed_size_list(fld.type):
            cols.append(col)
            fields.append(fld)
            continue
        arr = col.combine_chunks()
        leaf, n = arr, 1
        while pa.types.is_fixed_size_list(leaf.type):
            n *= leaf.type.list_size
            leaf = leaf.values
        b = pa.FixedSizeBinaryArray.from_buffers(pa.binary(n * leaf.type.bit_width // 8), len(arr),
                                                 [arr.buffers()[0], leaf.buffers()[1]], null_count=arr.null_count)
        cols.append(b)
        fields.append(pa.field(fld.name, b.type))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def as_flat(t: pa.Table) -> pa.Table:
    """Each fixed-size-list column as one scalar column per element (`keypoints__12_2`), null rows kept."""
    cols, names = [], []
    for fld, col in zip(t.schema, t.columns, strict=True):
        if not pa.types.is_fixed_size_list(fld.type):
            cols.append(col)
            names.append(fld.name)
            continue
        arr, dims = col.combine_chunks(), []
        leaf = arr
        while pa.types.is_fixed_size_list(leaf.type):
            dims.append(leaf.type.list_size)
            leaf = leaf.values  # every slot, null rows included
        matrix = leaf.to_numpy(zero_copy_only=False).reshape(len(arr), -1)
        mask = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        for i, idx in enumerate(itertools.product(*(range(d) for d in dims))):
            cols.append(pa.array(matrix[:, i], mask=mask))
            names.append(fld.name + "__" + "_".join(map(str, idx)))
    return pa.Table.from_arrays(cols, names=names)


def rebuild_sql(t: pa.Table, column: str) -> str:
    """DuckDB expression rebuilding `column`'s nested array from its flat columns (what a view would do)."""
    typ = t.schema.field(column).type
    dims = []
    while pa.types.is_fixed_size_list(typ):
        dims.append(typ.list_size)
        typ = typ.value_type

    def build(prefix: list[int], depth: int) -> str:
        if depth == len(dims):
            return f'"{column}__{"_".join(map(str, prefix))}"'
        return "[" + ", ".join(build([*prefix, i], depth + 1) for i in range(dims[depth])) + "]"
    return build([], 0)


def read_cost(t: pa.Table, flat: pa.Table) -> None:
    """DuckDB reading `keypoints` whole (sum of every element) from the lake's lists (byte-stream-split and
    plain floats) and rebuilt from flat columns, and one element (`keypoints[12][2]`) each way; warm medians
    of 3."""
    import statistics

    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        lists, cols = os.path.join(tmp, "lists.parquet"), os.path.join(tmp, "flat.parquet")
        plain = os.path.join(tmp, "plain.parquet")
        with open(lists, "wb") as fh:
            buf = io.BytesIO()
            parquet()(t, buf)
            fh.write(buf.getvalue())
        with open(plain, "wb") as fh:
            buf = io.BytesIO()
            parquet(use_byte_stream_split=False)(t, buf)
            fh.write(buf.getvalue())
        with open(cols, "wb") as fh:
            buf = io.BytesIO()
            parquet()(flat, buf)
            fh.write(buf.getvalue())
        rebuilt = rebuild_sql(t, "keypoints")
        queries = {
            "whole keypoints, lists": f"SELECT sum(list_sum(flatten(keypoints))) FROM '{lists}'",
            "whole keypoints, lists of plain floats": f"SELECT sum(list_sum(flatten(keypoints))) FROM '{plain}'",
            "whole keypoints, rebuilt from flat columns":
                f"SELECT sum(list_sum(flatten({rebuilt}))) FROM '{cols}'",
            "keypoints[12][2], lists": f"SELECT sum(keypoints[12][2]) FROM '{lists}'",
            "keypoints[12][2], lists of plain floats": f"SELECT sum(keypoints[12][2]) FROM '{plain}'",
            "keypoints[12][2], rebuilt": f"SELECT sum(({rebuilt})[12][2]) FROM '{cols}'",
        }
        print("\n| DuckDB query on frames | wall (median of 3) |\n|---|---:|")
        for name, sql in queries.items():
            times = []
            for _ in range(4):
                t0 = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - t0)
            print(f"| {name} | {statistics.median(times[1:]) * 1000:.0f} ms |", flush=True)


def run(name: str, write: Writer, table: pa.Table) -> None:
    buf = io.BytesIO()
    t0 = time.process_time()
    write(table, buf)
    print(f"| {name} | {time.process_time() - t0:.2f} s | {len(buf.getvalue()) / 1e6:.1f} MB |", flush=True)


def per_column(t: pa.Table) -> None:
    """Each column written alone, with the lake's zstd 1 and uncompressed: what compression buys per column."""
    print("\n| column | zstd 1 CPU | zstd 1 bytes | none CPU | none bytes | ratio |\n|---|---:|---:|---:|---:|---:|")
    for name in t.column_names:
        one = t.select([name])
        got = []
        for write in (parquet(), parquet(compression="none")):
            buf = io.BytesIO()
            t0 = time.process_time()
            write(one, buf)
            got.append((time.process_time() - t0, len(buf.getvalue())))
        (zc, zb), (nc, nb) = got
        print(f"| {name} | {zc:.3f} s | {zb / 1e6:.2f} MB | {nc:.3f} s | {nb / 1e6:.2f} MB | {nb / zb:.2f}x |",
              flush=True)


def _members(shard: str) -> list[tuple[str, bytes]]:
    with tarfile.open(shard) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar  # type: ignore[union-attr]
                if m.name.endswith((".npz", ".json"))]


def _floor(members: list[tuple[str, bytes]]) -> None:
    """What bench_ingest's floor does per member: numpy's loader (zlib) on every npz entry, json.loads."""
    import numpy as np

    for name, data in members:
        if name.endswith(".json"):
            json.loads(data)
        else:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                for key in npz.files:
                    npz[key]


def _unavoidable(members: list[tuple[str, bytes]]) -> None:
    """The product's own inflation and checks of every npz (ISA-L, CRC, caps) and its Arrow batches, every
    json parsed."""
    for name, data in members:
        if name.endswith(".json"):
            json.loads(data)
        else:
            f = decode_npz(data, member_name=name)
            keys = parse_file_id(name.rsplit("/", 1)[-1].split(".")[0])
            frames_batch(f, keys, 30.0)
            hypernet_batch(f, keys, 30.0)


def budget(shard: str, rounds: int = 5) -> None:
    """Issue 11's CPU target against the cheapest encodings, measured in alternating rounds (medians)."""
    members = _members(shard)
    frames, hyper = load(shard)
    nested = [f.name for f in frames.schema if pa.types.is_fixed_size_list(f.type)]
    candidates: dict[str, Callable[[], None]] = {}

    def encode(write: Writer, *tables: pa.Table) -> Callable[[], None]:
        return lambda: [write(t, io.BytesIO()) for t in tables] and None

    candidates["the lake's lists, zstd 1 (now)"] = encode(parquet(), frames, hyper)
    candidates["the lake's lists, no compression"] = encode(parquet(compression="none"), frames, hyper)
    flat_frames, flat_hyper = as_flat(frames), as_flat(hyper)
    candidates[f"flat scalar columns ({flat_frames.num_columns} + {flat_hyper.num_columns}), zstd 1"] = encode(
        parquet(), flat_frames, flat_hyper)
    bin_frames, bin_hyper = as_binary(frames), as_binary(hyper)
    candidates["fixed_size_binary (no SQL arrays), zstd 1"] = encode(parquet(), bin_frames, bin_hyper)
    candidates["fixed_size_binary (no SQL arrays), no compression"] = encode(parquet(compression="none"),
                                                                             bin_frames, bin_hyper)
    steps: dict[str, Callable[[], None]] = {"floor": lambda: _floor(members),
                                            "unavoidable": lambda: _unavoidable(members),
                                            **candidates}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.process_time()
            step()
            times[name].append(time.process_time() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    allowed = 1.2 * med["floor"] - med["unavoidable"]
    print(f"\n{shard}: {frames.num_rows:,} frames ({len(nested)} fixed-size-list columns), "
          f"{sum(len(d) for _, d in members) / 1e6:.0f} MB of npz + json; medians of {rounds} alternating rounds\n")
    print("| step | CPU |\n|---|---:|")
    print(f"| floor (zlib inflate, json parse) | {med['floor']:.3f} s |")
    print(f"| target: 1.2x the floor | {1.2 * med['floor']:.3f} s |")
    print(f"| inflate + check every npz (ISA-L), its Arrow batches, parse every json | {med['unavoidable']:.3f} s |")
    print(f"| left for encoding, file writes, manifest, commit share | **{allowed:.3f} s** |")
    print("\n| encoding of frames + hypernet, into memory | CPU | left for file writes, manifest, commit share |"
          "\n|---|---:|---:|")
    for name in candidates:
        print(f"| {name} | {med[name]:.3f} s | {allowed - med[name]:+.3f} s |")


def main() -> None:
    if "--budget" in sys.argv:
        budget(sys.argv[1])
        return
    frames, hyper = load(sys.argv[1])
    for label, t in (("frames", frames), ("hypernet", hyper)):
        print(f"\n{label}: {t.num_rows:,} rows, {t.nbytes / 1e6:.0f} MB in Arrow\n")
        print("| encoding | CPU | bytes |\n|---|---:|---:|")
        run("lake's options (lists, zstd 1, byte_stream_split floats)", parquet(), t)
        run("plain floats (no byte_stream_split), zstd 1", parquet(use_byte_stream_split=False), t)
        run("zstd 3", parquet(compression_level=3), t)
        run("lz4", parquet(compression="lz4"), t)
        run("no compression", parquet(compression="none"), t)
        run("DuckDB COPY (zstd 1, 1 thread)", duckdb_copy, t)
        run("fixed_size_binary, zstd 1 (no SQL arrays)", parquet(), as_binary(t))
        flat = as_flat(t)
        run(f"flat scalar columns ({flat.num_columns}), zstd 1", parquet(), flat)
        run(f"flat scalar columns ({flat.num_columns}), no compression", parquet(compression="none"), flat)
        if label == "frames":
            read_cost(t, flat)
        if "--per-column" in sys.argv:
            per_column(t)


if __name__ == "__main__":
    main()
