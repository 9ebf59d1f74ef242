"""`silake` command line (Click): one command per stage; each handler lives with the code it drives.

Everything a command needs is imported when it runs (Beam only by a run that starts a pipeline), so a
command answers fast and a bad argument fails at once. Errors are one line on stderr with a documented exit
code; `--debug` (or SILAKE_DEBUG=1) shows the traceback. Ctrl-C and SIGTERM stop any command cleanly with one
line (exit 130 / 143). Shell completion: `eval "$(_SILAKE_COMPLETE=bash_source silake)"` (zsh: zsh_source).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

import click

from silake import signals
from silake.export.defaults import DEFAULT_JOBS, DEFAULT_MEMBERS, DEFAULT_SHARD_SIZE
from silake.export.defaults import FORMATS as EXPORT_FORMATS

LAKE_HELP = "lake root: a directory or an s3:// / gs:// prefix [env SILAKE_LAKE]"
CATALOG_HELP = ("where the lake's catalog lives: postgresql://user@host:port/db[?schema=s], or a SQLite file "
                "(default: what ROOT/silake.json says; for a new lake ROOT/ducklake.sqlite) [env SILAKE_CATALOG]")
SNAPSHOT_HELP = "read the lake as this snapshot left it (see silake snapshots); default: the latest"
FORMATS = click.Choice(["table", "csv", "json"])


class Size(click.ParamType):
    """A byte size: 1000000000, 1e9, 1_000_000_000, 500MB, 1.5GiB."""

    name = "size"
    UNITS: ClassVar[dict[str, int]] = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
             "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}

    @staticmethod
    def text(n: int) -> str:
        """`n` as the help shows it: 1e9 for a power of ten, else the number."""
        digits = str(n)
        return f"1e{len(digits) - 1}" if n >= 1000 and digits.strip("0") == "1" else str(n)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
        unit = m.group(2).lower() if m else ""
        if m is None or unit not in self.UNITS:
            self.fail(f"{value!r} is not a size (examples: 1e9, 500MB, 2GiB)", param, ctx)
        size = float(m.group(1).replace("_", "")) * self.UNITS[unit]
        if size < 1 or size != int(size):
            self.fail(f"{value!r} must be a whole, positive number of bytes", param, ctx)
        return int(size)


def _setting(name: str, *, required: bool = False) -> Callable[[], Any]:
    """An option's default from its SILAKE_* variable, read through the one settings object
    (`silake.settings`, where every variable is declared and documented); a bad value is a usage error."""

    def default() -> Any:
        from pydantic import ValidationError

        from silake.settings import current

        try:
            value = getattr(current(), name)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise click.UsageError(f"SILAKE_{str(err['loc'][0]).upper()}: {err['msg']}") from None
        if value is None and required:
            raise click.MissingParameter(param_hint=f"'--{name.replace('_', '-')}'", param_type="option")
        return value

    return default


def _debug_from_env() -> bool:
    """SILAKE_DEBUG as the settings read it (false when any variable is invalid: that is reported later)."""
    try:
        return bool(_setting("debug")())
    except click.UsageError:
        return False


def lake_options(*, snapshot: bool = False, lake_required: bool = True) -> Callable:
    def decorate(f: Callable) -> Callable:
        if snapshot:
            f = click.option("--snapshot", type=click.IntRange(min=0), default=None, help=SNAPSHOT_HELP)(f)
        f = click.option("--catalog", default=_setting("catalog"), help=CATALOG_HELP)(f)
        return click.option("--lake", default=_setting("lake", required=lake_required), required=lake_required,
                            help=LAKE_HELP)(f)
    return decorate


def format_options(f: Callable) -> Callable:
    """--format, and the table format's width: the terminal's unless --max-width N or --wide."""
    f = click.option("--wide", is_flag=True, help="table format: cut no cell, whatever the terminal's width")(f)
    f = click.option("--max-width", type=click.IntRange(min=0), default=None,
                     help="table format: fit the table to this many columns (default: the terminal; 0 cuts "
                     "nothing)")(f)
    return click.option("--format", "format", type=FORMATS, default="table", show_default=True,
                        help="table (fitted to the terminal), csv (a header line, then rows) or json")(f)


def _args(**params: Any) -> argparse.Namespace:
    return argparse.Namespace(**params)


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past Click (which would print a blank line and abort)."""


