"""Shards written but not yet committed: the hand-over from the workers to the commit step.

A worker processing a shard first writes a claim (`_staging/<run>/<shard>.<attempt>.claim`); its data files
then appear under their final names, which follow from the claim alone (`layout.shard_file_path`); last it
writes the manifest (`<shard>.<attempt>.json`: the files, their rows, and the shard's commit row). The
commit step registers manifests in the catalog and removes them with their claims. Whatever a killed run
leaves here is settled by the next run (or `silake vacuum`): a complete manifest is committed if the lake
does not hold that shard version yet, and everything else - claims without a manifest, superseded
manifests - is deleted together with the files it names. Nothing here is ever visible to readers.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from dataclasses import dataclass

from silake.schemas.tables import SHARD_TABLES

from .commit import CommitRecord, ShardId
from .layout import IN_PROGRESS_SUFFIX, shard_file_path, staging_dir, staging_name
from .storage import TEMP_MARKER, LakeStorage

CLAIM_SUFFIX = ".claim"
MANIFEST_SUFFIX = ".json"


def new_attempt() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class DataFile:
    """One data file of a shard: its path relative to the lake root, rows and bytes."""

    path: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class Claim:
    run_id: str
    label: str
    split: str
    shard_key: str
    attempt: str

    @property
    def shard_id(self) -> ShardId:
        return (self.label, self.split, self.shard_key)

    @property
    def name(self) -> str:
        return staging_name(self.label, self.split, self.shard_key, self.attempt)

    def possible_files(self) -> list[str]:
        """Every path this attempt may have written (final and in-progress names), relative to the root."""
        out = []
        for table in SHARD_TABLES:
            path = shard_file_path(table, self.label, self.split, self.shard_key, self.run_id, self.attempt)
            out += [path, path + IN_PROGRESS_SUFFIX]
        return out


@dataclass(frozen=True)
class ShardManifest:
    """A finished shard: its data files by table and its commit row."""

    claim: Claim
    files: dict[str, DataFile]  # table -> file (tables without rows have no file)
    commit: CommitRecord

    def to_json(self) -> bytes:
        return json.dumps({
            "run_id": self.claim.run_id, "attempt": self.claim.attempt,
            "files": {t: vars(f) for t, f in sorted(self.files.items())},
            "commit": self.commit.to_json(),
        }, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ShardManifest:
        doc = json.loads(data)
        commit = CommitRecord.from_json(doc["commit"])
        claim = Claim(doc["run_id"], commit.label, commit.split, commit.shard_key, doc["attempt"])
        files = {t: DataFile(**f) for t, f in doc["files"].items()}
        return cls(claim, files, commit)


def _path(storage: LakeStorage, claim: Claim, suffix: str) -> str:
    return storage.path(staging_dir(claim.run_id), claim.name + suffix)


def write_claim(storage: LakeStorage, claim: Claim) -> None:
    storage.publish_bytes(b"{}", _path(storage, claim, CLAIM_SUFFIX))


def write_manifest(storage: LakeStorage, manifest: ShardManifest) -> None:
    """Publish a finished shard's manifest (call only once every file it names is in place)."""
    storage.publish_bytes(manifest.to_json(), _path(storage, manifest.claim, MANIFEST_SUFFIX))


@dataclass(frozen=True)
class Staged:
    """What one run directory of `_staging` holds."""

    claims: list[Claim]
    manifests: list[str]  # absolute storage paths of manifest files

    @property
    def empty(self) -> bool:
        return not self.claims and not self.manifests


def _parse(run_id: str, name: str) -> Claim | None:
    parts = name.split(".")
    if len(parts) != 4:
        return None
    return Claim(run_id, *parts)


def list_runs(storage: LakeStorage) -> list[str]:
    """Run ids with something staged."""
    base = storage.path(staging_dir())
    if not storage.exists(base):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in storage.fs.ls(base, detail=False))


def list_staged(storage: LakeStorage, run_id: str) -> Staged:
    """The claims and manifests of one run (one listing of its staging directory)."""
    base = storage.path(staging_dir(run_id))
    if not storage.exists(base):
        return Staged([], [])
    storage.fs.invalidate_cache(base)
    claims: list[Claim] = []
    manifests: list[str] = []
    for path in sorted(storage.fs.ls(base, detail=False)):
        name = posixpath.basename(path)
        if name.endswith(CLAIM_SUFFIX):
            claim = _parse(run_id, name.removesuffix(CLAIM_SUFFIX))
            if claim is not None:
                claims.append(claim)
        elif name.endswith(MANIFEST_SUFFIX):
            manifests.append(path)
    return Staged(claims, manifests)


def read_manifest(storage: LakeStorage, path: str) -> ShardManifest:
    return ShardManifest.from_json(storage.read_bytes(path))


def settle(storage: LakeStorage, claim: Claim) -> None:
    """Forget a committed attempt: remove its manifest and claim (its files now belong to the catalog)."""
    storage.delete(_path(storage, claim, MANIFEST_SUFFIX))
    storage.delete(_path(storage, claim, CLAIM_SUFFIX))


def discard(storage: LakeStorage, claim: Claim) -> int:
    """Delete an attempt that will never be committed: every file it may have written, its manifest and claim.
    Returns the number of data files deleted."""
    deleted = 0
    for rel in claim.possible_files():
        path = storage.path(rel)
        if storage.exists(path):
            storage.delete(path)
            deleted += 1
    settle(storage, claim)
    return deleted


def remove_run_dir(storage: LakeStorage, run_id: str, *, dead: bool = False) -> None:
    """Remove the run's staging directory, and `_staging` itself, once empty. `dead`: the run is gone (its
    claims and manifests settled), so the temp file of a publish it was killed in goes too."""
    base = storage.path(staging_dir(run_id))
    if dead and storage.exists(base):
        for path in storage.fs.ls(base, detail=False):
            if TEMP_MARKER in posixpath.basename(path):
                storage.delete(path)
    for rel in (staging_dir(run_id), staging_dir()):
        base = storage.path(rel)
        if storage.exists(base) and not storage.fs.ls(base, detail=False):
            storage.fs.rm(base, recursive=True)
