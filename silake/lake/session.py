"""DuckDB sessions on a lake: extensions, access to the root's object store, and the catalog attached.

    open_reader(lake, snapshot=None)   read-only; the catalog attached as `lake` (USE lake), optionally at a
                                       snapshot; a remote SQLite catalog is downloaded once per version
    CatalogWriter(lake)                the lease holder's read-write session: creates the catalog and its
                                       tables on first use, runs commits, uploads a remote SQLite catalog

Every attach passes DATA_PATH = the lake root with OVERRIDE_DATA_PATH, so the catalog's relative paths
resolve under wherever the lake is now.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb

from silake.sources.filesystems import STORE_ACCESS, etag_from_info, resolve
from silake.tempfiles import temp_dir

from . import extensions
from .catalog import Lake, LakeError
from .layout import CATALOG_FILE, DESCRIPTOR_FILE
from .lease import Lease, LeaseLost
from .sqltext import quote, sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

ALIAS = "lake"
#: Schemes DuckDB reads through httpfs.
REMOTE_SCHEMES: tuple[str, ...] = ("s3", "s3a", "r2", "gs", "gcs", "http", "https", "hf")
#: Session settings: cache Parquet footers (a QA query reads the same files many times).
SESSION_SQL = "SET parquet_metadata_cache = true;\n"
#: Catalog options set when a lake is created (DuckLake's own maintenance reads them).
CATALOG_OPTIONS: dict[str, str] = {
    "expire_older_than": "30 days",  # snapshot retention of `silake vacuum` / CHECKPOINT
    "delete_older_than": "1 day",  # files dropped by compaction or expiry are deleted after this long
}


def scheme(uri: str) -> str | None:
    head, sep, _ = uri.partition("://")
    return head.lower() if sep else None


def is_remote(uri: str) -> bool:
    return scheme(uri) in REMOTE_SCHEMES


@dataclass(frozen=True)
class S3Settings:
    """S3 access from the standard AWS environment (the variables boto3 and the AWS CLI read)."""

    key_id: str | None
    secret: str | None
    session_token: str | None
    region: str
    endpoint: str | None  # host[:port], without the scheme
    use_ssl: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        from silake.sources.filesystems import AwsEnv

        aws = AwsEnv.read(env)
        url = aws.endpoint_url or ""
        endpoint_scheme, sep, rest = url.partition("://")
        endpoint = (rest if sep else url).rstrip("/") or None
        return cls(key_id=aws.key_id, secret=aws.secret, session_token=aws.session_token,
                   region=aws.region or "us-east-1", endpoint=endpoint,
                   use_ssl=not (sep and endpoint_scheme.lower() == "http"))

    def secret_sql(self, *, credentials_from_env: bool = False) -> str:
        """`CREATE SECRET` for these settings (temporary: it lives in the session, never in a database).

        With `credentials_from_env` the keys are read by the DuckDB CLI's getenv() at run time instead of
        being written into the SQL (for init files on disk).
        """

        def value(env_name: str, literal: str) -> str:
            return f"getenv({sql_literal(env_name)})" if credentials_from_env else sql_literal(literal)

        params = ["TYPE s3", f"REGION {sql_literal(self.region)}"]
        if self.key_id and self.secret:
            params += [f"KEY_ID {value('AWS_ACCESS_KEY_ID', self.key_id)}",
                       f"SECRET {value('AWS_SECRET_ACCESS_KEY', self.secret)}"]
            if self.session_token:
                params.append(f"SESSION_TOKEN {value('AWS_SESSION_TOKEN', self.session_token)}")
        if self.endpoint:
            params += [f"ENDPOINT {sql_literal(self.endpoint)}", "URL_STYLE 'path'"]
        if not self.use_ssl:
            params.append("USE_SSL false")
        return "CREATE OR REPLACE SECRET silake_s3 (\n    " + ",\n    ".join(params) + "\n);"


@dataclass(frozen=True)
class GCSSettings:
    """GCS access through DuckDB's httpfs (GCS's XML API) when a GCS emulator is configured the way gcsfs and
    google-cloud-storage take it: `STORAGE_EMULATOR_HOST` (`host:port` means http)."""

    endpoint: str | None  # host[:port], without the scheme
    use_ssl: bool

    @classmethod
    def from_env(cls) -> GCSSettings:
        """From the emulator endpoint as the sources read it (`gcs_endpoint`: always with a scheme)."""
        from silake.sources.filesystems import gcs_endpoint

        endpoint_scheme, _, rest = (gcs_endpoint() or "").partition("://")
        return cls(endpoint=rest or None, use_ssl=endpoint_scheme.lower() == "https")

    def secret_sql(self) -> str:
        """`CREATE SECRET` for an emulator ('' for Google's own endpoint: DuckDB's default, no secret)."""
        if not self.endpoint:
            return ""
        params = ["TYPE gcs", f"ENDPOINT {sql_literal(self.endpoint)}", "URL_STYLE 'path'"]
        if not self.use_ssl:
            params.append("USE_SSL false")
        return "CREATE OR REPLACE SECRET silake_gcs (\n    " + ",\n    ".join(params) + "\n);"


def remote_access_sql(root: str, *, credentials_from_env: bool = False) -> str:
    """The secret a session needs to read `root` ('' for other roots; httpfs is loaded separately): S3 from the
    AWS environment, GCS for an emulator named by STORAGE_EMULATOR_HOST."""
    if scheme(root) in ("s3", "s3a", "r2"):
        return S3Settings.from_env().secret_sql(credentials_from_env=credentials_from_env) + "\n"
    if scheme(root) in ("gs", "gcs"):
        sql = GCSSettings.from_env().secret_sql()
        return sql + "\n" if sql else ""
    return ""


def catalog_extensions(lake: Lake) -> tuple[str, ...]:
    names = ("ducklake", "postgres" if lake.catalog.kind == "postgres" else "sqlite")
    return (*names, "httpfs") if is_remote(lake.root) else names


def postgres_password(lake: Lake) -> None:
    """Put a PostgreSQL catalog's password where libpq looks (PGPASSWORD) when it lives in Secret Manager."""
    secret = lake.catalog.password_secret
    if lake.catalog.kind != "postgres" or not secret or os.environ.get("PGPASSWORD"):
        return
    try:
        from google.cloud import secretmanager
    except ImportError as exc:
        raise LakeError("the catalog's password_secret needs google-cloud-secret-manager (the gcp extra)") from exc
    value = secretmanager.SecretManagerServiceClient().access_secret_version(name=secret).payload.data
    os.environ["PGPASSWORD"] = value.decode().strip()