class Commands(click.Group):
    """Commands listed in the order of the data's flow (sample, ingest, read, export, maintain), not A-Z."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted() from None


EPILOG = """\b
Examples:
  silake sample --out release && silake ingest release --lake lake
  silake query --lake lake "SELECT label, split, count(*) FROM files GROUP BY ALL"
  export SILAKE_LAKE=lake; silake info; silake report --out report.html
Shell completion (bash; zsh: zsh_source):  eval "$(_SILAKE_COMPLETE=bash_source silake)"
"""


@click.group(cls=Commands, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="silake", prog_name="silake", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, default=_setting("debug"), help="show tracebacks [env SILAKE_DEBUG]")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """silake turns the Seamless Interaction release (WebDataset tar shards + metadata CSVs) into a lakehouse:
    hive-partitioned Parquet tables in a DuckLake catalog, DuckDB views for analytics and QA, and exports
    of filtered training subsets."""
    ctx.obj = {"debug": debug}
    if debug:
        os.environ["SILAKE_DEBUG"] = "1"  # one switch for every layer that reads the settings


# -- the release ------------------------------------------------------------------------------------------------
@cli.command(short_help="write a miniature, format-faithful sample release")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="directory to write the release into")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed: same seed, same bytes")
@click.option("--scale", type=click.Choice(["demo", "bench"]), default="demo", show_default=True,
              help="demo: tiny, every defect present; bench: real proportions (media ~92%% of bytes, minutes of "
              "frames per file, shards up to ~1 GB)")
@click.option("--shards", type=click.IntRange(min=1), default=None, help="bench scale only: shards to write [2]")
@click.option("--tar-format", type=click.Choice(["pax", "ustar"]), default="pax", show_default=True,
              help="shard headers: pax as webdataset's TarWriter writes them (an extended header with a float "
              "mtime before every member) or plain ustar")
@click.option("--overwrite", is_flag=True, help="replace a previous sample release in OUT")
def sample(**params: Any) -> int:
    """Write a miniature, format-faithful release: {label}/{split}/{batch}/{archive}.tar shards plus the
    metadata CSVs, in the real layouts, with the release's documented defects planted. Deterministic."""
    from silake.sample.cli import run_sample

    return run_sample(_args(**params))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             short_help="read release shards into the lake (incremental)")
@click.argument("sources", nargs=-1, required=True)
@lake_options()
@click.option("--metadata", default=None, help="directory or URL prefix holding the metadata CSVs "
              "(default: the release root)")
@click.option("--runner", default="local", show_default=True,
              help="local (silake picks in-process, threads or processes by shard count), dask (a Dask "
              "cluster), FnApiRunner / DirectRunner (Beam's local runner), DataflowRunner, ...")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="local workers, or a Dask LocalCluster's worker processes (default: all cores)")
@click.option("--dask-scheduler", default=_setting("dask_scheduler"),
              help="--runner dask: the scheduler to use, tcp://HOST:PORT (default: a LocalCluster on this "
              "machine) [env SILAKE_DASK_SCHEDULER]")
