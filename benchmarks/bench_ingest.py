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
    """Seconds for the Hugging Face datasets route: iterate samples, one row per frame, write Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Value, load_dataset

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        ds = load_dataset("webdataset", data_files={"train": [str(s) for s in shards]}, split="train",
                          streaming=True, cache_dir=cache)
        # Without torchcodec, datasets cannot even encode the Audio/Video columns it infers: keep raw bytes
        # (they are still read from the tar), then drop them as a features-only user would.
        ds = ds.cast_column("wav", Value("binary")).cast_column("mp4", Value("binary"))
        ds = ds.remove_columns(["wav", "mp4"])
        out.mkdir(parents=True, exist_ok=True)
        for example in ds:  # datasets hands each npz over as nested Python lists, a list per frame
            cols = {k: [np.asarray(row).tolist() for row in v] for k, v in example["npz"].items()
                    if v is not None and k != "movement:hypernet_features"}
            n = len(cols["smplh:is_valid"])
            table = pa.Table.from_pydict({"file_id": [example["__key__"]] * n, "frame_idx": list(range(n)), **cols})
            pq.write_table(table, out / f"{example['__key__']}.parquet", compression="zstd")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--data", type=Path, default=ROOT / "bench-data")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--datasets-shards", type=int, default=2,
                    help="shards to take through the datasets route (it is slow); compared per shard")
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
        k = min(args.datasets_shards, len(shards))
        ds_s = datasets_route(shards[:k], args.data / "datasets-route")
        per_ds, per_silake = ds_s / k, wall / len(shards)
        print(f"datasets route (load_dataset('webdataset') -> a row per frame -> Parquet) on {k} shards: "
              f"{ds_s:.1f} s = {per_ds:.1f} s/shard vs silake {per_silake:.1f} s/shard (whole process): "
              f"{per_ds / per_silake:.1f}x")


if __name__ == "__main__":
    main()
