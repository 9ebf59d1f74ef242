"""Every `SILAKE_*` environment setting, in one typed object (pydantic-settings).

| variable | default | what |
|---|---|---|
| `SILAKE_LAKE` | - | the lake root every command uses when `--lake` is not given |
| `SILAKE_CATALOG` | - | the catalog location when `--catalog` is not given (see README, catalog) |
| `SILAKE_DEBUG` | false | tracebacks instead of one-line errors |
| `SILAKE_CACHE_DIR` | `~/.cache/silake` | downloaded copies of remote SQLite catalogs |
| `SILAKE_DUCKDB_EXTENSION_DIR` | `~/.duckdb/extensions` | where the pip-packaged DuckDB extensions are installed |
| `SILAKE_COMMIT_INTERVAL` | 1.0 | seconds between two looks at what the workers staged (and progress updates) |
| `SILAKE_COMMIT_WAIT` | 30 | seconds a finished shard may wait for its commit (0: commit at every look) |
| `SILAKE_COMMIT_MAX_SHARDS` | 100 | shards that make a commit due at once; the most one transaction holds |
| `SILAKE_DASK_SCHEDULER` | - | the Dask scheduler of `--runner dask` when `--dask-scheduler` is not given |
| `SILAKE_LEASE_TTL` | 120 | seconds a run's lease lives without a heartbeat |
| `SILAKE_HF_ENDPOINT` | `HF_ENDPOINT`, else https://huggingface.co | the Hugging Face Hub for `hf://` sources |
| `SILAKE_S3_ANON` | false | read `s3://` sources anonymously (public buckets) |
| `SILAKE_RETRY_ATTEMPTS` | 6 | tries of a remote read before it fails (transient errors only) |
| `SILAKE_RETRY_INITIAL_WAIT` | 0.5 | seconds before the first retry (then doubling) |
| `SILAKE_RETRY_MAX_WAIT` | 20.0 | longest wait between retries |
| `SILAKE_MAX_FRAMES` | 108000 (1 h at 30 fps) | frames of one sample; unless set, the npz byte caps follow it |
| `SILAKE_MAX_NPZ_BYTES` | from max frames (~0.5 GB) | a sample's npz member as stored |
| `SILAKE_MAX_ENTRY_BYTES` | from max frames | one inflated npz entry |
| `SILAKE_MAX_INFLATED_BYTES` | from max frames | all inflated npz entries of one sample |
| `SILAKE_MAX_JSON_BYTES` | 64 MiB | a sample's json member |
| `SILAKE_MAX_NPY_HEADER_BYTES` | 64 KiB | one .npy header |
| `SILAKE_MAX_MP4_BOXES` | 4096 | box headers walked at one level of an mp4 |
| `SILAKE_MAX_TAR_MEMBER_BYTES` | 8 GiB | a tar member claiming more is corrupt |
| `SILAKE_MAX_TAR_EXTENDED_HEADER_BYTES` | 1 MiB | a long-name or pax header payload |
| `SILAKE_READ_WINDOW` | 64 KiB | bytes a shard read fetches past what was asked |
| `SILAKE_READ_CACHE_WINDOWS` | 32 | read windows a shard reader keeps |
| `SILAKE_PREFETCH_SAMPLES` | 2 | samples fetched ahead of decoding |
| `SILAKE_WRITE_BEHIND_BATCHES` | 16 | record batches queued for the Parquet writer |
| `SILAKE_KEEP_FREED_BYTES` | 1 GiB | freed memory a shard process keeps for its next sample (glibc; 0: none) |
| `SILAKE_MAX_CSV_BYTES` | 512 MiB | a metadata CSV (checked by one stat before reading) |
| `SILAKE_MAX_CSV_ROWS_FACTOR` | 10 | rows read from a metadata CSV: this times the release's (at least 1,000) |
| `SILAKE_SDK_CONTAINER_IMAGE` | - | infra: the Flex Template image, the default `--sdk_container_image` |
| `SILAKE_FAILPOINTS` | - | tests only: kill the process at named points (`silake.failpoints`) |

The limits' defaults are declared in `silake.schemas.limits` (the retries' in `silake.sources.retry`, the
commit policy's in `silake.lake.committer`); a variable left unset means that default. An ingest run
resolves its settings once, in the launcher, and hands the workers what they need (limits, retries,
source access) in its IngestContext: workers, wherever they run, never read them from the environment.
Everything else reads `current()` where it is used.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from silake.lake.committer import CommitPolicy
    from silake.schemas.limits import Caps, MetadataLimits, ReadLimits
    from silake.sources.filesystems import SourceAccess
    from silake.sources.retry import RetryPolicy

T = TypeVar("T", bound="DataclassInstance")


class Settings(BaseSettings):
    """The `SILAKE_*` environment, validated (a bad value fails with the variable's name)."""

    model_config = SettingsConfigDict(env_prefix="SILAKE_", extra="ignore", frozen=True,
                                      env_ignore_empty=True)  # VAR= means unset, as click and the shells do

    lake: str | None = Field(None, description="default lake root (--lake)")
    catalog: str | None = Field(None, description="default catalog location (--catalog)")
    debug: bool = Field(False, description="tracebacks instead of one-line errors")
    cache_dir: str | None = Field(None, description="cache of downloaded remote SQLite catalogs")
    duckdb_extension_dir: str | None = Field(None, description="DuckDB extension directory")
    commit_interval: float = Field(1.0, gt=0, description="seconds between looks at the staged shards")
    commit_wait: float | None = Field(None, ge=0, description="seconds a finished shard may wait for its commit")
    commit_max_shards: int | None = Field(None, ge=1, description="shards per commit transaction at most")
    hf_endpoint: str | None = Field(None, validation_alias=AliasChoices("SILAKE_HF_ENDPOINT", "HF_ENDPOINT"),
                                    description="Hugging Face Hub endpoint for hf:// sources")
    s3_anon: bool = Field(False, description="anonymous s3:// reads")
    dask_scheduler: str | None = Field(None, description="the Dask scheduler of --runner dask")
    lease_ttl: float = Field(120.0, gt=0, description="seconds a run's lease lives without a heartbeat "
                             "(renewed every ttl/4; a stale lease is taken over by the next run)")
    sdk_container_image: str | None = Field(None, description="the Flex Template image (infra/dataflow/launcher.py)")
    failpoints: str = Field("", description="tests only: SIGKILL, pause or sleep at named points")

    # Overrides of silake.sources.retry.RetryPolicy (SILAKE_RETRY_<FIELD>); unset: its default.
    retry_attempts: int | None = Field(None, ge=1, description="tries of a remote read")
    retry_initial_wait: float | None = Field(None, ge=0, description="seconds before the first retry")
    retry_max_wait: float | None = Field(None, ge=0, description="longest wait between retries")

    # Overrides of silake.schemas.limits.Caps (SILAKE_<FIELD>); unset: its default.
    max_frames: int | None = Field(None, gt=0, description="frames of one sample")
    max_npz_bytes: int | None = Field(None, gt=0, description="a sample's npz member as stored")
    max_entry_bytes: int | None = Field(None, gt=0, description="one inflated npz entry")
    max_inflated_bytes: int | None = Field(None, gt=0, description="all inflated npz entries of a sample")
    max_json_bytes: int | None = Field(None, gt=0, description="a sample's json member")
    max_npy_header_bytes: int | None = Field(None, gt=0, description="one .npy header")
    max_mp4_boxes: int | None = Field(None, gt=0, description="box headers at one level of an mp4")

    # Overrides of silake.schemas.limits.ReadLimits (SILAKE_<FIELD>); unset: its default.
    max_tar_member_bytes: int | None = Field(None, gt=0, description="a tar member's claimed size")
    max_tar_extended_header_bytes: int | None = Field(None, gt=0, description="a long-name or pax payload")
    read_window: int | None = Field(None, ge=0, description="bytes read past what a shard read asks for")
    read_cache_windows: int | None = Field(None, gt=0, description="read windows a shard reader keeps")
    prefetch_samples: int | None = Field(None, gt=0, description="samples fetched ahead of decoding")
    write_behind_batches: int | None = Field(None, gt=0, description="batches queued for the Parquet writer")
    keep_freed_bytes: int | None = Field(None, ge=0, description="freed memory a shard process keeps (0: libc's "
                                                                 "defaults)")

    # Overrides of silake.schemas.limits.MetadataLimits (SILAKE_<FIELD>); unset: its default.
    max_csv_bytes: int | None = Field(None, gt=0, description="a metadata CSV's size")
    max_csv_rows_factor: int | None = Field(None, gt=0, description="a metadata CSV's rows / the release's")

    def caps(self) -> Caps:
        """The sample caps: the defaults (scaled to SILAKE_MAX_FRAMES when set) with the variables set."""
        from silake.schemas.limits import Caps

        return _overridden(Caps() if self.max_frames is None else Caps.for_frames(self.max_frames), self)

    def read_limits(self) -> ReadLimits:
        from silake.schemas.limits import ReadLimits

        return _overridden(ReadLimits(), self)

    def metadata_limits(self) -> MetadataLimits:
        from silake.schemas.limits import MetadataLimits

        return _overridden(MetadataLimits(), self)

    def commit_policy(self) -> CommitPolicy:
        from silake.lake.committer import CommitPolicy

        return _overridden(CommitPolicy(), self, prefix="commit_")

    def retry_policy(self) -> RetryPolicy:
        from silake.sources.retry import RetryPolicy

        return _overridden(RetryPolicy(), self, prefix="retry_")

    def source_access(self) -> SourceAccess:
        from silake.sources.filesystems import DEFAULT_HF_ENDPOINT, SourceAccess

        return SourceAccess(s3_anon=self.s3_anon, hf_endpoint=(self.hf_endpoint or DEFAULT_HF_ENDPOINT).rstrip("/"),
                            retry=self.retry_policy())


def _overridden(base: T, settings: Settings, prefix: str = "") -> T:
    """`base` (a dataclass) with each field whose variable, SILAKE_<prefix><FIELD>, is set."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(base):
        value = getattr(settings, prefix + f.name)
        if value is not None:
            changes[f.name] = value
    return dataclasses.replace(base, **changes) if changes else base


#: The variables Settings reads (pydantic-settings matches names case-insensitively).
_READS = ("SILAKE_", "HF_ENDPOINT")
_cached: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def current() -> Settings:
    """The settings as the environment says now. Validating them costs ~4 ms (pydantic-settings) and a
    command reads them in a dozen places (option defaults, lease, retries...): the object is reused while
    the variables it reads are unchanged (it is frozen)."""
    global _cached
    key = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith(_READS)))
    if _cached is None or _cached[0] != key:
        _cached = (key, Settings())
    return _cached[1]
