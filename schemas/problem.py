"""Why something read is rejected: the reason a quarantine row records (no dependencies: every layer uses it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Why a sample, member, shard or metadata row is rejected: a stable code and a human-readable reason."""

    code: str
    reason: str
    member_name: str | None = None
