"""`silake compact`, `silake vacuum` and `silake delete`: lake maintenance from the command line.

Each takes the lake's lease (it writes the catalog), so it waits for no ingest: while one runs, it
stops with exit code 3 and says who holds the lease.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from .catalog import LakeError, locate_lake
from .lease import LeaseHeld
from .maintenance import compact, delete_files, locked_writer, vacuum


def _fail(command: str, message: object, code: int = 1) -> int:
    print(f"silake {command}: {message}", file=sys.stderr)
    return code


def run_compact(args: argparse.Namespace) -> int:
    try:
        lake = locate_lake(args.lake, args.catalog)
        with locked_writer(lake, "compact") as writer:
            result = compact(writer)
    except LeaseHeld as exc:
        return _fail("compact", exc, 3)
    except (LakeError, duckdb.Error, OSError) as exc:
        return _fail("compact", exc)
    for table, (before, after) in result.items():
        print(f"{table}: {before} -> {after} data files")
    return 0


def run_vacuum(args: argparse.Namespace) -> int:
    try:
        lake = locate_lake(args.lake, args.catalog)
        with locked_writer(lake, "vacuum") as writer:
            report = vacuum(writer, older_than=args.older_than)
    except LeaseHeld as exc:
        return _fail("vacuum", exc, 3)
    except (LakeError, duckdb.Error, OSError) as exc:
        return _fail("vacuum", exc)
    print(f"snapshots expired: {report.snapshots_expired}, files deleted: {report.files_deleted}, "
          f"unreferenced files deleted: {report.orphans_deleted}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    try:
        lake = locate_lake(args.lake, args.catalog)
        with locked_writer(lake, "delete") as writer:
            report = delete_files(writer, args.where, purge=args.purge)
    except LeaseHeld as exc:
        return _fail("delete", exc, 3)
    except duckdb.Error as exc:
        return _fail("delete", f"invalid predicate {args.where!r}: {exc}", 2)
    except (LakeError, OSError) as exc:
        return _fail("delete", exc)
    if report.files == 0:
        print("no file matches; nothing deleted")
        return 4
    rows = ", ".join(f"{t} {n}" for t, n in report.rows.items() if n)
    print(f"deleted {report.files} files in snapshot {report.snapshot}: {rows}")
    print("the bytes are gone from every data file" if report.purged else
          "older snapshots still hold the rows until they expire (silake vacuum), or use --purge")
    return 0