@click.option("--full-refresh", is_flag=True, help="re-ingest every shard, even those committed unchanged")
@click.option("--wait", is_flag=True, help="remote runners: block until the job finishes (local runs always "
              "wait)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@click.pass_context
def ingest(ctx: click.Context, **params: Any) -> int:
    """Read release shards (local, s3://, gs://, hf://, http(s)://) into the lake. Unknown options are passed
    to Beam, written --name=value (for example --project=P --region=R --temp_location=gs://... with
    --runner DataflowRunner)."""
    from silake.ingest import run_ingest

    # Click hands unknown options to the variadic SOURCE...; a source never starts with '-'
    tokens = list(params.pop("sources"))
    sources = [t for t in tokens if not t.startswith("-")]
    if not sources:
        raise click.UsageError("Missing argument 'SOURCES...'.")
    beam_args = [t for t in tokens if t.startswith("-")] + list(ctx.args)
    return run_ingest(_args(sources=sources, **params), beam_args)


# -- reading the lake -------------------------------------------------------------------------------------------
@cli.command(short_help="run one SQL statement over the lake")
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", type=click.File("r"), default=None,
              help="read the statement from a file ('-': stdin); a SQL argument '-' reads stdin too")
@lake_options(snapshot=True)
@format_options
def query(sql: str | None, sql_file: Any, **params: Any) -> int:
    """Run one SQL statement over every table and view of the lake."""
    from silake.query.cli import run_query

    if sql_file is not None:
        text = sql_file.read()
    elif sql in (None, "-"):
        if sql is None and sys.stdin.isatty():
            raise click.UsageError("give the SQL as an argument, with -f FILE, or on stdin ('-')")
        text = sys.stdin.read()
    else:
        text = sql
    return run_query(_args(sql=text, **params))


@cli.command("sql", short_help="the DuckDB shell on the lake")
@lake_options(snapshot=True)
def sql_shell(**params: Any) -> int:
    """Open the DuckDB shell with the lake attached and every view defined."""
    from silake.query.cli import run_shell

    return run_shell(_args(**params))


@cli.command(short_help="the QA summary: files per known-limitation flag")
@lake_options(snapshot=True)
@format_options
def qa(**params: Any) -> int:
    """The QA summary of the dataset's known limitations: files per flag by vendor, label and split."""
    from silake.query.cli import run_qa

    return run_qa(_args(**params))


@cli.command(short_help="every snapshot (commit) of the lake")
@lake_options()
@format_options
def snapshots(**params: Any) -> int:
    """Every snapshot of the lake (one per commit): id, time, run id, shards committed, what it did."""
    from silake.query.cli import run_snapshots

    return run_snapshots(_args(snapshot=None, **params))


@cli.command(short_help="what the lake holds, per label, split and vendor")
@lake_options(snapshot=True)
@format_options
def info(**params: Any) -> int:
    """What the lake holds: hours, files, interactions, participants per label, split and vendor; QA pass rate,
    frames, the snapshot, size on disk."""
    from silake.query.info import run_info

    return run_info(_args(**params))