def open_duckdb(lake: Lake, *, reader: bool = True, threads: int | None = None, skip_signatures: bool = False
                ) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the catalog's extensions and access to the lake root (`threads`:
    None for one per core; `skip_signatures`: see `extensions.connect`).

    A reader caches Parquet footers (a query reads the same files many times); the writer does not: it
    reads each new file's footer once, and a cache would keep every footer of a long ingest in memory."""
    postgres_password(lake)
    con = extensions.connect(threads=threads, skip_signatures=skip_signatures)
    try:
        extensions.load(con, *catalog_extensions(lake))
        con.execute((SESSION_SQL if reader else "") + remote_access_sql(lake.root))
    except BaseException:
        con.close()
        raise
    return con


def attach_sql(lake: Lake, target: str, *, read_only: bool, snapshot: int | None = None,
               data_path: str | None = None, override: bool = True, alias: str = ALIAS) -> str:
    """ATTACH of the catalog at `target` (a local SQLite path or the PostgreSQL URI) as `alias`."""
    prefix = "ducklake:postgres:" if lake.catalog.kind == "postgres" else "ducklake:sqlite:"
    options = [f"DATA_PATH {sql_literal(data_path or lake.data_path)}"]
    if override:
        options.append("OVERRIDE_DATA_PATH true")
    if lake.catalog.kind == "postgres" and lake.catalog.schema:
        options.append(f"METADATA_SCHEMA {sql_literal(lake.catalog.schema)}")
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    return f"ATTACH {sql_literal(prefix + target)} AS {quote(alias)} ({', '.join(options)})"


