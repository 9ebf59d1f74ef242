"""Ingest benchmark on bench-scale shards (real proportions). Not a test: it prints figures for the README.

    .venv/bin/python benchmarks/bench_ingest.py [--shards 2] [--data bench-data] [--skip-datasets]

Measures, on the same shards:
  1. floor: one process that merely inflates every npz and parses every json (tarfile + numpy + json);
  2. `silake ingest` from local disk, whole process (all cores), wall time and peak RSS of any process;
  3. `silake ingest` over HTTP from a loopback range server: bytes fetched / shard bytes;
  4. the route a user would otherwise take: Hugging Face `datasets.load_dataset("webdataset", ...)`
     iterated, npz arrays turned into per-frame rows and written to Parquet with pyarrow.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SILAKE = [sys.executable, "-m", "silake.cli"]


def shards_of(release: Path) -> list[Path]:
    return sorted(release.glob("*/*/*/*.tar"))


def ensure_release(data: Path, shards: int) -> Path:
    release = data / f"release-{shards}"
    if not shards_of(release):
        subprocess.run([*SILAKE, "sample", "--out", str(release), "--scale", "bench", "--shards", str(shards),
                        "--overwrite"], check=True)
    return release


def floor_inflate_and_parse(shards: list[Path]) -> tuple[float, int, int, int]:
    """Seconds to inflate every npz and parse every json in one process; files, frames, decoded bytes."""
    t0 = time.perf_counter()
    files = frames = decoded = 0
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar:
                if member.name.endswith(".json"):
                    json.loads(tar.extractfile(member).read())
                elif member.name.endswith(".npz"):
                    files += 1
                    with np.load(io.BytesIO(tar.extractfile(member).read()), allow_pickle=False) as npz:
                        for key in npz.files:
                            arr = npz[key]
                            decoded += arr.nbytes
                            if key == "smplh:is_valid":
                                frames += arr.shape[0]
    return time.perf_counter() - t0, files, frames, decoded


def timed_ingest(sources: list[str], lake: Path, workers: int) -> tuple[float, int, str]:
    """Wall seconds of a whole `silake ingest` process, the peak RSS (KiB) of any process it ran, stdout."""
    shutil.rmtree(lake, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([*SILAKE, "ingest", *sources, "--lake", str(lake), "--workers", str(workers),
                          "--no-progress"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before), out.stdout


def http_fetch_ratio(release: Path, lake: Path) -> tuple[int, int, int]:
    """Ingest through a loopback HTTP range server; (bytes served, shard bytes, requests)."""
    sys.path.insert(0, str(ROOT))
    from tests.servers import RangeHTTPServer  # the same server the tests use

    shards = shards_of(release)
    with RangeHTTPServer(release) as server:
        urls = [server.url_for(p.relative_to(release).as_posix()) for p in shards]
        shutil.rmtree(lake, ignore_errors=True)
        subprocess.run([*SILAKE, "ingest", *urls, "--lake", str(lake), "--workers", "2", "--no-progress",
                        "--metadata", str(release)], check=True, capture_output=True, text=True)
        return server.stats.bytes_served, sum(p.stat().st_size for p in shards), server.stats.requests


def datasets_route(shards: list[Path], out: Path) -> float:
    """Seconds for the Hugging Face datasets route: iterate samples, per-frame rows, write Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import load_dataset

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        ds = load_dataset("webdataset", data_files={"train": [str(s) for s in shards]}, split="train",
                          streaming=True, cache_dir=cache)
        ds = ds.remove_columns(["wav", "mp4"])
        writer = None
        for example in ds:
            npz = example["npz"]
            cols = {"file_id": [], "frame_idx": []}
            arrays = {k: npz[k] for k in npz.files if k != "movement:hypernet_features"}
            n = next(iter(arrays.values())).shape[0]
            for i in range(n):  # what a one-off script does: a row per frame
                cols["file_id"].append(example["__key__"])
                cols["frame_idx"].append(i)
                for k, a in arrays.items():
                    cols.setdefault(k, []).append(a[i].reshape(-1).tolist())
            table = pa.Table.from_pydict(cols)
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--data", type=Path, default=ROOT / "bench-data")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-datasets", action="store_true")
    args = ap.parse_args()

    release = ensure_release(args.data, args.shards)
    shards = shards_of(release)
    shard_bytes = sum(p.stat().st_size for p in shards)
    print(f"release: {len(shards)} shards, {shard_bytes / 1e9:.2f} GB ({release})")

    floor_s, files, frames, decoded = floor_inflate_and_parse(shards)
    print(f"floor (1 process inflates every npz, parses every json): {floor_s:.1f} s, {files} files, "
          f"{frames} frames, {decoded / 1e6:.0f} MB decoded")

    wall, peak_kib, out = timed_ingest([str(release)], args.data / "lake", args.workers)
    print(out.strip())
    print(f"silake ingest (local, {args.workers} workers): {wall:.1f} s wall = {wall / floor_s:.2f}x the floor; "
          f"{files / wall:.1f} files/s, {frames / wall:,.0f} frames/s, {decoded / wall / 1e6:.0f} MB/s decoded; "
          f"peak RSS of any process {peak_kib / 1024:.0f} MiB")

    served, total, requests = http_fetch_ratio(release, args.data / "lake-http")
    print(f"http source: {served:,} bytes fetched of {total:,} shard bytes = {served / total:.2%} "
          f"({requests} requests)")

    if not args.skip_datasets:
        ds_s = datasets_route(shards, args.data / "datasets-route.parquet")
        print(f"datasets route (load_dataset('webdataset') -> per-frame rows -> Parquet): {ds_s:.1f} s = "
              f"{ds_s / wall:.1f}x slower than silake ingest")


if __name__ == "__main__":
    main()
