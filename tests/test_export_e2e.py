"""`silake export` end to end: the sample release, ingested by the Beam pipeline, exported both ways."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from silake.export import export
from silake.query.connection import connect
from silake.schemas.tables import SAMPLE_TABLES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    from silake.ingest import run as run_pipeline
    from silake.sample import write_release

    root = tmp_path_factory.mktemp("e2e")
    write_release(root / "release", seed=0)
    summary, _ = run_pipeline([str(root / "release")], str(root / "lake"), workers=1)
    assert summary.files > 0
    return root


def _members(shard: str) -> dict[str, bytes]:
    with tarfile.open(shard) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}  # type: ignore[union-attr]


def test_webdataset_export_of_an_ingested_release(ingested, tmp_path):
    import webdataset as wds

    lake = str(ingested / "lake")
    where = "qa_pass and has_wav"
    res = export(lake, where, str(tmp_path / "wds"), shard_size=4_000_000)
    with connect(lake) as con:
        expected = sorted(r[0] for r in con.execute(
            "SELECT DISTINCT file_id FROM files JOIN file_qa USING (file_id, label, split) "
            f"WHERE {where}").fetchall())
        partners = dict(con.execute("SELECT file_id, interaction_key FROM files").fetchall())
    assert expected and sorted(s["key"] for s in res.manifest["samples"]) == expected
    cache: dict[str, dict[str, bytes]] = {}
    for s in res.manifest["samples"]:
        src = cache.setdefault(s["source"]["uri"], _members(s["source"]["uri"]))
        for ext, rec in s["members"].items():
            name = next(n for n in src if n.rsplit("/", 1)[-1] == f"{s['key']}.{ext}")
            assert hashlib.sha256(src[name]).hexdigest() == rec["sha256"]
    shard_of: dict[str, set[str]] = {}
    for s in res.manifest["samples"]:
        shard_of.setdefault(partners[s["key"]], set()).add(s["shard"])
    assert all(len(v) == 1 for v in shard_of.values())
    urls = sorted(str(p) for p in (tmp_path / "wds").glob("data/*/*.tar"))
    reader = wds.WebDataset(urls, shardshuffle=False)
    got = [(x["__key__"], hashlib.sha256(x["npz"]).hexdigest()) for x in reader]
    assert got == [(s["key"], s["members"]["npz"]["sha256"]) for s in res.manifest["samples"]]
    assert json.loads((tmp_path / "wds" / "manifest.json").read_text()) == res.manifest


def test_parquet_export_of_an_ingested_release(ingested, tmp_path):
    lake = str(ingested / "lake")
    where = "split = 'dev' or relationship = 'stranger'"
    res = export(lake, where, str(tmp_path / "pq"), format="parquet")
    with connect(lake) as con:
        keys = con.execute(
            "SELECT file_id, label, split FROM files WHERE " + where +
            " QUALIFY row_number() OVER (PARTITION BY file_id"
            " ORDER BY label, split, shard_uri, sample_index) = 1"
        ).fetchall()
        for table in SAMPLE_TABLES:
            want = con.execute(
                f"SELECT count(*) FROM {table} t JOIN (SELECT * FROM (VALUES " +
                ", ".join(f"('{f}', '{lb}', '{sp}')" for f, lb, sp in keys) +
                ") v(file_id, label, split)) k USING (file_id, label, split)"
            ).fetchone()[0]
            got = ds.dataset(str(tmp_path / "pq" / table), format="parquet", partitioning="hive").count_rows()
            assert got == want == res.manifest["tables"][table]["rows"], table
        no_movement = con.execute(
            "SELECT count(*) FROM files WHERE NOT has_movement AND (" + where + ")").fetchone()[0]
    assert {s["key"] for s in res.manifest["samples"]} == {k[0] for k in keys}
    assert no_movement > 0  # the selection has files without movement: null fixed-size-list rows in frames

    # every exported frames row, read back in full with pyarrow (each part alone, then as a dataset)
    parts = res.manifest["tables"]["frames"]["files"]
    whole = [pq.read_table(tmp_path / "pq" / p["path"]) for p in parts]
    assert [t.num_rows for t in whole] == [p["rows"] for p in parts]
    got = ds.dataset(str(tmp_path / "pq" / "frames"), format="parquet", partitioning="hive").to_table()
    # the data files stay plain hive-partitioned Parquet: pyarrow reads them without the catalog
    lake_frames = ds.dataset(f"{lake}/main/frames", format="parquet", partitioning="hive").to_table()
    selected = pa.array(sorted(f"{f}|{lb}|{sp}" for f, lb, sp in keys))
    lake_keys = pc.binary_join_element_wise(lake_frames["file_id"], lake_frames["label"], lake_frames["split"],
                                            "|")
    want = lake_frames.filter(pc.is_in(lake_keys, selected)).select(got.column_names)
    order = [("label", "ascending"), ("split", "ascending"), ("file_id", "ascending"),
             ("frame_idx", "ascending")]
    got, want = got.sort_by(order), want.sort_by(order)
    assert got.num_rows == want.num_rows == res.manifest["tables"]["frames"]["rows"]
    assert got.schema.equals(want.schema)
    assert got.equals(want)  # values equal to the lake's, nulls included
    assert got["movement_is_valid"].null_count > 0


def test_hugging_face_datasets_loads_a_whole_export_of_the_sample_release(ingested, tmp_path, offline_hf):
    """The card's json types are the union over every json member of the release (defects included), and
    the npz arrays come back with the npz's shapes and values; no torch in this environment."""
    import importlib.util
    import io

    import numpy as np

    datasets = offline_hf
    assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("torchcodec") is None
    res = export(str(ingested / "lake"), "true", str(tmp_path / "wds"))
    d = datasets.load_dataset(str(tmp_path / "wds"), cache_dir=str(tmp_path / "cache"))
    by_split: dict[str, list[str]] = {}
    for s in res.manifest["samples"]:
        by_split.setdefault(s["split"], []).append(s["key"])
    assert {name: sorted(split["__key__"]) for name, split in d.items()} == \
        {name: sorted(keys) for name, keys in by_split.items()}
    rows = {(name, row["__key__"]): row for name, split in d.items() for row in split}
    cache: dict[str, dict[str, bytes]] = {}
    for s in res.manifest["samples"]:
        row = rows[(s["split"], s["key"])]
        src = cache.setdefault(s["source"]["uri"], _members(s["source"]["uri"]))
        member = {n.rsplit("/", 1)[-1]: data for n, data in src.items()}
        assert _same(row["json"], json.loads(member[f"{s['key']}.json"]))
        npz = np.load(io.BytesIO(member[f"{s['key']}.npz"]))
        for key in npz.files:
            if npz[key].shape[0] == 0:  # T = 0 (the release's empty bundles): an empty list, no inner shape
                assert row["npz"][key] == []
                continue
            value = np.asarray(row["npz"][key], dtype=npz[key].dtype)
            assert value.shape == npz[key].shape
            np.testing.assert_array_equal(value, npz[key])
        for ext in ("wav", "mp4"):
            assert row[ext] == member.get(f"{s['key']}.{ext}")


def _same(got: object, want: object) -> bool:
    """A decoded json equals the source; keys another member has and this one lacks come back as None."""
    if isinstance(want, dict):
        return isinstance(got, dict) and set(want) <= set(got) and \
            all(_same(got[k], v) for k, v in want.items()) and all(got[k] is None for k in set(got) - set(want))
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, got, want))
    return got == want
