"""The lake's table format: a DuckLake catalog over plain, hive-partitioned Parquet under the lake root.

A lake is a root (a directory, or an s3:// / gs:// prefix) holding the data files and `silake.json`, which
says where the catalog lives:

- **SQLite file inside the root** (`ROOT/ducklake.sqlite`, the default): zero setup. Locally it is used in
  place in WAL mode, so readers never wait for the writer and never block it. For an object-store root the
  writer works on a local copy and uploads it after each commit; readers download it (cached by etag).
- **PostgreSQL** (`--catalog postgresql://user@host:port/db`): for a lake shared by many machines or written
  by Dataflow. The password is never stored: libpq reads it from PGPASSWORD or ~/.pgpass, or, with
  `?password_secret=projects/P/secrets/S/versions/V`, it is read from Google Secret Manager where needed
  (the Dataflow launcher and workers).
- **Any other SQLite file** (`--catalog /fast/disk/lake.sqlite`): a local catalog for a remote root.

The catalog stores every data path relative to the root, and every session attaches it with DATA_PATH =
the root (OVERRIDE_DATA_PATH), so a moved or copied lake works as is.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from silake.sources.filesystems import LOCAL, kind_of, locate

from .layout import CATALOG_FILE, DESCRIPTOR_FILE
from .storage import LakeStorage

FORMAT = "ducklake"
#: Version of the lake layout this code writes (1 was the catalog-less hive layout of silake 0.1).
LAYOUT_VERSION = 2
POSTGRES_SCHEMES = ("postgresql", "postgres")


class LakeError(Exception):
    """The lake root cannot be used as asked (no lake there, an old layout, a bad catalog location)."""


@dataclass(frozen=True)
class CatalogLocation:
    """Where a lake's DuckLake catalog lives."""

    kind: Literal["sqlite", "postgres"]
    target: str  # sqlite: absolute path or URI of the file; postgres: a libpq connection URI
    schema: str | None = None  # postgres: the schema holding the catalog tables (METADATA_SCHEMA)
    password_secret: str | None = None  # postgres: a Secret Manager secret version holding the password

    @classmethod
    def parse(cls, text: str) -> CatalogLocation:
        """`postgresql://user@host:port/db[?schema=s][&password_secret=...]`, or the path/URI of a SQLite file."""
        scheme = text.partition("://")[0].lower() if "://" in text else ""
        if scheme in POSTGRES_SCHEMES:
            parts = urlsplit(text)
            query = dict(parse_qsl(parts.query))
            schema = query.pop("schema", None)
            secret = query.pop("password_secret", None)
            return cls("postgres", urlunsplit(parts._replace(query=urlencode(query))), schema, secret)
        if scheme and scheme not in ("file", "s3", "s3a", "gs", "gcs"):
            raise LakeError(f"unsupported catalog location {text!r}: use postgresql://..., or the path (or "
                            "s3:// / gs:// URI) of a SQLite file")
        return cls("sqlite", locate(text).uri)

    @classmethod
    def default(cls, root: str) -> CatalogLocation:
        return cls("sqlite", join_root(root, CATALOG_FILE))

    @property
    def is_remote_file(self) -> bool:
        return self.kind == "sqlite" and kind_of(self.target) != LOCAL

    def public(self) -> str:
        """The location without secrets (a password in a PostgreSQL URI is dropped)."""
        if self.kind == "sqlite":
            return self.target
        parts = urlsplit(self.target)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}@{host}" if parts.username else host
        query = dict(parse_qsl(parts.query))
        if self.schema:
            query["schema"] = self.schema
        if self.password_secret:
            query["password_secret"] = self.password_secret
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/")))


def join_root(root: str, rel: str) -> str:
    return posixpath.join(root, rel) if "://" in root else f"{root.rstrip('/')}/{rel}"


@dataclass(frozen=True)
class Lake:
    """A lake root and the location of its catalog."""

    root: str  # canonical: absolute local path, or scheme://bucket/prefix without a trailing slash
    catalog: CatalogLocation

    @property
    def storage(self) -> LakeStorage:
        return LakeStorage(self.root)

    @property
    def data_path(self) -> str:
        """The root as DuckLake's DATA_PATH (with the trailing separator DuckLake stores paths under)."""
        return self.root.rstrip("/") + "/"

    @property
    def catalog_in_root(self) -> bool:
        return self.catalog.kind == "sqlite" and self.catalog.target == join_root(self.root, CATALOG_FILE)

    def descriptor(self) -> dict[str, object]:
        catalog: dict[str, object] = {"kind": self.catalog.kind}
        catalog["location"] = CATALOG_FILE if self.catalog_in_root else self.catalog.public()
        return {"format": FORMAT, "layout": LAYOUT_VERSION, "catalog": catalog}


def canonical_root(root: str) -> str:
    loc = locate(root)
    return loc.uri.rstrip("/") if "://" in loc.uri else loc.uri


def read_descriptor(storage: LakeStorage) -> dict | None:
    path = storage.path(DESCRIPTOR_FILE)
    if not storage.exists(path):
        return None
    try:
        data = json.loads(storage.read_bytes(path))
    except ValueError as exc:
        raise LakeError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LakeError(f"{path} does not describe a silake lake (format {data.get('format')!r})")
    return data


def _old_layout(storage: LakeStorage) -> bool:
    """A silake 0.1 lake: tables as hive directories at the root, no descriptor, no catalog."""
    return storage.exists(storage.path("files")) and storage.exists(storage.path("ingest_shards"))


def locate_lake(root: str, catalog: str | None = None, *, must_exist: bool = True) -> Lake:
    """The lake at `root`: its catalog from `catalog` if given, else from `ROOT/silake.json`, else the default.

    With `must_exist`, a root without a lake raises LakeError (with the way out for a silake 0.1 lake).
    """
    root = canonical_root(root)
    storage = LakeStorage(root)
    descriptor = read_descriptor(storage)
    if descriptor is None:
        if _old_layout(storage):
            raise LakeError(
                f"{root} holds a lake written by silake 0.1 (plain hive directories, no catalog). This version "
                "keeps lakes in a DuckLake catalog; rebuild it from the release: `silake ingest SOURCE --lake "
                f"NEW_ROOT` (or move {root} aside and ingest into it again)."
            )
        if must_exist:
            raise LakeError(f"no lake at {root} (no {DESCRIPTOR_FILE}); create one with `silake ingest SOURCE "
                            f"--lake {root}`")
    if catalog is not None:
        return Lake(root, CatalogLocation.parse(catalog))
    if descriptor is None:
        return Lake(root, CatalogLocation.default(root))
    entry = descriptor.get("catalog") or {}
    location = str(entry.get("location", CATALOG_FILE))
    if entry.get("kind") == "sqlite" and "://" not in location and not location.startswith("/"):
        return Lake(root, CatalogLocation("sqlite", join_root(root, location)))
    return Lake(root, CatalogLocation.parse(location))
