"""`silake query`, `silake sql`, `silake qa` and `silake snapshots`: the lake from the command line.

stdout carries results only (with --format csv: a header line and rows); errors go to stderr with a
non-zero exit code.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from silake import signals
from silake.lake import extensions
from silake.lake.catalog import LakeError
from silake.lake.session import (
    SESSION_SQL,
    attach_sql,
    catalog_extensions,
    catalog_target,
    remote_access_sql,
    sql_literal,
)

from .connection import connect, open_lake
from .render import render, table_width
from .views import column_comments_script, session_setup_sql, view_script

QA_SUMMARY_SQL = "SELECT * FROM qa_summary"
SNAPSHOTS_SQL = """
SELECT
    snapshot_id,
    strftime(snapshot_time, '%Y-%m-%d %H:%M:%S') AS time_utc,
    json_extract_string(commit_extra_info, '$.run_id') AS run_id,
    coalesce(json_extract(commit_extra_info, '$.shards')::INTEGER, 0) AS shards,
    commit_message AS what
FROM ducklake_snapshots('lake')
ORDER BY snapshot_id
"""


def _fail(command: str, message: object) -> int:
    if signals.received() is not None:  # DuckDB reports Ctrl-C / SIGTERM as an interrupted query
        print(f"silake {command}: interrupted", file=sys.stderr)
        return 128 + int(signals.received() or 0)
    print(f"silake {command}: {message}", file=sys.stderr)
    return 1


def _run(command: str, args: Any, sql: str, fmt: str) -> int:
    try:
        con = connect(args.lake, snapshot=getattr(args, "snapshot", None), catalog=getattr(args, "catalog", None))
    except (LakeError, duckdb.Error, OSError) as exc:
        return _fail(command, exc)
    try:
        statements = con.extract_statements(sql)
        if len(statements) != 1:
            return _fail(command, f"expected one SQL statement, got {len(statements)}")
        rel = con.sql(sql)
        if rel is None:  # a statement without a result (SET, CREATE ...)
            return 0
        columns, rows = rel.columns, rel.fetchall()
    except duckdb.Error as exc:
        return _fail(command, exc)
    finally:
        con.close()
    render(columns, rows, fmt, sys.stdout,
           table_width(sys.stdout, getattr(args, "max_width", None), getattr(args, "wide", False)))
    return 0


def run_query(args: Any) -> int:
    """`silake query --lake ROOT [--snapshot N] [--format table|csv|json] "SQL"`."""
    return _run("query", args, args.sql, args.format)


def run_qa(args: Any) -> int:
    """`silake qa --lake ROOT`: qa_summary (files per flag by vendor, label and split)."""
    return _run("qa", args, QA_SUMMARY_SQL, getattr(args, "format", "table"))


def run_snapshots(args: Any) -> int:
    """`silake snapshots --lake ROOT`: every snapshot - id, time, run id, shards committed, what."""
    return _run("snapshots", args, SNAPSHOTS_SQL, getattr(args, "format", "table"))


def duckdb_cli() -> str:
    """The DuckDB CLI: the binary inside the duckdb-cli package, else the `duckdb` beside this Python (a
    venv's bin/), else the one on PATH."""
    name = "duckdb.exe" if os.name == "nt" else "duckdb"
    try:
        packaged = Path(str(files("duckdb_cli"))) / name
    except ModuleNotFoundError:
        packaged = None
    beside = Path(sys.executable).parent / name
    for candidate in (packaged, beside):
        if candidate is not None and candidate.is_file():
            return str(candidate)
    found = shutil.which("duckdb")
    if found:
        return found
    raise FileNotFoundError(f"the DuckDB CLI is not installed: pip install duckdb-cli=={duckdb.__version__}")


def shell_init_sql(lake: str, *, snapshot: int | None = None, catalog: str | None = None) -> str:
    """The init script of `silake sql`: the extensions, S3 access, the catalog attached, every view.

    S3 keys are read by the CLI from the environment (getenv), never written into the file."""
    target = open_lake(lake, catalog=catalog)
    probe = extensions.connect()  # install the extensions the CLI will LOAD (from their pip packages)
    try:
        extensions.load(probe, *catalog_extensions(target))
    finally:
        probe.close()
    directory = extensions.extension_directory()
    setup = f"SET extension_directory = {sql_literal(directory)};\n" if directory else ""
    setup += "".join(f"LOAD {name};\n" for name in catalog_extensions(target))
    access = remote_access_sql(target.root, credentials_from_env=True)
    if access:  # CREATE SECRET prints a result: keep the shell quiet until the prompt
        setup += f".mode trash\n{access}.mode duckbox\n"
    return (
        f"-- silake sql: the lake at {target.root}\n"
        + SESSION_SQL
        + setup
        + attach_sql(target, catalog_target(target), read_only=True, snapshot=snapshot) + ";\n"
        + session_setup_sql()
        + view_script()
        + column_comments_script()
        + "\n.print 'silake: every lake table and view is defined - try: FROM qa_summary; "
        "FROM qa_flag_definitions; .tables'\n"
    )


def run_shell(args: Any) -> int:
    """`silake sql --lake ROOT`: the DuckDB CLI with the views defined (an init file, removed afterwards)."""
    try:
        cli = duckdb_cli()
        init = shell_init_sql(args.lake, snapshot=getattr(args, "snapshot", None),
                              catalog=getattr(args, "catalog", None))
    except (LakeError, duckdb.Error, OSError) as exc:
        return _fail("sql", exc)
    fd, path = tempfile.mkstemp(prefix="silake-sql-", suffix=".sql")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(init)
        # Ctrl-C belongs to the shell: a no-op handler here (unlike SIG_IGN, not inherited by the child)
        previous = signal.signal(signal.SIGINT, lambda *_: None)
        try:
            return subprocess.call([cli, "-init", path])
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        os.unlink(path)
