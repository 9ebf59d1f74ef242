"""Ingest benchmark on bench-scale shards (real proportions). Not a test: it prints figures for the README.

    .venv/bin/python benchmarks/bench_ingest.py [--shards 32] [--sizes 1,4,8,16,32] [--data bench-data]
                                                [--skip-datasets] [--skip-http]

Measures, on the same shards:
  1. CPU per stage per shard, in one process on the first shards (the product's own functions, timed with
     per-thread CPU clocks): read (range reads + tar walk, in the fetch thread), inflate (npz entries,
     checks included), decode (json, media headers, Arrow batches), write (Parquet encoding and I/O, in the
     write thread), stage (publish files, manifest) and commit (the catalog transaction); against the
     floor's CPU for the same shard;
  2. floor: one process that merely inflates every npz and parses every json (tarfile + numpy + json);
  3. `silake ingest` from local disk, whole process (all cores), for each size in --sizes (the first N
     shards): wall time against the floor's for the same shards, peak RSS of any process;
  4. `silake ingest` over HTTP from a loopback range server: bytes fetched / shard bytes;
  5. the route a user would otherwise take: Hugging Face `datasets.load_dataset("webdataset", ...)`
     iterated, npz arrays turned into per-frame rows and written to Parquet with pyarrow.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
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
    return _floor(shards, time.perf_counter)


def floor_cpu(shard: Path) -> float:
    """CPU seconds of the floor for one shard."""
    return _floor([shard], time.process_time)[0]


def _floor(shards: list[Path], clock: Callable[[], float]) -> tuple[float, int, int, int]:
    t0 = clock()
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
    return clock() - t0, files, frames, decoded


STAGE_CODE = r"""
import json, sys, tempfile, threading, time
from collections import defaultdict
import silake.decode.sample as sample_mod
import silake.lake.shard_writer as writer_mod
import silake.shard_job as job
import silake.sources.reader as reader_mod
from silake.ingest import new_run_id
from silake.lake import lease
from silake.lake.catalog import locate_lake
from silake.lake.committer import Committer
from silake.lake.session import CatalogWriter
from silake.ingest_plan import discover
from silake.settings import current

settings = current()

cpu = defaultdict(float)
local = threading.local()

def timed(stage, fn):
    def wrapper(*a, **k):
        if getattr(local, "busy", False):  # nested: counted by the outer stage
            return fn(*a, **k)
        local.busy = True
        t0 = time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            cpu[stage] += time.thread_time() - t0
            local.busy = False
    return wrapper

npz = sample_mod.decode_npz
def decode_npz(*a, **k):
    t0 = time.thread_time()
    try:
        return npz(*a, **k)
    finally:
        cpu["inflate"] += time.thread_time() - t0
sample_mod.decode_npz = decode_npz
sample_mod_decode = sample_mod.decode_sample
def decode_sample(*a, **k):
    t0, i0 = time.thread_time(), cpu["inflate"]
    try:
        return sample_mod_decode(*a, **k)
    finally:
        cpu["decode"] += time.thread_time() - t0 - (cpu["inflate"] - i0)
job.decode_sample = decode_sample
reader_mod.RangeReader.read_at = timed("read", reader_mod.RangeReader.read_at)
job.iter_samples = timed("read", job.iter_samples)
writer_mod._TableFile.flush = timed("write", writer_mod._TableFile.flush)
writer_mod._TableFile.close = timed("write", writer_mod._TableFile.close)
writer_mod.ShardWriter.publish = timed("stage", writer_mod.ShardWriter.publish)
job.write_manifest = timed("stage", job.write_manifest)

shards = sys.argv[2:]
found = discover(shards)
target = locate_lake(sys.argv[1], None, must_exist=False)
run_id = new_run_id()
lease.acquire(target.storage, run_id)
out = []
with CatalogWriter(target, own_sql_only=True) as writer:  # as the ingest opens it
    committer = Committer(writer, run_id)
    for ref in found.shards:
        cpu.clear()
        t0 = time.process_time()
        job.ingest_shard(ref, job.IngestContext(target.root, run_id, caps=settings.caps(), reads=settings.read_limits(),
                                                access=settings.source_access()))
        total = time.process_time() - t0
        c0 = time.process_time()
        committer.poll()
        cpu["commit"] = time.process_time() - c0
        out.append({"shard": ref.uri, "total": total + cpu["commit"], **cpu})
