"""`silake sample --out DIR`: write the miniature release and print a short summary."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from silake.schemas.release import LABELS, METADATA_FILES

from .truth import ShardTruth
from .writer import write_release

#: Entries of a release root that `--overwrite` may delete (anything else makes it refuse).
RELEASE_ENTRIES = frozenset(LABELS) | frozenset(METADATA_FILES.values())


def _clear(out: Path) -> str | None:
    """Delete a previous release in `out`; return an error message if `out` holds anything else."""
    foreign = sorted(p.name for p in out.iterdir() if p.name not in RELEASE_ENTRIES)
    if foreign:
        return f"{out} holds entries that are not part of a sample release ({', '.join(foreign[:5])}); " \
               "refusing to delete them"
    for p in out.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    return None


def run_sample(args: argparse.Namespace) -> int:
    """Handler of `silake sample`; returns the process exit code."""
    out = Path(args.out)
    if args.scale == "demo" and args.shards is not None:
        print("silake sample: --shards applies to --scale bench only", file=sys.stderr)
        return 2
    if out.exists() and not out.is_dir():
        print(f"silake sample: {out} exists and is not a directory", file=sys.stderr)
        return 2
    existed = out.exists()
    if existed and any(out.iterdir()):
        if not args.overwrite:
            print(f"silake sample: {out} is not empty (use --overwrite to replace it)", file=sys.stderr)
            return 1
        problem = _clear(out)
        if problem:
            print(f"silake sample: {problem}", file=sys.stderr)
            return 1

    def progress(shard: ShardTruth) -> None:
        if args.scale == "bench":
            print(f"  {shard.path}: {shard.n_samples} files, {shard.size / 1e6:.1f} MB", flush=True)

    tar_format = args.tar_format
    started = time.perf_counter()
    try:
        truth = write_release(out, seed=args.seed, scale=args.scale, shards=args.shards, tar_format=tar_format,
                              on_shard=progress)
    except BaseException:  # interrupted or failed: leave no half-written release behind
        if out.is_dir():
            _clear(out)
            if not existed:
                out.rmdir()
        raise
    elapsed = time.perf_counter() - started
    flagged = sum(1 for f in truth.files if f.flags)
    print(f"wrote {truth.scale} release to {out} ({tar_format} tar headers): {len(truth.shards)} shards, "
          f"{len(truth.files)} files ({flagged} with planted defects), {truth.total_bytes / 1e6:.1f} MB "
          f"in {elapsed:.1f} s")
    for (label, split), rows in truth.expected_rows_by_partition().items():
        print(f"  {label}/{split}: {rows['files']} files, {rows['frames']} frames")
    return 0
