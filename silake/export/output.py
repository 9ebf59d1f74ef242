"""The output location: a local directory or an object-store prefix, written through `LakeStorage`.

An existing non-empty output is refused without --overwrite. With it, the previous contents are removed
(only after the selection and the sources have been validated), and only if every entry is something an
export writes (`manifest.json`, `README.md`, `data/`, the Parquet table directories, staging leftovers):
--overwrite never deletes files an export did not make. Each file is written locally first, then published
in one move (local) or one upload (object store); `manifest.json` is published last.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field

from silake.export.errors import BadInput, OutputNotEmpty
from silake.lake.storage import LakeStorage
from silake.schemas.tables import SAMPLE_TABLES
from silake.tempfiles import temp_dir

MANIFEST = "manifest.json"
CARD = "README.md"  # the dataset card: what Hugging Face `datasets` and the Hub read
STAGING_PREFIX = ".silake-export-"
_EXPORT_ENTRY = re.compile(
    r"^(manifest\.json|README\.md|data|" + "|".join(map(re.escape, SAMPLE_TABLES)) + r"|\.silake-export-.*)$"
)


def _canonical(storage: LakeStorage) -> str:
    return os.path.realpath(storage.base) if storage.is_local else storage.uri.rstrip("/")


@dataclass
class OutputTarget:
    """Where an export goes; `existing` lists what was there before (removed by `clear`)."""

    storage: LakeStorage
    existing: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # relative paths published by this run
    created: bool = False  # the output did not exist before this run
    _staging: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def prepare(cls, out: str, lake: LakeStorage, overwrite: bool) -> OutputTarget:
        """Check the output can be written (nothing is changed yet)."""
        storage = LakeStorage(out)
        o, lk = _canonical(storage), _canonical(lake)
        if o == lk or o.startswith(lk + "/") or lk.startswith(o + "/"):
            raise BadInput(f"the output {out} and the lake {lake.uri} overlap: choose an output outside the "
                           "lake")
        fs = storage.fs
        with contextlib.suppress(Exception):  # some filesystems keep no cache
            fs.invalidate_cache()
        if fs.isfile(storage.base):
            raise BadInput(f"the output {out} is a file, not a directory or prefix")
        try:
            entries = sorted(fs.ls(storage.base, detail=False)) if fs.exists(storage.base) else []
        except FileNotFoundError:
            entries = []
        entries = [e for e in entries if e.rstrip("/") != storage.base]
        if entries and not overwrite:
            names = ", ".join(posixpath.basename(e.rstrip("/")) for e in entries[:5])
            more = f" and {len(entries) - 5} more" if len(entries) > 5 else ""
            raise OutputNotEmpty(f"the output {out} is not empty ({names}{more}): pass --overwrite to "
                                 "replace a previous export")
        foreign = [e for e in entries if not _EXPORT_ENTRY.match(posixpath.basename(e.rstrip("/")))]
        if foreign:
            names = ", ".join(posixpath.basename(e.rstrip("/")) for e in foreign[:5])
            raise OutputNotEmpty(f"the output {out} holds entries an export does not write ({names}): "
                                 "--overwrite only replaces a previous export; choose another output")
        return cls(storage, entries, created=not fs.exists(storage.base))

    @property
    def uri(self) -> str:
        return self.storage.uri

    def clear(self) -> None:
        """Remove the previous export (call once the new one is known to be writable)."""
        fs = self.storage.fs
        for entry in self.existing:
            if fs.exists(entry):
                fs.rm(entry, recursive=True)
        self.existing = []

    def staging_dir(self) -> str:
        """A local directory for files being written: inside the output when it is local (publication is
        then a rename on the same filesystem), else a temporary directory."""
        with self._lock:
            return self._make_staging()

    def _make_staging(self) -> str:
        if self._staging is None:
            if self.storage.is_local:
                os.makedirs(self.storage.base, exist_ok=True)
                self._staging = os.path.join(self.storage.base, f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}")
                os.makedirs(self._staging)
            else:
                self._staging = temp_dir("export")
        return self._staging

    def publish(self, local_path: str, rel: str) -> None:
        """Move a finished local file to `rel` under the output (atomic rename, or one upload)."""
        self.storage.publish_file(local_path, self.storage.path(rel))
        with self._lock:
            self.published.append(rel)

    def publish_bytes(self, data: bytes, rel: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.staging_dir(), prefix="bytes-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the output's other files are 0644
        self.publish(tmp, rel)

    def discard_published(self) -> None:
        """Remove what this run published (after a failure)."""
        for rel in reversed(self.published):
            with contextlib.suppress(OSError):
                self.storage.delete(self.storage.path(rel))
        self.published = []
        if self.storage.is_local:
            self.cleanup()
            _prune_empty_dirs(self.storage.base)
            if self.created and os.path.isdir(self.storage.base) and not os.listdir(self.storage.base):
                os.rmdir(self.storage.base)

    def cleanup(self) -> None:
        """Remove the staging directory."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None


def _prune_empty_dirs(root: str) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        if dirpath != root and not os.listdir(dirpath):
            os.rmdir(dirpath)
