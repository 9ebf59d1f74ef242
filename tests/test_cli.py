"""The `silake` command line as a user meets it: help, version, environment defaults, sizes, SQL from a file or
stdin, tables fitted to a width, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from importlib.metadata import version

import click
import pytest

from silake.cli import Size
from silake.query.connection import connect

COMMANDS = ("sample", "ingest", "query", "sql", "qa", "snapshots", "info", "report", "export", "compact", "vacuum",
            "delete")


def silake(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
           check: bool = False) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SILAKE_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "silake.cli", *args], capture_output=True, text=True,
                          input=stdin, env=full_env, check=check)


def test_help_lists_every_command_in_the_order_of_the_data_flow() -> None:
    out = silake("--help", check=True).stdout
    listed = [line.split()[0] for line in out.split("Commands:")[1].split("Examples:")[0].splitlines()
              if line.strip()]
    assert listed == list(COMMANDS)
    assert "_SILAKE_COMPLETE=bash_source silake" in out
    for command in COMMANDS:
        sub = silake(command, "--help", check=True)
        assert sub.stdout.startswith(f"Usage: silake {command} [OPTIONS]")


def test_version_is_the_installed_package_version() -> None:
    assert silake("--version", check=True).stdout == f"silake {version('silake')}\n"


def test_shell_completion_completes_command_names() -> None:
    out = silake(env={"_SILAKE_COMPLETE": "bash_complete", "COMP_WORDS": "silake sn", "COMP_CWORD": "1"},
                 check=True)
    assert out.stdout.split() == ["plain,snapshots"]


@pytest.mark.parametrize(("text", "size"), [
    ("1e9", 10**9), ("1e6", 10**6), ("1000000000", 10**9), ("1_000_000", 10**6), ("500MB", 500 * 10**6),
    ("500 mb", 500 * 10**6), ("2GiB", 2 * 2**30), ("1.5KiB", 1536), ("64kb", 64_000),
])
def test_sizes_are_read_as_people_write_them(text: str, size: int) -> None:
    assert Size().convert(text, None, None) == size


@pytest.mark.parametrize("text", ["abc", "0", "0.5", "1.5B", "-1", "12 parsecs", "1e-3"])
def test_a_size_that_is_not_one_is_refused_with_its_value(text: str) -> None:
    with pytest.raises(click.BadParameter, match=r"size|whole"):
        Size().convert(text, None, None)


def test_export_accepts_the_shard_size_its_help_shows(ingested_lake, tmp_path) -> None:
    lake = ingested_lake[0]
    helptext = silake("export", "--help", check=True).stdout
    assert "default: 1e9" in " ".join(helptext.split())
    out = silake("export", "--lake", str(lake), "--where", "split = 'dev'", "--out", str(tmp_path / "x"),
                 "--format", "parquet", "--shard-size", "1e6", "--no-progress")
    assert out.returncode == 0, out.stderr
    bad = silake("export", "--lake", str(lake), "--where", "true", "--out", str(tmp_path / "y"),
                 "--shard-size", "1e9x")
    assert bad.returncode == 2 and "'1e9x' is not a size" in bad.stderr
    assert not (tmp_path / "y").exists()


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_lake_comes_from_the_environment_and_sql_from_an_argument_a_file_or_stdin(ingested_lake,
                                                                                       tmp_path) -> None:
    lake, summary, _ = ingested_lake
    env = {"SILAKE_LAKE": str(lake)}
    sql = "SELECT count(*) AS n FROM files"
    expected = [["n"], [str(summary.files)]]
    assert _csv_rows(silake("query", "--format", "csv", sql, env=env, check=True).stdout) == expected
    (tmp_path / "q.sql").write_text(sql + ";\n")
    assert _csv_rows(silake("query", "--format", "csv", "-f", str(tmp_path / "q.sql"), env=env,
                            check=True).stdout) == expected
    assert _csv_rows(silake("query", "--format", "csv", "-", env=env, stdin=sql, check=True).stdout) == expected
    assert _csv_rows(silake("query", "--format", "csv", env=env, stdin=sql, check=True).stdout) == expected
    missing = silake("query", sql)  # neither --lake nor SILAKE_LAKE
    assert missing.returncode == 2 and "Missing option '--lake'" in missing.stderr


def test_tables_fit_the_width_asked_for_and_wide_cuts_nothing(ingested_lake) -> None:
    lake = ingested_lake[0]
    sql = "SELECT file_id, label, split, shard_uri, annotation_kinds FROM files ORDER BY file_id LIMIT 3"
    narrow = silake("query", "--lake", str(lake), "--max-width", "60", sql, check=True).stdout.splitlines()
    assert all(len(line) <= 60 for line in narrow[:-1])
    assert "…" in narrow[2] and narrow[-1] == "(3 rows) (cells cut to fit; --wide shows them whole)"
    wide = silake("query", "--lake", str(lake), "--max-width", "60", "--wide", sql, check=True).stdout.splitlines()
    assert max(len(line) for line in wide) > 60 and "…" not in "".join(wide) and wide[-1] == "(3 rows)"


def test_errors_are_one_line_with_the_reason(tmp_path) -> None:
    out = silake("query", "--lake", str(tmp_path / "nosuchlake"), "SELECT 1")
    assert out.returncode == 1 and out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and "no lake" in out.stderr.lower()
    out = silake("ingest", str(tmp_path / "nosuchrelease"), "--lake", str(tmp_path / "lake"))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "lake").exists()
    out = silake("nosuchcommand")
    assert out.returncode == 2 and "No such command 'nosuchcommand'" in out.stderr


def test_a_reader_that_leaves_early_is_not_a_crash(ingested_lake) -> None:
    lake = ingested_lake[0]
    cmd = f"{sys.executable} -m silake.cli query --lake {lake} --format csv 'select * from frames' | head -n 2"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0].startswith("file_id,")
    assert len(out.stdout.splitlines()) == 2
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def test_info_shows_what_the_lake_holds_per_label_split_and_vendor(sample_release, ingested_lake) -> None:
    _, truth = sample_release
    lake = ingested_lake[0]
    info = json.loads(silake("info", "--lake", str(lake), "--format", "json", check=True).stdout)
    want: dict[tuple[str, str, str], list] = {}
    for f in truth.files:
        want.setdefault((f.label, f.split, f.vendor_id), []).append(f)
    rows = {(r["label"], r["split"], r["vendor_id"]): r for r in info["partitions"] if r["label"] is not None}
    assert set(rows) == set(want)
    for key, files in want.items():
        assert rows[key]["files"] == len(files)
        assert rows[key]["frames"] == sum(f.n_frames for f in files)
        assert rows[key]["interactions"] == len({f.interaction_key for f in files})
        assert rows[key]["participants"] == len({f.participant_id for f in files})
    total = next(r for r in info["partitions"] if r["label"] is None)
    assert total["files"] == len(truth.files) and total["frames"] == sum(f.n_frames for f in truth.files)
    on_disk = list((lake / "main").rglob("*.parquet"))  # every file some snapshot needs, no orphan
    assert (info["files_kept"], info["bytes_kept"]) == (len(on_disk), sum(p.stat().st_size for p in on_disk))
    live: dict[str, int] = {}  # what the current snapshot reads: DuckLake's own listing, table by table
    with connect(str(lake)) as con:
        for (table,) in con.sql("SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall():
            for data, size, delete, delete_size in con.sql(
                    "SELECT data_file, data_file_size_bytes, delete_file, delete_file_size_bytes "
                    f"FROM ducklake_list_files('lake', '{table}')").fetchall():
                live[data] = size
                if delete:
                    live[delete] = delete_size
    assert (info["data_files"], info["bytes"]) == (len(live), sum(live.values()))
    assert info["snapshot"] == info["latest_snapshot"] >= 1 and info["silake_version"] == version("silake")
    table = silake("info", "--lake", str(lake), "--max-width", "200", check=True).stdout.splitlines()
    assert table[0] == f"lake {lake} (catalog {lake / 'ducklake.sqlite'})"
    assert table[-2].split()[:2] == ["total", str(len(truth.files))] and table[-1] == f"({len(rows) + 1} rows)"


THREADS_AFTER_NUMPY = """
import os, sys
if sys.argv[1] == "cli":
    from silake.cli import main
    main(["--version"])
import numpy
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="/proc, 2+ cores")
def test_the_command_line_keeps_openblas_to_one_thread_unless_told_otherwise() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}

    def threads(how: str, **extra: str) -> int:
        out = subprocess.run([sys.executable, "-c", THREADS_AFTER_NUMPY, how], env={**env, **extra}, check=True,
                             capture_output=True, text=True)
        return int(out.stdout.strip().splitlines()[-1])

    assert threads("plain") > 1  # numpy alone: OpenBLAS's spinning threads
    assert threads("cli") == 1
    assert threads("cli", OPENBLAS_NUM_THREADS="2") == 2  # a user's own choice stands


FREEZE_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count()))
from silake.cli import entry, main
assert main(["--version"]) == 0 and gc.get_freeze_count() == 0  # main leaves the caller's GC alone
sys.argv = ["silake", "--version"]
entry()
"""


def test_the_program_exits_past_the_final_garbage_collections_and_main_does_not() -> None:
    out = subprocess.run([sys.executable, "-c", FREEZE_AT_EXIT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    frozen = int(out.stdout.strip().splitlines()[-1].removeprefix("frozen at exit: "))
    assert frozen > 10_000  # every object the imports made, out of the exit's collections
