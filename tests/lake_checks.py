"""Checks on a lake that tests run from the outside: the invariants a reader relies on, and the files on disk
against the catalog."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from silake.query.connection import connect

SILAKE = str(Path(sys.executable).parent / "silake")
#: One statement, so one snapshot: every cross-table invariant a reader relies on.
INVARIANTS = """
SELECT
    (SELECT count(*) FROM files) AS files,
    (SELECT coalesce(sum(n_frames), 0) FROM files) AS n_frames, (SELECT count(*) FROM frames) AS frames,
    (SELECT coalesce(sum(n_words), 0) FROM files) AS n_words, (SELECT count(*) FROM transcript_words) AS words,
    (SELECT coalesce(sum(n_vad_segments), 0) FROM files) AS n_vad, (SELECT count(*) FROM vad_segments) AS vad,
    (SELECT coalesce(sum(n_transcript_segments), 0) FROM files) AS n_segments,
    (SELECT count(*) FROM transcript_segments) AS segments,
    (SELECT coalesce(sum(files_rows), 0) FROM ingest_shards) AS committed_files,
    (SELECT count(*) FROM ingest_shards) AS shards
"""


def observe(lake: Path) -> dict[str, int] | None:
    """The invariant counts of the lake as one snapshot shows it (None before the lake exists)."""
    if not (lake / "silake.json").exists():
        return None
    with connect(str(lake)) as con:
        rel = con.sql(INVARIANTS)
        return dict(zip(rel.columns, rel.fetchone(), strict=True))  # type: ignore[arg-type]


def assert_whole(counts: dict[str, int]) -> None:
    """A shard is visible entirely or not at all: every table agrees with the files rows."""
    assert counts["n_frames"] == counts["frames"], counts
    assert counts["n_words"] == counts["words"], counts
    assert counts["n_vad"] == counts["vad"], counts
    assert counts["n_segments"] == counts["segments"], counts
    assert counts["committed_files"] == counts["files"], counts


def assert_qa_in_step(lake: Path) -> None:
    """The QA findings the commits stored equal a full recomputation of the lake as it is."""
    with connect(str(lake)) as con:
        assert set(con.sql("FROM qa_flags").fetchall()) == set(con.sql("FROM qa_flags_live").fetchall())


def expected(truth) -> dict[str, int]:
    files = truth.files
    return {"files": len(files), "frames": sum(f.n_frames for f in files), "words": sum(f.n_words for f in files),
            "vad": sum(f.n_vad_segments for f in files), "shards": len(truth.shards)}


#: A failpoint that makes each in-process shard wait 0.4 s before its manifest: the demo's 11 small shards
#: would otherwise all be staged before the commit thread has stored the views and metadata tables, and
#: commit in one batch (tests that need a commit with shards still to do add it to SILAKE_FAILPOINTS).
SLOW_SHARDS = "shard.staged=1:sleep0.4"


def ingest_cmd(release: Path, lake: Path | str, *extra: str) -> list[str]:
    return [SILAKE, "ingest", str(release), "--lake", str(lake), "--no-progress", *extra]


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, "SILAKE_COMMIT_INTERVAL": "0.05", "SILAKE_COMMIT_WAIT": "0", **extra}


def referenced_files(lake: Path) -> set[str]:
    """Every data and delete file any snapshot of the catalog references (current or older)."""
    with connect(str(lake)) as con:
        rows = con.sql("SELECT path, path_is_relative, table_id FROM __ducklake_metadata_lake.ducklake_data_file "
                       "UNION ALL SELECT path, path_is_relative, table_id FROM "
                       "__ducklake_metadata_lake.ducklake_delete_file").fetchall()
        tables = dict(con.sql("SELECT table_id, table_name FROM __ducklake_metadata_lake.ducklake_table").fetchall())
    return {f"main/{tables[t]}/{p}" if rel else p for p, rel, t in rows}
