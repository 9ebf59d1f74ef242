"""Open DuckDB on a lake root - a local directory or an object-store prefix - with every view defined.

Remote lakes need DuckDB's httpfs extension. It is never downloaded: the `duckdb-extension-httpfs` wheel
(pinned to the same version as `duckdb`) ships the compiled extension file, which is LOADed by path.
S3 credentials and endpoint come from the standard AWS environment variables and become a DuckDB secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb

#: Schemes DuckDB reads through httpfs.
REMOTE_SCHEMES: tuple[str, ...] = ("s3", "s3a", "r2", "gs", "gcs", "http", "https")
#: Settings of every connection: never reach the network to install an extension.
DUCKDB_CONFIG: dict[str, str | bool] = {"autoinstall_known_extensions": False}
#: Session settings: cache Parquet footers (a QA query scans the same files many times; an entry is
#: dropped when its file changes).
SESSION_SQL = "SET parquet_metadata_cache = true;\n"


def scheme(uri: str) -> str | None:
    """'s3' for 's3://bucket/x', None for a local path."""
    head, sep, _ = uri.partition("://")
    return head.lower() if sep else None


def is_remote(uri: str) -> bool:
    return scheme(uri) in REMOTE_SCHEMES


def normalize_lake_root(lake: str) -> str:
    """An absolute local path, or the URI without a trailing slash."""
    if scheme(lake) is not None:
        return lake.rstrip("/")
    return os.path.abspath(os.path.expanduser(lake))


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped by the duckdb-extension-httpfs wheel for this DuckDB version."""
    path = Path(str(files("duckdb_extension_httpfs"))) / "extensions" / f"v{duckdb.__version__}"
    path = path / "httpfs.duckdb_extension"
    if not path.is_file():
        raise FileNotFoundError(
            f"no httpfs extension for DuckDB {duckdb.__version__} at {path}: install "
            f"duckdb-extension-httpfs=={duckdb.__version__}"
        )
    return path


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
        env = os.environ if env is None else env
        url = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""
        endpoint_scheme, sep, rest = url.partition("://")
        endpoint = (rest if sep else url).rstrip("/") or None
        return cls(
            key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint=endpoint,
            use_ssl=not (sep and endpoint_scheme.lower() == "http"),
        )

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


def remote_setup_sql(lake_root: str, *, credentials_from_env: bool = False) -> str:
    """SQL that makes `lake_root` readable: LOAD httpfs by path (+ the S3 secret); '' for a local lake."""
    if not is_remote(lake_root):
        return ""
    lines = [f"LOAD {sql_literal(str(httpfs_extension_path()))};"]
    if scheme(lake_root) in ("s3", "s3a", "r2"):
        lines.append(S3Settings.from_env().secret_sql(credentials_from_env=credentials_from_env))
    return "\n".join(lines) + "\n"


def open_duckdb(lake_root: str, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection able to read `lake_root` (no views yet)."""
    con = duckdb.connect(database, config=dict(DUCKDB_CONFIG))
    con.execute(SESSION_SQL + remote_setup_sql(lake_root))
    return con


def connect(lake: str, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection on the lake with every base, analytics and QA view defined."""
    from .views import define_views

    root = normalize_lake_root(lake)
    con = open_duckdb(root, database)
    define_views(con, root)
    return con
