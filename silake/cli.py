"""`silake` command line: one subcommand per stage; each handler lives with the code it drives."""

from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """\
silake turns the Seamless Interaction release (WebDataset tar shards + metadata CSVs) into a partitioned
Parquet feature lake, serves it through DuckDB views and exports filtered training subsets.

  silake sample --out DIR            write a small, format-faithful release (defects included)
  silake ingest SOURCE... --lake L   Beam job: shards -> the lake (local runner or Dataflow)
  silake query --lake L "SQL"        one SQL statement over the lake's tables and views
  silake sql --lake L                interactive DuckDB shell with the views defined
  silake qa --lake L                 the QA summary of the dataset's known limitations
  silake snapshots --lake L          the lake's snapshots (every commit), for time travel
  silake export --lake L --where P   a filtered subset as WebDataset shards or Parquet
  silake compact --lake L            merge the small per-shard files of the small tables
  silake vacuum --lake L             expire old snapshots, delete files nothing needs
  silake delete --lake L --where P   remove the selected files' rows from every table (one commit)
"""

CATALOG_HELP = ("where the lake's catalog lives: postgresql://user@host:port/db[?schema=s], or a SQLite file "
                "(default: what ROOT/silake.json says; for a new lake ROOT/ducklake.sqlite)")
SNAPSHOT_HELP = "read the lake as this snapshot left it (see silake snapshots); default: the latest"


def _lake_options(p: argparse.ArgumentParser, *, snapshot: bool = False) -> None:
    p.add_argument("--lake", required=True, help="lake root: a directory or an s3:// / gs:// prefix")
    p.add_argument("--catalog", default=None, help=CATALOG_HELP)
    if snapshot:
        p.add_argument("--snapshot", type=_non_negative_int, default=None, help=SNAPSHOT_HELP)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value