@cli.command(short_help="a self-contained HTML report with plots")
@lake_options(snapshot=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the HTML file to write")
@click.option("--interaction", default=None, help="interaction key for the emotion-over-time plot "
              "(default: the longest one with movement)")
def report(**params: Any) -> int:
    """A self-contained HTML report (works offline): QA flags, durations and rates, speech and turn-taking,
    pose and box validity, emotion over time."""
    from silake.report.cli import run_report

    return run_report(_args(**params))


# -- exports and maintenance ---------------------------------------------------------------------------------------
@cli.command(short_help="export a filtered subset (WebDataset or Parquet)")
@lake_options(snapshot=True)
@click.option("--where", required=True, help="SQL predicate over files and file_qa, e.g. \"split = 'dev' and qa_pass\"")
@click.option("--out", required=True, help="output directory or URL prefix")
@click.option("--format", "format", type=click.Choice(EXPORT_FORMATS), default=EXPORT_FORMATS[0],
              show_default=True)
@click.option("--members", default=DEFAULT_MEMBERS, show_default=True,
              help="webdataset members to copy (comma-separated)")
@click.option("--shard-size", type=Size(), default=Size.text(DEFAULT_SHARD_SIZE), show_default=True,
              help="target bytes per output shard (webdataset) or Parquet part (parquet): 1e9, 500MB, 2GiB")
@click.option("--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS, show_default=True,
              help="output shards written in parallel (the output is the same for any value)")
@click.option("--no-keep-pairs", is_flag=True, help="let an interaction's partners land in different shards")
@click.option("--overwrite", is_flag=True, help="replace a previous export in OUT")
@click.option("--no-progress", is_flag=True, help="no progress bar")
def export(**params: Any) -> int:
    """Export the files a predicate selects as WebDataset shards (members copied byte for byte) or Parquet,
    with a dataset card and a reproducible manifest."""
    from silake.export.cli import run_export

    return run_export(_args(**params))


@cli.command(short_help="merge the small tables' per-shard files")
@lake_options()
def compact(**params: Any) -> int:
    """Merge the small tables' per-shard files (all but frames and hypernet) into few large files."""
    from silake.lake.cli import run_compact

    return run_compact(_args(**params))


@cli.command(short_help="expire old snapshots, delete unneeded files")
@lake_options()
@click.option("--older-than", default=None, help="expire snapshots older than this, e.g. '7 days' (default: the "
              "lake's retention, 30 days)")
def vacuum(**params: Any) -> int:
    """Expire old snapshots, delete the data files no snapshot needs and the files no snapshot ever knew."""
    from silake.lake.cli import run_vacuum

    return run_vacuum(_args(**params))


@cli.command(short_help="delete the rows of selected files (consent)")
@lake_options()
@click.option("--where", required=True, help="SQL predicate over files, e.g. \"participant_id = '0844A'\"")
@click.option("--purge", is_flag=True, help="also rewrite the affected data files and expire every older snapshot")
def delete(**params: Any) -> int:
    """Delete every row of the files a predicate selects, from every table, in one commit (consent withdrawal).
    Older snapshots keep the rows until they expire; --purge removes the bytes at once."""
    from silake.lake.cli import run_delete

    return run_delete(_args(**params))


# -- the entry point ------------------------------------------------------------------------------------------------
def _command(argv: list[str]) -> str:
    """`silake query` for messages: the first word of the command line that names a command."""
    return next((f"silake {a}" for a in argv if a in cli.commands), "silake")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the README for each command's codes)."""
    signals.install()
    # numpy's OpenBLAS starts a thread per core at import, which spins ~0.1 s of CPU before it sleeps, in the
    # launcher and again in the workers' fork server; no command calls BLAS. Commands import numpy lazily, so
    # this comes first, and worker processes inherit it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args  # SILAKE_DEBUG is read only when an error needs it (start-up stays cheap)
    try:
        result = cli.main(args=args, prog_name="silake", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.ClickException as exc:  # a bad command line: usage and a one-line error
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:  # Ctrl-C inside a click prompt
        print(f"{_command(args)}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `silake query ... | head`: the reader left; exit quietly like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except BaseException as exc:
        interruption = KeyboardInterrupt() if isinstance(exc, _Interrupted) else signals.as_interruption(exc)
        if interruption is not None:
            print(f"{_command(args)}: interrupted", file=sys.stderr)
            return signals.exit_code(interruption)
        if debug or not isinstance(exc, Exception) or _debug_from_env():
            raise
        print(f"silake: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    code = int(result or 0)
    if signals.received() is not None and code not in (130, 143):  # a command reported it as an error
        return 128 + int(signals.received() or 0)
    return code


def entry() -> NoReturn:
    """The `silake` program: `main`, then an exit that skips the interpreter's last garbage collections.

    At exit CPython walks every object the command's imports made (pandas, pyarrow, DuckDB) in full
    collections: ~0.2 s of every command, a third of a `silake query`. Frozen, they are skipped; objects are
    still released by reference counting and atexit handlers still run. Only here, not in `main`: a
    process that calls `main` and goes on (tests, notebooks) must keep collecting what it made."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
