"""Rows of the `quarantine` table: what was rejected, where, and why."""

from __future__ import annotations

from silake.tario.members import Problem


def quarantine_row(source_uri: str, scope: str, problem: Problem, *, run_id: str | None,
                   sample_index: int | None = None, file_id: str | None = None) -> dict[str, object]:
    """One quarantine row; `scope` is 'sample', 'member', 'shard' or 'metadata_row'."""
    return {"shard_uri": source_uri, "scope": scope, "sample_index": sample_index,
            "member_name": problem.member_name, "file_id": file_id, "reason_code": problem.code,
            "reason": problem.reason, "run_id": run_id}