# -- a SQLite catalog on an object store ----------------------------------------------------------------------
def _cache_root() -> Path:
    from silake.settings import current

    base = current().cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "silake")
    return Path(base) / "catalogs"


def fetch_remote_catalog(uri: str) -> str:
    """A local copy of a SQLite catalog that lives on an object store, downloaded once per version (etag)."""
    fs, path = resolve(uri, STORE_ACCESS)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise LakeError(f"no catalog at {uri}") from None
    version = etag_from_info(info) or str(info.get("size"))
    folder = _cache_root() / hashlib.sha256(uri.encode()).hexdigest()[:24]
    local = folder / (hashlib.sha256(version.encode()).hexdigest()[:24] + ".sqlite")
    if not local.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
        try:
            fs.get_file(path, tmp)
            os.replace(tmp, local)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        for old in folder.glob("*.sqlite"):  # keep only the newest version
            if old != local:
                old.unlink(missing_ok=True)
    return str(local)


def catalog_target(lake: Lake) -> str:
    """What ATTACH takes for reading: a local SQLite path (remote ones downloaded) or the PostgreSQL URI."""
    if lake.catalog.is_remote_file:
        return fetch_remote_catalog(lake.catalog.target)
    if lake.catalog.kind == "sqlite" and not os.path.exists(lake.catalog.target):
        raise LakeError(f"no catalog at {lake.catalog.target}")
    return lake.catalog.target


