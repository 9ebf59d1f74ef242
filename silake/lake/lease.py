"""Single-writer lease: one ingest run at a time may write a lake.

The launcher takes `ROOT/_lease.json` before it writes anything and releases it at the end (a run that does
not wait hands it to the pipeline's last step), so two runs that overlap cannot interleave their commits:
the second one stops with a clear error naming the holder. Taking the lease is a create-if-absent (O_EXCL
locally, a conditional PUT on S3 and GCS), so of two runs starting together exactly one wins. A lease
older than its TTL, or whose holder process on this host is gone (a killed run), may be taken over: the
stale file is deleted and the create retried, which leaves a small window in which two runs that both saw
the same stale lease could each delete the other's fresh one; the read-back after the create makes that
visible as LeaseHeld instead of silent.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .layout import LEASE_FILE
from .storage import LakeStorage

DEFAULT_TTL = timedelta(hours=24)


class LeaseHeld(RuntimeError):
    """Another run holds the lake's lease."""


class LeaseLost(RuntimeError):
    """This run's lease is gone (expired and taken over, or deleted): it may not commit any more."""


@dataclass(frozen=True)
class Lease:
    run_id: str
    holder: str
    acquired_at: str
    expires_at: str

    def expired(self, now: datetime) -> bool:
        return datetime.fromisoformat(self.expires_at) <= now

    def holder_dead(self) -> bool:
        """The holder ran on this host and its process is gone (a killed run): the lease is stale."""
        host, _, pid = self.holder.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


def _read(storage: LakeStorage) -> Lease | None:
    path = storage.path(LEASE_FILE)
    if not storage.exists(path):
        return None
    try:
        return Lease(**json.loads(storage.read_bytes(path)))
    except (ValueError, TypeError):
        return None  # unreadable lease: treat as absent, the next write replaces it


def acquire(storage: LakeStorage, run_id: str, ttl: timedelta = DEFAULT_TTL) -> Lease:
    """Take the lease for `run_id` or raise LeaseHeld."""
    now = datetime.now(UTC)
    current = _read(storage)
    if current is not None and current.run_id != run_id and not current.expired(now) \
            and not current.holder_dead():
        raise LeaseHeld(
            f"lake {storage.uri} is being written by run {current.run_id} ({current.holder}) since "
            f"{current.acquired_at}; its lease expires at {current.expires_at}. If that run is dead, "
            f"delete {storage.path(LEASE_FILE)}."
        )
    lease = Lease(run_id, f"{socket.gethostname()}:{os.getpid()}", now.isoformat(), (now + ttl).isoformat())
    path = storage.path(LEASE_FILE)
    if storage.exists(path):  # ours already, expired or unreadable (a live foreign lease raised above)
        storage.delete(path)
    if not storage.create_exclusive(path, json.dumps(asdict(lease)).encode()):
        holder = _read(storage)
        raise LeaseHeld(f"lost the race for the lease of {storage.uri} to run {holder.run_id if holder else '?'}")
    confirmed = _read(storage)
    if confirmed is None or confirmed.run_id != run_id:
        raise LeaseHeld(f"lost the race for the lease of {storage.uri} to run "
                        f"{confirmed.run_id if confirmed else '?'}")
    return lease


def verify(storage: LakeStorage, run_id: str) -> None:
    """Raise LeaseLost unless `run_id` still holds the lease (checked before every commit)."""
    current = _read(storage)
    if current is None or current.run_id != run_id:
        holder = f"run {current.run_id}" if current is not None else "nobody"
        raise LeaseLost(f"run {run_id} lost the lease of {storage.uri} (now held by {holder}): not committing")


def release(storage: LakeStorage, run_id: str) -> bool:
    """Drop the lease if `run_id` holds it; returns whether it did."""
    current = _read(storage)
    if current is None or current.run_id != run_id:
        return False
    storage.delete(storage.path(LEASE_FILE))
    return True
