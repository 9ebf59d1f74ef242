"""`silake export`: argument handling, messages and exit codes (see `silake.export.errors`)."""

from __future__ import annotations

import argparse
import sys

from silake import signals
from silake.export.errors import EXIT_BAD_INPUT, EXIT_OK, ExportError
from silake.export.run import ExportResult, export


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def format_result(r: ExportResult) -> str:
    m = r.model
    if m.kind == "webdataset":
        c = m.counts
        lines = [
            f"exported {r.samples} samples ({c.members} members, {_human(r.payload_bytes)}) from "
            f"{c.source_shards} source shards into {r.files} WebDataset shards at {r.out}",
            f"  {c.interactions} interactions ({c.interactions_across_shards} across shards); "
            f"{_human(r.bytes)} written, {_human(r.bytes_fetched)} fetched from the sources, "
            f"{r.seconds:.2f} s ({_human(r.throughput)}/s)",
        ]
        if c.members_absent:
            absent = ", ".join(f"{k}: {v}" for k, v in c.members_absent.items())
            lines.append(f"  members absent in the source (not exported): {absent}")
        if c.samples_without_members:
            lines.append(f"  {c.samples_without_members} selected files have none of the requested "
                         "members (left out; listed in the manifest)")
    else:
        rows = ", ".join(f"{k} {v}" for k, v in m.counts.rows.items())
        lines = [f"exported {r.samples} files as Parquet ({r.files} files, {_human(r.bytes)}) at {r.out} "
                 f"in {r.seconds:.2f} s", f"  rows: {rows}"]
    lines.append(f"  manifest: {r.out.rstrip('/')}/manifest.json (lake snapshot {m.lake.snapshot})")
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    """`silake export` entry point."""

    def warn(msg: str) -> None:
        print(f"silake export: warning: {msg}", file=sys.stderr)

    try:
        result = export(
            args.lake, args.where, args.out, format=args.format, members=args.members,
            shard_size=args.shard_size, keep_pairs=not args.no_keep_pairs, overwrite=args.overwrite,
            progress=not args.no_progress and sys.stderr.isatty(),
            jobs=args.jobs, warn=warn, snapshot=args.snapshot, catalog=args.catalog,
        )
    except ExportError as exc:
        print(f"silake export: {exc}", file=sys.stderr)
        return exc.exit_code
    except signals.Interrupted as exc:  # Ctrl-C / SIGTERM: the output is removed on the way out
        print("silake export: interrupted (what this run had written was removed)", file=sys.stderr)
        return signals.exit_code(exc)
    except (OSError, ValueError) as exc:
        print(f"silake export: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_result(result))
    return EXIT_OK
