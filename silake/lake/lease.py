"""Single-writer lease and fencing: one run at a time may write a lake, and a run that lost the lease cannot.

`ROOT/_lease.json` names the holder (run id, host:pid, a token unique to this acquisition) and when its
heartbeat last ran. Taking it is a create-if-absent of the complete file: a hard link of a fully written
temp file locally (so nobody ever reads a half-written lease) and a conditional PUT on S3 and GCS
(If-None-Match / ifGenerationMatch=0 through `mode="create"`). Of two runs starting together exactly one
wins; the other stops with LeaseHeld naming the holder.

A lease is stale when its holder ran on this host and its process is gone (a killed run), when its
heartbeat is older than the TTL, or when it cannot be read. A stale lease is taken over without a manual
step, and safely: the candidates race for a takeover marker named after the stale lease's token (another
create-if-absent), and only the winner replaces the lease.

The lease is the polite half; fencing is the safe half. Every commit transaction re-checks, inside the
catalog, that this run's token is the one in the `lake_writer` table (`CatalogWriter(fence=...)`), and a
new holder replaces that row when it starts (`claim`). A run that lost its lease (a paused or orphaned
process, a partitioned host) therefore cannot commit after a newer run started: its check finds another
token, or its transaction conflicts with the claim and is rolled back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType

from silake.settings import current
from silake.signals import process_alive

from .layout import LEASE_FILE
from .storage import LakeStorage

log = logging.getLogger(__name__)

#: A run handed to a remote service (Dataflow without --wait) cannot renew: its lease lasts this long.
DETACHED_TTL = timedelta(hours=24)
_TAKEOVER = LEASE_FILE + ".takeover-"


def default_ttl() -> timedelta:
    """A run whose launcher is alive renews its lease every TTL / 4; one that stopped is stale after TTL
    (SILAKE_LEASE_TTL seconds, 120 by default)."""
    return timedelta(seconds=current().lease_ttl)


class LeaseHeld(RuntimeError):
    """Another run holds the lake's lease."""


class LeaseLost(RuntimeError):
    """This run's lease is gone (stale and taken over, or deleted): it may not commit any more."""


@dataclass(frozen=True)
class Lease:
    run_id: str
    holder: str  # host:pid of the process that took it
    token: str  # unique to this acquisition: the fencing token
    acquired_at: str
    heartbeat_at: str
    expires_at: str

    def expired(self, now: datetime) -> bool:
        return datetime.fromisoformat(self.expires_at) <= now

    def holder_dead(self) -> bool:
        """The holder ran on this host and its process is gone (a killed run): the lease is stale."""
        host, _, pid = self.holder.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid))

    def stale(self, now: datetime) -> bool:
        return self.expired(now) or self.holder_dead()

    def describe(self) -> str:
        return f"run {self.run_id} ({self.holder}, heartbeat {self.heartbeat_at})"


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _read(storage: LakeStorage, path: str) -> tuple[Lease | None, bytes | None]:
    """(the lease, None) or (None, raw bytes of an unreadable file) or (None, None) when there is none."""
    try:
        raw = storage.read_bytes(path)
    except FileNotFoundError:
        return None, None
    try:
        return Lease(**json.loads(raw)), None
    except (ValueError, TypeError):
        return None, raw


def read(storage: LakeStorage) -> Lease | None:
    """The current lease, if there is a readable one."""
    return _read(storage, storage.path(LEASE_FILE))[0]


def _encode(lease: Lease) -> bytes:
    return json.dumps(asdict(lease), indent=1).encode()


def _new(run_id: str, ttl: timedelta) -> Lease:
    now = datetime.now(UTC)
    return Lease(run_id, _holder(), uuid.uuid4().hex, now.isoformat(), now.isoformat(), (now + ttl).isoformat())


def acquire(storage: LakeStorage, run_id: str, ttl: timedelta | None = None) -> Lease:
    """Take the lease for `run_id` (taking over a stale one) or raise LeaseHeld."""
    path = storage.path(LEASE_FILE)
    lease = _new(run_id, ttl or default_ttl())
    if storage.create_exclusive(path, _encode(lease)):
        return lease
    current, raw = _read(storage, path)
    if current is None and raw is None:  # released between our create and our read: one more try
        if storage.create_exclusive(path, _encode(lease)):
            return lease
        current, raw = _read(storage, path)
        if current is None and raw is None:  # created and removed again under us: others are racing for it
            raise LeaseHeld(f"lake {storage.uri}: another run is acquiring its lease at this moment; try again")
    if current is not None and not current.stale(datetime.now(UTC)):
        raise LeaseHeld(f"lake {storage.uri} is being written by {current.describe()}; its lease expires at "
                        f"{current.expires_at} unless renewed. Wait for that run to finish or stop it: a "
                        "killed run's lease is taken over by the next run.")
    return _take_over(storage, lease, _token_of(current, raw), current)


