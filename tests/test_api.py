"""The Python API (`import silake`), as a notebook uses it: open, SQL, tables, npz-shaped arrays, snapshots,
exports, and clear errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import silake
from silake.lake.catalog import LakeError
from silake.schemas.catalogue import FEATURES


@pytest.fixture(scope="module")
def lake(ingested_lake):
    with silake.open(str(ingested_lake[0])) as opened:
        yield opened


def _npz(lake: silake.Lake, file_id: str) -> dict[str, np.ndarray]:
    """The file's npz member, read from its source shard at the offset the lake recorded."""
    uri, offset, size = lake.sql(f"SELECT shard_uri, npz_offset, npz_size FROM canonical_files "
                                 f"WHERE file_id = '{file_id}'").fetchone()
    with open(uri, "rb") as fh:
        fh.seek(offset)
        data = fh.read(size)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def test_importing_silake_is_cheap_and_the_api_is_typed() -> None:
    out = subprocess.run([sys.executable, "-c", "import silake, sys; print(sorted(m for m in ('duckdb', "
                          "'apache_beam', 'pyarrow', 'numpy') if m in sys.modules))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert (Path(silake.__file__).parent / "py.typed").is_file()


def test_sql_returns_a_duckdb_relation_for_pandas_arrow_and_polars(lake, ingested_lake) -> None:
    summary = ingested_lake[1]
    rel = lake.sql("SELECT label, count(*) AS n FROM files GROUP BY label ORDER BY label")
    assert rel.df()["n"].sum() == summary.files
    assert rel.to_arrow_table().column("label").to_pylist() == ["improvised", "naturalistic"]
    assert rel.arrow().read_all().num_rows == 2  # DuckDB 1.5: a RecordBatchReader (streams)
    assert rel.pl()["n"].sum() == summary.files
    assert lake.table("file_qa").filter("qa_pass").count("*").fetchone()[0] == \
        lake.sql("SELECT count(*) FROM file_qa WHERE qa_pass").fetchone()[0] > 0
    with pytest.raises(ValueError, match="returns no rows"):
        lake.sql("SET threads = 1")


def test_frames_are_the_npz_arrays_shapes_dtypes_and_values(lake) -> None:
    with_movement = lake.sql("SELECT file_id FROM canonical_files WHERE has_movement AND n_frames > 0 "
                             "ORDER BY file_id LIMIT 1").fetchone()[0]
    without = lake.sql("SELECT file_id FROM canonical_files WHERE NOT has_movement AND n_frames > 0 "
                       "ORDER BY file_id LIMIT 1").fetchone()[0]
    for file_id in (with_movement, without):
        arrays, npz = lake.frames(file_id), _npz(lake, file_id)
        assert set(arrays) == set(npz)  # every array the file has, movement ones only with movement
        for key, want in npz.items():
            got = arrays[key]
            assert got.shape == want.shape and got.dtype == want.dtype, key
            np.testing.assert_array_equal(got, want)
    body = lake.frames(with_movement, columns=["smplh:body_pose", "movement_emotion_valence"])
    assert list(body) == ["smplh:body_pose", "movement:emotion_valence"]
    assert body["smplh:body_pose"].shape[1:] == (21, 3) and body["movement:emotion_valence"].shape[1:] == (1,)
    assert len(FEATURES) == 24


def test_frames_of_a_file_the_release_lists_twice_needs_its_label_and_split(lake) -> None:
    dup, label, split = lake.sql("SELECT file_id, min(label), min(split) FROM files GROUP BY file_id "
                                 "HAVING count(*) > 1 ORDER BY file_id LIMIT 1").fetchone()
    with pytest.raises(ValueError, match="pass label= and split= to pick one"):
        lake.frames(dup)
    assert lake.frames(dup, ["smplh:is_valid"], label=label, split=split)["smplh:is_valid"].ndim == 1
    with pytest.raises(KeyError, match="no file 'V99_S0000_I00000000_P0000'"):
        lake.frames("V99_S0000_I00000000_P0000")
    with pytest.raises(KeyError, match="neither an npz key nor a frames column"):
        lake.frames(dup, ["nosuch:array"], label=label, split=split)


def test_snapshots_and_time_travel(lake) -> None:
    snaps = lake.snapshots()
    assert [s.id for s in snaps] == sorted(s.id for s in snaps) and snaps[-1].id == lake.snapshot
    committed = [s for s in snaps if s.shards]
    assert sum(s.shards for s in committed) == lake.sql("SELECT count(*) FROM ingest_shards").fetchone()[0]
    first = committed[0]
    with lake.at(first.id) as then:
        assert then.snapshot == first.id
        assert then.sql("SELECT count(*) FROM ingest_shards").fetchone()[0] == first.shards
    assert repr(lake) == f"silake.Lake({lake.root!r}, snapshot={lake.snapshot})"


def test_export_from_the_api_is_pinned_to_the_lakes_snapshot(lake, tmp_path) -> None:
    result = lake.export("split = 'dev'", str(tmp_path / "dev"), format="parquet")
    assert result.manifest["lake"]["snapshot"] == lake.snapshot
    assert result.samples == lake.sql("SELECT count(DISTINCT file_id) FROM files WHERE split = 'dev'").fetchone()[0]


def test_a_missing_lake_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(LakeError, match=r"no lake at .*nosuchlake"):
        silake.open(str(tmp_path / "nosuchlake"))
    from silake.query.connection import connect

    with pytest.raises(LakeError, match="no lake at"):
        connect(str(tmp_path / "nosuchlake"))
    assert not (tmp_path / "nosuchlake").exists()
