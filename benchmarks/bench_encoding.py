"""Encoding candidates for the per-frame arrays on one bench shard: CPU seconds to write `frames` and
`hypernet`, and bytes. Not a test: it prints the figures behind the lake's Parquet options (README).

    .venv/bin/python benchmarks/bench_encoding.py bench-data/release-32/improvised/train/0000/0000.tar [--per-column]
"""

from __future__ import annotations

import io
import itertools
import os
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


def main() -> None:
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
