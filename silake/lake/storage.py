"""The lake root as a filesystem: a local directory or an object-store prefix (s3://, gs://)."""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from functools import cached_property

import fsspec
from fsspec.implementations.local import LocalFileSystem

from silake.sources.filesystems import STORE_ACCESS, resolve

#: Marks the temp file a local publish writes beside its destination (left behind only by a killed process).
TEMP_MARKER = ".tmp-"


def temp_name(dest: str) -> str:
    """A unique temp name beside `dest`."""
    return f"{dest}{TEMP_MARKER}{uuid.uuid4().hex}"


@dataclass(frozen=True)
class LakeStorage:
    """Where the lake lives. Paths inside it are always built from table names and shard keys, never from
    tar member names."""

    root: str

    @cached_property
    def _fs_and_path(self) -> tuple[fsspec.AbstractFileSystem, str]:
        # The sources' resolver (endpoints such as AWS_ENDPOINT_URL are read now and key its filesystem
        # cache) with the stores' fixed access: a lake is never written anonymously.
        fs, path = resolve(self.root, STORE_ACCESS)
        return fs, path.rstrip("/") or path

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        return self._fs_and_path[0]

    @property
    def base(self) -> str:
        return self._fs_and_path[1]

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    @property
    def uri(self) -> str:
        """The root as a URI other tools take (absolute path locally, scheme://bucket/prefix remotely)."""
        if self.is_local:
            return self.base
        return self.fs.unstrip_protocol(self.base)

    def path(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def read_bytes(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def publish_file(self, local_path: str, dest: str) -> None:
        """Make `local_path` visible at `dest` atomically: rename locally, one upload on object stores."""
        if self.is_local:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = temp_name(dest)  # beside dest: the rename below is atomic
            shutil.move(local_path, tmp)
            os.replace(tmp, dest)
        else:
            self.fs.put_file(local_path, dest)
            os.remove(local_path)

    def publish_bytes(self, data: bytes, dest: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix="silake-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        self.publish_file(tmp, dest)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Write `data` at `path` only if nothing is there; False if something is. Atomic, and the file is
        never seen half-written: locally a fully written temp file is hard-linked into place (link fails if
        the name exists), on S3/GCS a conditional PUT (If-None-Match / ifGenerationMatch=0 via `mode="create"`)."""
        try:
            if self.is_local:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = temp_name(path)
                with open(tmp, "xb") as fh:
                    fh.write(data)
                try:
                    os.link(tmp, path)
                finally:
                    os.remove(tmp)
            else:
                self.fs.pipe_file(path, data, mode="create")
        except FileExistsError:
            return False
        return True

    def delete(self, path: str) -> None:
        """Remove `path` if it exists (another process removing it first is fine)."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