def _token_of(current: Lease | None, raw: bytes | None) -> str:
    """The token of the lease file as read: its own, or one derived from an unreadable file's bytes."""
    if current is not None:
        return current.token
    return uuid.uuid5(uuid.NAMESPACE_OID, repr(raw)).hex


def _take_over(storage: LakeStorage, lease: Lease, stale_token: str, stale: Lease | None) -> Lease:
    """Replace the stale lease `stale_token`: only the run that creates the takeover marker may."""
    path = storage.path(LEASE_FILE)
    marker = storage.path(_TAKEOVER + stale_token)
    if not storage.create_exclusive(marker, _encode(lease)):
        other, _ = _read(storage, marker)
        if other is not None and not other.stale(datetime.now(UTC)):
            raise LeaseHeld(f"lake {storage.uri}: {other.describe()} is taking over the stale lease "
                            f"of {stale.describe() if stale else 'an unreadable lease file'}")
        storage.delete(marker)  # a takeover that died half-way: its marker is stale too
        if not storage.create_exclusive(marker, _encode(lease)):
            raise LeaseHeld(f"lake {storage.uri}: another run is taking over its stale lease")
    try:
        current, raw = _read(storage, path)
        token = _token_of(current, raw)
        if token not in (stale_token, None):  # replaced meanwhile (its holder came back and released it)
            raise LeaseHeld(f"lake {storage.uri} is being written by "
                            f"{current.describe() if current else 'another run'}")
        if token is not None:
            storage.delete(path)
        if not storage.create_exclusive(path, _encode(lease)):
            holder = read(storage)
            raise LeaseHeld(f"lost the race for the lease of {storage.uri} to "
                            f"{holder.describe() if holder else 'another run'}")
    finally:
        storage.delete(marker)
    log.warning("took over the stale lease of %s", stale.describe() if stale else "an unreadable lease file")
    return lease


def _holds(current: Lease | None, lease: Lease | str) -> bool:
    """Whether the lease file as read is `lease` (same acquisition token) or, given a run id, that run's."""
    if current is None:
        return False
    return current.token == lease.token if isinstance(lease, Lease) else current.run_id == lease


def verify(storage: LakeStorage, lease: Lease | str) -> None:
    """Raise LeaseLost unless `lease` (or run id) still holds the lake (checked before every commit)."""
    current = read(storage)
    if not _holds(current, lease):
        run_id = lease.run_id if isinstance(lease, Lease) else lease
        holder = current.describe() if current is not None else "nobody"
        raise LeaseLost(f"run {run_id} lost the lease of {storage.uri} (now held by {holder}): not committing")


def renew(storage: LakeStorage, lease: Lease, ttl: timedelta) -> Lease:
    """Move the lease's heartbeat to now; raises LeaseLost if it is not ours any more."""
    verify(storage, lease)
    now = datetime.now(UTC)
    renewed = replace(lease, heartbeat_at=now.isoformat(), expires_at=(now + ttl).isoformat())
    storage.publish_bytes(_encode(renewed), storage.path(LEASE_FILE))
    return renewed


def release(storage: LakeStorage, lease: Lease | str) -> bool:
    """Drop the lease if `lease` (or a run id) holds it; returns whether it did."""
    if not _holds(read(storage), lease):
        return False
    storage.delete(storage.path(LEASE_FILE))
    return True


class Heartbeat:
    """Renews a lease every `ttl / 4` from a daemon thread while the block runs.

    A renewal that finds the lease taken over stops the heartbeat and records it in `lost`; the run's next
    commit then fails its fence check. Transient storage errors are logged and retried at the next beat.
    """

    def __init__(self, storage: LakeStorage, lease: Lease, ttl: timedelta | None = None, *,
                 enabled: bool = True) -> None:
        self.storage, self.lease, self.enabled = storage, lease, enabled
        self.ttl = ttl or default_ttl()
        self.lost: LeaseLost | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="silake-lease-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 4):
            try:
                self.lease = renew(self.storage, self.lease, self.ttl)
            except LeaseLost as exc:
                self.lost = exc  # the run's next commit fails its fence check and says so
                log.debug("%s", exc)
                return
            except Exception as exc:  # a flaky store: try again at the next beat
                log.warning("could not renew the lease of %s: %s", self.storage.uri, exc)

    def __enter__(self) -> Heartbeat:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