lease.release(target.storage, run_id)
print(json.dumps(out))
"""


def stage_cpu(shards: list[Path], lake: Path) -> list[dict]:
    """Per shard: CPU seconds per stage and in total (one process, the product's own code)."""
    shutil.rmtree(lake, ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", STAGE_CODE, str(lake), *map(str, shards)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc; the fork server's workers are grandchildren)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def _peak_rss_kib(pids: list[int]) -> int:
    """The largest VmHWM (the kernel's high-water mark of resident memory) among `pids`, in KiB."""
    peak = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def timed_ingest(sources: list[str], lake: Path, workers: int, metadata: str | None = None
                 ) -> tuple[float, int, str]:
    """Wall seconds of a whole `silake ingest` process, the peak RSS (KiB) of any process it ran, stdout.

    The peak is each process's own high-water mark (VmHWM), read every 0.2 s while the run lasts: the
    workers fork from a fork server, so they are not children the launcher waits for, and GNU time's
    maximum resident set size would count the launcher only."""
    shutil.rmtree(lake, ignore_errors=True)
    extra = ["--metadata", metadata] if metadata else []
    t0 = time.perf_counter()
    proc = subprocess.Popen([*SILAKE, "ingest", *sources, "--lake", str(lake), "--workers", str(workers),
                             "--no-progress", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _peak_rss_kib(_descendants(proc.pid)))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    watcher.join()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
    return wall, peak, out


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
    ap.add_argument("--shards", type=int, default=32, help="bench shards to generate (once) under --data")
    ap.add_argument("--sizes", default="1,4,8,16,32", help="shard counts of the whole-process runs")
    ap.add_argument("--stage-shards", type=int, default=2, help="shards of the per-stage CPU table")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--data", type=Path, default=ROOT / "bench-data")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--datasets-shards", type=int, default=2,
                    help="shards to take through the datasets route (it is slow); compared per shard")
    ap.add_argument("--skip-datasets", action="store_true")
    args = ap.parse_args()

    release = ensure_release(args.data, args.shards)
    shards = shards_of(release)
    sizes = [n for n in (int(x) for x in args.sizes.split(",")) if n <= len(shards)]
    shard_bytes = sum(p.stat().st_size for p in shards)
    print(f"release: {len(shards)} shards, {shard_bytes / 1e9:.2f} GB ({release}); {os.cpu_count()} cores")

    stages = ("read", "inflate", "decode", "write", "stage", "commit")
    print("\nCPU per stage per shard (one process; the floor inflates the same npz with zlib and parses the "
          "json)\n")
    print("| shard | " + " | ".join(stages) + " | total | floor | total / floor |")
    print("|---|" + "---:|" * (len(stages) + 3))
    for row, shard in zip(stage_cpu(shards[:args.stage_shards], args.data / "lake-stages"), shards, strict=False):
        floor = floor_cpu(shard)
        cells = " | ".join(f"{row.get(k, 0.0):.2f}" for k in stages)
        print(f"| {shard.relative_to(release)} | {cells} | {row['total']:.2f} | {floor:.2f} | "
              f"{row['total'] / floor:.2f}x |", flush=True)

    print(f"\nwhole `silake ingest` process ({args.workers} workers) against the floor on the same shards\n")
    print("| shards | GB | floor | silake ingest | ratio | files/s | frames/s | peak RSS of any process |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        subset = shards[:n]
        floor_s, files, frames, _decoded = floor_inflate_and_parse(subset)
        wall, peak_kib, _out = timed_ingest([str(p) for p in subset], args.data / "lake", args.workers,
                                           metadata=str(release))
        gb = sum(p.stat().st_size for p in subset) / 1e9
        print(f"| {n} | {gb:.1f} | {floor_s:.1f} s | {wall:.1f} s | {wall / floor_s:.2f}x | {files / wall:.1f} | "
              f"{frames / wall:,.0f} | {peak_kib / 1024:.0f} MiB |", flush=True)
    print()
    if not args.skip_http:
        served, total, requests = http_fetch_ratio(release, args.data / "lake-http")
        print(f"http source: {served:,} bytes fetched of {total:,} shard bytes = {served / total:.2%} "
              f"({requests} requests)")

    if not args.skip_datasets:
        k = min(args.datasets_shards, len(shards))
        ds_s = datasets_route(shards[:k], args.data / "datasets-route")
        per_ds, per_silake = ds_s / k, wall / sizes[-1]
        print(f"datasets route (load_dataset('webdataset') -> a row per frame -> Parquet) on {k} shards: "
              f"{ds_s:.1f} s = {per_ds:.1f} s/shard vs silake {per_silake:.1f} s/shard (whole process): "
              f"{per_ds / per_silake:.1f}x")


if __name__ == "__main__":
    main()
