"""DuckDB extensions from the package index, never from the network.

The `duckdb-extension-<name>` wheels (pinned to the same version as `duckdb`) ship the compiled extension
files. The first connection that needs one INSTALLs it from that local file into DuckDB's extension
directory (`~/.duckdb/extensions` unless `SILAKE_DUCKDB_EXTENSION_DIR` names another), which is what a
plain `INSTALL ducklake` would do over the network; from then on `LOAD ducklake` works in every DuckDB on
this machine, the `duckdb` CLI included. INSTALL from a file also applies DuckDB's aliases (the `sqlite`
wheel holds the `sqlite_scanner` extension).
"""

from __future__ import annotations

import fcntl
from importlib.resources import files
from pathlib import Path

import duckdb

#: Settings of every silake connection: nothing is ever installed from the network.
ConfigValue = str | bool | int | float | list[str]
DUCKDB_CONFIG: dict[str, ConfigValue] = {"autoinstall_known_extensions": False}
#: Extension name -> the pip package that ships it.
PACKAGES: dict[str, str] = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite": "duckdb_extension_sqlite",
    "postgres": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}


def extension_directory() -> str | None:
    """The extension directory silake uses: `SILAKE_DUCKDB_EXTENSION_DIR`, else DuckDB's default (None)."""
    from silake.settings import current

    return current().duckdb_extension_dir or None


def connection_config() -> dict[str, ConfigValue]:
    config = dict(DUCKDB_CONFIG)
    directory = extension_directory()
    if directory:
        config["extension_directory"] = directory
    return config


def connect(database: str = ":memory:", *, read_only: bool = False, threads: int | None = None,
            skip_signatures: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with silake's settings (no network installs, silake's extension directory, no
    progress bar: DuckDB draws it on stdout, which carries query results); `threads`: None for DuckDB's
    default (one per core).

    `skip_signatures` loads extensions without verifying their signatures (DuckDB's
    `allow_unsigned_extensions`): ~0.25 s of CPU less per connection that loads ducklake and sqlite (71 MB
    to hash). Only for a connection that runs silake's own SQL and nothing a user typed (the ingest's
    writer): with it, any `LOAD` of that connection would take unsigned code."""
    config = connection_config()
    if threads is not None:
        config["threads"] = threads
    if skip_signatures:
        config["allow_unsigned_extensions"] = True
    con = duckdb.connect(database, read_only=read_only, config=config)
    con.execute("SET enable_progress_bar = false")
    return con


def packaged_file(name: str) -> Path:
    """The extension file the `duckdb-extension-<name>` wheel ships for this DuckDB version."""
    package = PACKAGES[name]
    try:
        base = Path(str(files(package)))
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"the DuckDB {name} extension is not installed: pip install "
            f"{package.replace('_', '-')}=={duckdb.__version__}"
        ) from None
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise FileNotFoundError(f"no {name} extension for DuckDB {duckdb.__version__} at {path}: install "
                                f"{package.replace('_', '-')}=={duckdb.__version__}")
    return path


def _install(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """INSTALL the packaged file, serialised across processes (worker processes start together)."""
    source = packaged_file(name)
    directory = con.execute("SELECT current_setting('extension_directory')").fetchone()[0]  # type: ignore[index]
    root = Path(directory) if directory else Path.home() / ".duckdb" / "extensions"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".silake-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            con.execute(f"LOAD {name}")
            return  # another process installed it while we waited
        except duckdb.Error:
            pass
        con.execute("INSTALL '" + str(source).replace("'", "''") + "'")


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """LOAD each extension, installing it from its pip package first if DuckDB does not have it yet."""
    for name in names:
        try:
            con.execute(f"LOAD {name}")
            continue
        except duckdb.Error:
            pass
        _install(con, name)
        con.execute(f"LOAD {name}")
