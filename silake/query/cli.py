"""`silake query`, `silake sql` and `silake qa`: the lake's views from the command line.

stdout carries results only (with --format csv: a header line and rows); errors go to stderr with a
non-zero exit code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

import duckdb

from .connection import SESSION_SQL, normalize_lake_root, open_duckdb, remote_setup_sql
from .render import render
from .views import define_views, tables_present, view_script

QA_SUMMARY_SQL = "SELECT * FROM qa_summary"


class LakeNotFound(Exception):
    pass


def _fail(command: str, message: object) -> int:
    print(f"silake {command}: {message}", file=sys.stderr)
    return 1


def _open(lake: str) -> duckdb.DuckDBPyConnection:
    """A connection with every view, refusing a root that holds no lake table at all."""
    root = normalize_lake_root(lake)
    con = open_duckdb(root)
    if not define_views(con, root):
        con.close()
        raise LakeNotFound(f"no lake tables under {root}")
    return con


def _run(command: str, lake: str, sql: str, fmt: str) -> int:
    try:
        con = _open(lake)
    except (LakeNotFound, duckdb.Error, OSError) as exc:
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
    render(columns, rows, fmt, sys.stdout)
    return 0


def run_query(args: argparse.Namespace) -> int:
    """`silake query --lake ROOT [--format table|csv|json] "SQL"`."""
    return _run("query", args.lake, args.sql, args.format)


def run_qa(args: argparse.Namespace) -> int:
    """`silake qa --lake ROOT`: qa_summary (files per flag by vendor, label and split)."""
    return _run("qa", args.lake, QA_SUMMARY_SQL, getattr(args, "format", "table"))


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


def shell_init_sql(lake: str) -> str:
    """The init script of `silake sql`: httpfs and the S3 secret for remote lakes, then every view.

    S3 keys are read by the CLI from the environment (getenv), never written into the file."""
    root = normalize_lake_root(lake)
    con = open_duckdb(root)
    try:
        present = tables_present(con, root)
    finally:
        con.close()
    if not present:
        raise LakeNotFound(f"no lake tables under {root}")
    setup = remote_setup_sql(root, credentials_from_env=True)
    if setup:  # CREATE SECRET prints a result: keep the shell quiet until the prompt
        setup = f".mode trash\n{setup}.mode duckbox\n"
    return (
        f"-- silake sql: the views of the lake at {root}\n"
        + SESSION_SQL
        + setup
        + view_script(root, present)
        + "\n.print 'silake: every lake table and view is defined - try: FROM qa_summary; "
        "FROM qa_flag_definitions; .tables'\n"
    )


def run_shell(args: argparse.Namespace) -> int:
    """`silake sql --lake ROOT`: the DuckDB CLI with the views defined (an init file, removed afterwards)."""
    try:
        cli = duckdb_cli()
        init = shell_init_sql(args.lake)
    except (LakeNotFound, duckdb.Error, OSError) as exc:
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
