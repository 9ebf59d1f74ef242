"""Every `SILAKE_*` environment setting, in one typed object (pydantic-settings).

| variable | default | what |
|---|---|---|
| `SILAKE_LAKE` | - | the lake root every command uses when `--lake` is not given |
| `SILAKE_CATALOG` | - | the catalog location when `--catalog` is not given (see README, catalog) |
| `SILAKE_DEBUG` | false | tracebacks instead of one-line errors |
| `SILAKE_CACHE_DIR` | `~/.cache/silake` | downloaded copies of remote SQLite catalogs |
| `SILAKE_DUCKDB_EXTENSION_DIR` | `~/.duckdb/extensions` | where the pip-packaged DuckDB extensions are installed |
| `SILAKE_COMMIT_INTERVAL` | 1.0 | seconds between two looks at what the workers staged |
| `SILAKE_HF_ENDPOINT` | `HF_ENDPOINT`, else https://huggingface.co | the Hugging Face Hub for `hf://` sources |
| `SILAKE_S3_ANON` | false | read `s3://` sources anonymously (public buckets) |
| `SILAKE_RETRY_ATTEMPTS` | 6 | tries of a remote read before it fails (transient errors only) |
| `SILAKE_RETRY_INITIAL_WAIT` | 0.5 | seconds before the first retry (then doubling) |
| `SILAKE_RETRY_MAX_WAIT` | 20.0 | longest wait between retries |
| `SILAKE_FAILPOINTS` | - | tests only: kill the process at named points (`silake.failpoints`) |

Read where they are used, at that moment (`current()`), so a test or a notebook can change them on the fly.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The `SILAKE_*` environment, validated (a bad value fails with the variable's name)."""

    model_config = SettingsConfigDict(env_prefix="SILAKE_", extra="ignore", frozen=True)

    lake: str | None = Field(None, description="default lake root (--lake)")
    catalog: str | None = Field(None, description="default catalog location (--catalog)")
    debug: bool = Field(False, description="tracebacks instead of one-line errors")
    cache_dir: str | None = Field(None, description="cache of downloaded remote SQLite catalogs")
    duckdb_extension_dir: str | None = Field(None, description="DuckDB extension directory")
    commit_interval: float = Field(1.0, gt=0, description="seconds between looks at the staged shards")
    hf_endpoint: str | None = Field(None, description="Hugging Face Hub endpoint for hf:// sources")
    s3_anon: bool = Field(False, description="anonymous s3:// reads")
    retry_attempts: int = Field(6, ge=1, description="tries of a remote read")
    retry_initial_wait: float = Field(0.5, ge=0, description="seconds before the first retry")
    retry_max_wait: float = Field(20.0, ge=0, description="longest wait between retries")
    dask_scheduler: str | None = Field(None, description="the Dask scheduler of --runner dask")
    lease_ttl: float = Field(120.0, gt=0, description="seconds a run's lease lives without a heartbeat "
                             "(renewed every ttl/4; a stale lease is taken over by the next run)")
    failpoints: str = Field("", description="tests only: SIGKILL, pause or sleep at named points")


def current() -> Settings:
    """The settings as the environment says now."""
    return Settings()