def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="silake", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "sample",
        help="write a miniature, format-faithful release",
        description="Write a miniature Seamless Interaction release to DIR: {label}/{split}/{batch:04d}/"
        "{archive:04d}.tar shards plus filelist.csv, participants.csv, relationships.csv and "
        "interactions.csv at DIR's root, in the real layouts and with the release's documented defects "
        "planted. Deterministic for a seed.",
    )
    p.add_argument("--out", required=True, help="directory to write the release into (created)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same bytes")
    p.add_argument(
        "--scale", choices=("demo", "bench"), default="demo",
        help="demo: tiny, every defect present (ingests in seconds); bench: real proportions "
        "(media ~92%% of bytes, minutes of frames per file, shards up to ~1 GB)",
    )
    p.add_argument("--shards", type=_positive_int, default=None,
                   help="bench scale only: number of shards to write (default 2)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty DIR")

    p = sub.add_parser(
        "ingest",
        help="ingest shards into the Parquet lake (Apache Beam)",
        description="Read release shards and write the Parquet lake. Unknown options are passed to Beam "
        "(for example --project, --region, --temp_location with --runner DataflowRunner).",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="release root, glob, or shard path/URL (local, s3://, gs://, hf://, http(s)://)")
    p.add_argument("--lake", required=True, help="lake root: a directory or an s3:// / gs:// prefix")
    p.add_argument("--catalog", default=None, help=CATALOG_HELP)
    p.add_argument("--metadata", default=None,
                   help="directory or URL prefix holding the metadata CSVs (default: the release root)")
    p.add_argument("--runner", default="FnApiRunner",
                   help="Beam runner (default FnApiRunner: local, multi-processing, never downloads Prism)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local worker processes (default: all cores)")
    p.add_argument("--full-refresh", action="store_true",
                   help="re-ingest every shard, even those already committed unchanged")
    p.add_argument("--wait", action="store_true",
                   help="remote runners: block until the job finishes and print its summary "
                   "(local runs always wait)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("query", help="run one SQL statement over the lake",
                       description="Run one SQL statement with every lake table and view defined. With "
                       "--format csv, stdout holds only CSV with a header line.")
    _lake_options(p, snapshot=True)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("sql", help="the SQL statement")

    p = sub.add_parser("sql", help="interactive DuckDB shell over the lake",
                       description="Open the DuckDB CLI with every lake table and view defined.")
    _lake_options(p, snapshot=True)

    p = sub.add_parser("qa", help="QA summary of the dataset's known limitations",
                       description="Print qa_summary: findings per flag by vendor, label and split.")
    _lake_options(p, snapshot=True)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("snapshots", help="list the lake's snapshots",
                       description="Every snapshot of the lake (one per commit): id, time, the ingest run "
                       "that made it, shards committed, what it did. Read any of them with --snapshot N.")
    _lake_options(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("compact", help="merge the small tables' per-shard files",
                       description="Merge the per-shard data files of the small tables (all but frames and "
                       "hypernet) into few large files, and flush rows inlined in the catalog. An ingest does "
                       "this by itself once a small table has more than 64 files.")
    _lake_options(p)

    p = sub.add_parser("vacuum", help="expire old snapshots and delete files nothing needs",
                       description="Expire snapshots older than the lake's retention (30 days) or --older-than, "
                       "then delete the data files no remaining snapshot references, and the files no snapshot "
                       "ever referenced (left by a killed run).")
    _lake_options(p)
    p.add_argument("--older-than", default=None,
                   help="expire snapshots older than this interval, e.g. '7 days' (default: the lake's retention)")

    p = sub.add_parser("delete", help="delete the selected files' rows from every table",
                       description="Delete every row of the files a SQL predicate over `files` selects, from "
                       "every table, in one commit (e.g. a participant who withdrew consent: --where "
                       "\"participant_id = '0844A'\"). Older snapshots keep the rows until they expire; "
                       "--purge removes the bytes at once (and with them every older snapshot).")
    _lake_options(p)
    p.add_argument("--where", required=True, help="SQL predicate over files, e.g. \"participant_id = '0844A'\"")
    p.add_argument("--purge", action="store_true",
                   help="rewrite the affected data files and expire every older snapshot now")

    p = sub.add_parser(
        "export", help="export a filtered subset as WebDataset shards or Parquet",
        description="Select files with a SQL predicate over files + file_qa and write them as WebDataset "
        "tar shards (members copied byte for byte through the media index) or as Parquet tables.",
    )
    _lake_options(p, snapshot=True)
    p.add_argument("--where", required=True, help="SQL predicate, e.g. \"split = 'dev' and qa_pass\"")
    p.add_argument("--out", required=True, help="output directory or URL prefix")
    p.add_argument("--format", choices=("webdataset", "parquet"), default="webdataset")
    p.add_argument("--members", default="json,npz,wav,mp4",
                   help="webdataset members to copy (comma-separated; default json,npz,wav,mp4)")
    p.add_argument("--shard-size", type=_positive_int, default=1_000_000_000,
                   help="target bytes per output shard (webdataset) or per Parquet part (parquet); default 1e9")
    p.add_argument("--jobs", type=_positive_int, default=4,
                   help="output shards written in parallel (default 4); the output is the same for any value")
    p.add_argument("--no-keep-pairs", action="store_true",
                   help="allow the two partners of an interaction to land in different output shards")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(argv)
    except BrokenPipeError:  # `silake query ... | head`: the reader left; exit quietly like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(argv: list[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "ingest":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "sample":
        from silake.sample.cli import run_sample

        return run_sample(args)
    if args.command == "ingest":
        from silake.pipelines.ingest import run_ingest

        return run_ingest(args, extra)
    if args.command == "query":
        from silake.query.cli import run_query

        return run_query(args)
    if args.command == "sql":
        from silake.query.cli import run_shell

        return run_shell(args)
    if args.command == "qa":
        from silake.query.cli import run_qa

        return run_qa(args)
    if args.command == "snapshots":
        from silake.query.cli import run_snapshots

        return run_snapshots(args)
    if args.command in ("compact", "vacuum", "delete"):
        from silake.lake import cli as lake_cli

        return {"compact": lake_cli.run_compact, "vacuum": lake_cli.run_vacuum,
                "delete": lake_cli.run_delete}[args.command](args)
    if args.command == "export":
        from silake.export.cli import run_export

        return run_export(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