def open_reader(lake: Lake, *, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only session with the catalog attached as `lake` (the default database), at `snapshot` if given."""
    con = open_duckdb(lake)
    try:
        con.execute(attach_sql(lake, catalog_target(lake), read_only=True, snapshot=snapshot))
        con.execute(f"USE {ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise LakeError(f"cannot open the catalog of {lake.root}: {first_line(exc)}") from None
    except BaseException:
        con.close()
        raise
    return con


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# -- the writer -----------------------------------------------------------------------------------------------
#: The launcher renews its catalog connection once its process is this large (see CatalogWriter.renew).
WRITER_RSS_LIMIT = 768 << 20


def resident_bytes() -> int | None:
    """This process's resident memory (Linux /proc), None where unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Derive(Protocol):
    """Derived tables a commit keeps in step with the data (the SQL layer's QA findings)."""

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Set the writer's session up for refreshes (outside any transaction)."""

    def __call__(self, con: duckdb.DuckDBPyConnection, changed: pa.Table | None) -> None:
        """Refresh for the files `changed` (None: all), inside the commit's transaction."""


def _default_derive() -> Derive:
    from silake.query.derived import refresh_qa  # the SQL layer's derived tables (QA findings)

    return refresh_qa


#: DuckDB threads of a writer session. Its work is many small catalog queries (DuckLake over SQLite or
#: PostgreSQL, the QA refresh over the small tables), which DuckDB's parallel scheduler only makes dearer:
#: on 8 bench shards one thread cut the launcher's CPU from ~6.5 s to ~4.4 s, CPU taken from the workers.
WRITER_THREADS = 1


class CatalogWriter:
    """The catalog opened for writing by the lease holder: `with CatalogWriter(lake) as w: w.transaction(...)`.

    The first use creates the lake: `silake.json`, the catalog (SQLite in WAL mode, so readers never wait)
    and every table of `silake.schemas.tables`; later uses add tables and columns a newer silake declares.
    With a `fence` (the run's lease), every transaction first checks, inside the catalog, that the lease's
    token is the one in `lake_writer` (`fence_with()` puts it there) and fails with LeaseLost otherwise.
    Every commit that changes data calls `derive(con, changed)` in its transaction: by default the SQL
    layer's refresh of the stored QA findings (`silake.query.derived`), for the files `changed` (None: all).
    """

    def __init__(self, lake: Lake, derive: Derive | None = None, *, fence: Lease | None = None,
                 threads: int | None = WRITER_THREADS, own_sql_only: bool = False) -> None:
        """`threads`: DuckDB threads of the session (None: DuckDB's default, one per core). `own_sql_only`:
        the session runs silake's SQL and nothing a user typed (an ingest; not `silake delete --where`), so
        its extensions load without their signatures checked (`extensions.connect`)."""
        self.lake = lake
        self.threads = threads
        self.own_sql_only = own_sql_only
        self.derive: Derive = derive or _default_derive()
        self.fence = fence  # when set, every commit checks that this lease's token is the lake's writer
        self._claim: Lease | None = None
        self.con: duckdb.DuckDBPyConnection | None = None
        self._target = ""
        self._workdir: str | None = None
        self._local: str | None = None  # the SQLite file attached (a working copy for remote catalogs)
        self._prepared = False  # derive.prepare ran on this connection (before the first transaction needing it)

    # setup / teardown
    def __enter__(self) -> CatalogWriter:
        lake = self.lake
        storage = lake.storage
        new = not storage.exists(storage.path(DESCRIPTOR_FILE))
        self.con = self._connect()
        try:
            target = self._prepare_target()
            if not self._catalog_exists(target):  # (a catalog without a descriptor is kept: a crash between)
                self._create(target)
            self._target = target
            self._attach()
            self._ensure_tables()
            if new:
                storage.publish_bytes(json.dumps(lake.descriptor(), indent=2).encode() + b"\n",
                                      storage.path(DESCRIPTOR_FILE))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return open_duckdb(self.lake, reader=False, threads=self.threads, skip_signatures=self.own_sql_only)

    def _attach(self) -> None:
        assert self.con is not None
        self.con.execute(attach_sql(self.lake, self._target, read_only=False))
        self.con.execute(f"USE {ALIAS}")

    def _close_connection(self) -> None:
        if self.con is not None:
            try:
                self.con.execute("USE memory")
                self.con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
            except duckdb.Error:
                pass
            self.con.close()
            self.con = None

    def renew(self) -> None:
        """A fresh DuckDB connection on the same catalog (working copy included). A DuckDB connection that
        commits for hours grows by tens of MB per thousand files registered; a run renews it when its
        process gets large (`renew_if_large`), so the launcher's memory stays flat."""
        self._close_connection()
        self.con = self._connect()
        self._attach()
        self._prepared = False

    def renew_if_large(self, limit_bytes: int = WRITER_RSS_LIMIT) -> bool:
        rss = resident_bytes()
        if rss is None or rss < limit_bytes:
            return False
        self.renew()
        return True

    def close(self) -> None:
        self._close_connection()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _prepare_target(self) -> str:
        cat = self.lake.catalog
        if cat.kind == "postgres":
            return cat.target
        if not cat.is_remote_file:
            os.makedirs(os.path.dirname(cat.target), exist_ok=True)
            self._local = cat.target
            return cat.target
        self._workdir = temp_dir("catalog")
        self._local = os.path.join(self._workdir, CATALOG_FILE)
        fs, path = resolve(cat.target, STORE_ACCESS)
        if fs.exists(path):
            fs.get_file(path, self._local)
        return self._local

    def _catalog_exists(self, target: str) -> bool:
        if self.lake.catalog.kind == "sqlite":
            return os.path.exists(target) and os.path.getsize(target) > 0
        probe = open_duckdb(self.lake)
        try:
            probe.execute(attach_sql(self.lake, target, read_only=True))
            return True
        except duckdb.Error:
            return False
        finally:
            probe.close()

    def _create(self, target: str) -> None:
        """Create the catalog. A SQLite catalog inside the root stores DATA_PATH './' (the root itself, for a
        DuckDB CLI started in it); every other catalog stores the root."""
        lake = self.lake
        if lake.catalog.kind == "sqlite":
            if os.path.exists(target):
                os.remove(target)
            db = sqlite3.connect(target)
            try:  # WAL: readers never block the writer nor wait for it (local disks only)
                db.execute("PRAGMA journal_mode=" + ("DELETE" if lake.catalog.is_remote_file else "WAL"))
            finally:
                db.close()
        stored = "./" if lake.catalog_in_root else lake.data_path
        assert self.con is not None
        self.con.execute(attach_sql(lake, target, read_only=False, data_path=stored, override=False,
                                    alias="silake_new"))
        try:
            for name, value in CATALOG_OPTIONS.items():
                self.con.execute(f"CALL silake_new.set_option({sql_literal(name)}, {sql_literal(value)})")
        finally:
            self.con.execute("DETACH silake_new")

    def _ensure_tables(self) -> None:
        """Create the tables a catalog lacks and evolve those it has (new columns, comments) - unless its
        fingerprint view says it holds exactly this silake's tables (comparing them costs ~0.15 s a run)."""
        from silake import __version__
        from silake.schemas.tables import LARGE_TABLES

        from .ddl import (
            TABLES_INFO_VIEW,
            all_tables,
            comments_sql,
            create_table_sql,
            evolve_sql,
            tables_fingerprint,
            tables_info_sql,
        )

        assert self.con is not None
        digest = tables_fingerprint()
        try:
            stored = self.con.execute(f"SELECT tables_fingerprint FROM {ALIAS}.main.{TABLES_INFO_VIEW}").fetchone()
        except duckdb.CatalogException:  # a new catalog, or one an older silake wrote
            stored = None
        if stored is not None and stored[0] == digest:
            return
        rows = self.con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            f"WHERE database_name = {sql_literal(ALIAS)}").fetchall()
        existing: dict[str, dict[str, str]] = {}
        comments: dict[str, dict[str | None, str | None]] = {}  # table -> column (None: the table) -> comment
        for table, column, typ, comment in rows:
            existing.setdefault(table, {})[column] = typ
            comments.setdefault(table, {})[column] = comment
        for table, comment in self.con.execute(
                f"SELECT table_name, comment FROM duckdb_tables() WHERE database_name = {sql_literal(ALIAS)}"
        ).fetchall():
            comments.setdefault(table, {})[None] = comment
        script = options = ""
        for table in all_tables():
            if table.name in existing:
                script += evolve_sql(table, existing[table.name])
            else:
                script += create_table_sql(table)
                if table.name in LARGE_TABLES:  # large per-shard files: compaction leaves them alone
                    options += f"CALL {ALIAS}.set_option('auto_compact', false, table_name => " \
                               f"{sql_literal(table.name)});\n"
            script += comments_sql(table, comments.get(table.name))  # (a new table: all of them)
        # the marker last: a catalog it marks holds all of the above (table options cannot be set in the
        # transaction that creates the table, so with options it follows them)
        marker = tables_info_sql(digest, __version__)
        self.transaction(lambda con: con.execute(script if options else script + marker), derives=False,
                         message="silake: create or evolve tables", extra={"tables_fingerprint": digest})
        if options:
            self.con.execute(options + marker)
            self.publish()

    # commits
    def transaction(self, body: Callable[[duckdb.DuckDBPyConnection], object], *, message: str,
                    extra: Mapping[str, object] | None = None, derives: bool = True) -> int:
        """Run `body` in one catalog transaction (one snapshot) and return the snapshot id.

        Everything `body` does becomes visible atomically; an exception rolls it all back. `derives`: `body`
        may call `derive` - its session is then set up first, once per connection (a writer that commits
        no data never pays for it: ~0.4 s, and pyarrow's dataset module).
        """
        con = self.con
        assert con is not None
        if derives:
            self.prepare_derive()
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CALL ducklake_set_commit_message({sql_literal(ALIAS)}, 'silake', "
                        f"{sql_literal(message)}, extra_info => {sql_literal(json.dumps(dict(extra or {})))})")
            claim = self._claim
            if claim is not None:
                con.execute("DELETE FROM lake_writer")
                self._insert_writer(con, claim)
            elif self.fence is not None:
                self._check_fence(con, self.fence)
            body(con)
            con.execute("COMMIT")
            if claim is not None:
                self.fence, self._claim = claim, None
        except BaseException as exc:
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            fence = self.fence
            if fence is not None and isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower():
                raise LeaseLost(f"run {fence.run_id}: another run committed to {self.lake.root} "
                                f"meanwhile ({first_line(exc)}): not committing") from exc
            raise
        self.publish()
        return self.current_snapshot()

    def prepare_derive(self) -> None:
        """Set up `derive`'s session on this connection now, if no transaction did yet (a run that will commit
        data does it beside its shards, not after them)."""
        assert self.con is not None
        if not self._prepared:
            self.derive.prepare(self.con)
            self._prepared = True

    def _check_fence(self, con: duckdb.DuckDBPyConnection, fence: Lease) -> None:
        """The fence: replace our own `lake_writer` row, which exists only while we are the writer. A claim
        committed by another run since makes this find nothing; one committing concurrently conflicts with
        this delete, so one of the two transactions fails."""
        deleted = con.execute(f"DELETE FROM lake_writer WHERE token = {sql_literal(fence.token)}").fetchone()
        if deleted is None or deleted[0] != 1:
            holder = con.execute("SELECT run_id, holder FROM lake_writer").fetchall()
            now = ", ".join(f"run {r} ({h})" for r, h in holder) or "nobody"
            raise LeaseLost(f"run {fence.run_id} is not the writer of {self.lake.root} any more (the writer is "
                            f"{now}): not committing")
        self._insert_writer(con, fence)

    @staticmethod
    def _insert_writer(con: duckdb.DuckDBPyConnection, fence: Lease) -> None:
        con.execute("INSERT INTO lake_writer VALUES (?, ?, ?, ?::TIMESTAMPTZ)",
                    [fence.token, fence.run_id, fence.holder, fence.acquired_at])

    def fence_with(self, lease: Lease) -> None:
        """Write as `lease`'s holder: its first transaction makes it the lake's writer (replacing the row
        of whichever run wrote before), every later one is fenced by it. No snapshot until something commits."""
        self._claim = lease

    def claim(self) -> None:
        """Become the writer now, if no transaction did yet (before staging: an older run's commits stop
        here, not at this run's first commit)."""
        if self._claim is not None:
            self.transaction(lambda con: None, message=f"silake: run {self._claim.run_id} becomes the writer",
                             derives=False)

    def current_snapshot(self) -> int:
        assert self.con is not None
        row = self.con.execute(f"SELECT id FROM ducklake_current_snapshot({sql_literal(ALIAS)})").fetchone()
        return int(row[0]) if row else 0

    def publish(self) -> None:
        """Upload a remote SQLite catalog's working copy (a single PUT: readers see the old or the new one)."""
        if not self.lake.catalog.is_remote_file or self._local is None:
            return
        fs, path = resolve(self.lake.catalog.target, STORE_ACCESS)
        fs.put_file(self._local, path)


def live_data_files(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """(path, bytes) of each table's live data files, from the catalog in one statement (DuckLake spends ~5 ms
    planning and reading the catalog per statement, so a statement per table adds up)."""
    names = list(tables)
    out: dict[str, list[tuple[str, int]]] = {t: [] for t in names}
    if names:
        union = " UNION ALL ".join(f"SELECT {i} AS i, data_file, data_file_size_bytes FROM ducklake_list_files("
                                   f"{sql_literal(ALIAS)}, {sql_literal(t)})" for i, t in enumerate(names))
        for i, path, size in con.execute(union).fetchall():
            out[names[i]].append((path, int(size)))
    return out


@contextmanager
def writer(lake: Lake) -> Iterator[CatalogWriter]:
    with CatalogWriter(lake) as w:
        yield w
