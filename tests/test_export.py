"""`silake export` on a small real lake (tests/export_lake.py): byte-exact members, pairs, shard cuts, readers
(webdataset, Hugging Face datasets), Parquet, reproducibility, every bad input, and an S3 target."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import socket
import tarfile
import urllib.request
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from export_lake import FID, MOVEMENT_COLUMNS, NO_MOVEMENT, NO_WAV, SHARDS, build, source_members
from lake_builder import read_table

from silake.cli import main
from silake.export import export
from silake.export.layout import parse_members, plan_sample
from silake.export.parquet_export import export_schema
from silake.export.selection import referenced_names
from silake.export.tar_writer import TarStreamWriter, archive_size, member_size
from silake.lake.shard_writer import NULLABLE_FSL_TABLES
from silake.schemas.tables import SAMPLE_TABLES, TABLES

ALL = ("json", "npz", "wav", "mp4")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return build(tmp_path_factory.mktemp("export-lake"))


@pytest.fixture(scope="module")
def sources(lake) -> dict[str, bytes]:
    """Every source member by name ({file_id}.{ext}), extracted independently with tarfile."""
    out: dict[str, bytes] = {}
    for uri in lake.shard_uris.values():
        for name, data in source_members(uri).items():
            out.setdefault(name, data)  # a duplicate's copies are identical
    return out


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["export", "--no-progress", *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def shard_paths(out: Path) -> list[Path]:
    """The output shards in export order (data/<label>/<split>-NNNNN-of-NNNNN.tar)."""
    return sorted(out.glob("data/*/*.tar"))


def read_tars(out: Path) -> list[tuple[str, list[tarfile.TarInfo], dict[str, bytes]]]:
    result = []
    for path in shard_paths(out):
        with tarfile.open(path) as tar:
            infos = tar.getmembers()
            data = {m.name: tar.extractfile(m).read() for m in infos}  # type: ignore[union-attr]
        result.append((path.relative_to(out).as_posix(), infos, data))
    return result


# -- WebDataset: bytes ---------------------------------------------------------------------------------------
def test_every_exported_member_is_byte_identical_to_its_source(lake, sources, tmp_path, capsys):
    out = tmp_path / "wds"
    rc, stdout, err = cli(capsys, "--lake", str(lake.lake), "--where", "true", "--out", str(out),
                          "--shard-size", "60000")
    assert rc == 0, err
    assert "exported 7 samples (27 members" in stdout and "wav: 1" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["key"] for s in manifest["samples"]] == sorted(FID.values())  # label, split, interaction, id
    compared = 0
    for shard_name, infos, data in read_tars(out):
        names = [m.name for m in infos]
        # members of a sample are consecutive, in --members order, with deterministic headers
        keys = [n.split(".")[0] for n in names]
        assert keys == sorted(keys, key=keys.index) and len(set(keys)) == len(dict.fromkeys(keys))
        for m in infos:
            assert (m.mtime, m.mode, m.uid, m.gid, m.uname, m.gname) == (0, 0o444, 0, 0, "", "")
            assert m.isreg()
            assert data[m.name] == sources[m.name]
            compared += 1
        for s in (s for s in manifest["samples"] if s["shard"] == shard_name):
            in_order = [f"{s['key']}.{e}" for e in manifest["options"]["members"] if e in s["members"]]
            assert in_order == [n for n in names if n.startswith(s["key"])]
            for ext, rec in s["members"].items():
                src = sources[f"{s['key']}.{ext}"]
                assert rec["sha256"] == sha(src) and rec["size"] == len(src)
                with open(s["source"]["uri"], "rb") as fh:  # the recorded offset points at the member
                    fh.seek(rec["source_offset"])
                    assert fh.read(rec["size"]) == src
                with open(out / shard_name, "rb") as fh:  # so does the output offset
                    fh.seek(rec["offset"])
                    assert sha(fh.read(rec["size"])) == rec["sha256"]
    assert compared == 27 == manifest["counts"]["members"]
    c1 = next(s for s in manifest["samples"] if s["key"] == FID["C1"])
    assert c1["absent"] == ["wav"] and manifest["counts"]["members_absent"] == {"wav": 1}
    for shard in manifest["shards"]:
        assert shard["sha256"] == sha((out / shard["name"]).read_bytes())
        assert shard["bytes"] == (out / shard["name"]).stat().st_size
    assert [s["name"] for s in manifest["shards"]] == [p.relative_to(out).as_posix() for p in shard_paths(out)]
    assert manifest["counts"]["bytes"] == sum(p.stat().st_size for p in shard_paths(out))
    assert manifest["lake"]["run_ids"] == manifest["lake"]["ingest_run_ids"] == ["20260101T000000Z-test0001"]
    assert manifest["predicate"] == "true"
    assert not list(out.glob(".silake-export-*")), "staging leftovers"


def test_members_option_selects_members_in_the_given_order(lake, sources, tmp_path):
    out = tmp_path / "wds"
    res = export(str(lake.lake), f"file_id = '{FID['C1']}' or file_id = '{FID['A1']}'", str(out),
                 members="wav,json")
    (_, infos, data), = read_tars(out)
    assert [m.name for m in infos] == [f"{FID['A1']}.wav", f"{FID['A1']}.json", f"{FID['C1']}.json"]
    assert all(data[n] == sources[n] for n in data)
    assert res.manifest["options"]["members"] == ["wav", "json"]
    assert res.manifest["counts"]["members_absent"] == {"wav": 1}


def test_tar_writer_writes_what_tarfile_writes(tmp_path):
    rng = np.random.default_rng(1)
    payloads = [("a.json", rng.bytes(0)), ("a.npz", rng.bytes(511)), ("b.mp4", rng.bytes(512)),
                ("b.wav", rng.bytes(70_001))]
    buf = io.BytesIO()
    w = TarStreamWriter(buf)
    for name, data in payloads:
        w.add(name, len(data), iter([data[:100], data[100:]]))
    nbytes, digest = w.close()
    ref = io.BytesIO()
    with tarfile.open(fileobj=ref, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in payloads:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uname, info.gname = len(data), 0, 0o444, "", ""
            tar.addfile(info, io.BytesIO(data))
    assert buf.getvalue() == ref.getvalue()
    assert nbytes == len(ref.getvalue()) == archive_size(sum(member_size(n, len(d)) for n, d in payloads))
    assert digest == sha(ref.getvalue())


# -- WebDataset: pairs and shard cuts ------------------------------------------------------------------------
def _shard_of(manifest: dict) -> dict[str, str]:
    return {s["key"]: s["shard"] for s in manifest["samples"]}


def test_pairs_stay_together_and_shards_are_cut_near_the_size(lake, tmp_path):
    shard_size = 40_000
    res = export(str(lake.lake), "true", str(tmp_path / "kept"), shard_size=shard_size)
    m = res.manifest
    where = _shard_of(m)
    by_interaction: dict[str, set[str]] = {}
    for s in m["samples"]:
        by_interaction.setdefault(s["interaction_key"], set()).add(where[s["key"]])
    assert all(len(v) == 1 for v in by_interaction.values())  # partners from different sources, one shard
    assert m["counts"]["interactions_across_shards"] == 0
    assert len(m["shards"]) >= 3
    sizes = {s["name"]: s["bytes"] for s in m["shards"]}
    for shard in m["shards"]:
        interactions = {s["interaction_key"] for s in m["samples"] if s["shard"] == shard["name"]}
        # over the target only when one interaction alone is bigger than it
        assert shard["bytes"] <= shard_size or len(interactions) == 1
    # greedy: a shard plus the next interaction would not have fit
    names = [s["name"] for s in m["shards"]]
    for a, b in itertools.pairwise(names):
        first = next(s for s in m["samples"] if s["shard"] == b)
        nxt = sum(_tar_bytes(s) for s in m["samples"] if s["interaction_key"] == first["interaction_key"])
        assert sizes[a] - 1024 - 10240 + nxt > shard_size - 10240 or sizes[a] > shard_size


def _tar_bytes(sample: dict) -> int:
    return sum(member_size(f"{sample['key']}.{e}", r["size"]) for e, r in sample["members"].items())


def test_no_keep_pairs_may_separate_partners(lake, tmp_path, sources):
    # room for A1 alone: with pairs kept A1+A2 share a shard, without they are cut apart
    a1 = sum(member_size(f"{FID['A1']}.{e}", len(sources[f"{FID['A1']}.{e}"])) for e in ALL)
    shard_size = archive_size(a1) + 512
    where = "interaction_key = 'V00_S0001_I00000001'"
    kept = export(str(lake.lake), where, str(tmp_path / "kept"), shard_size=shard_size).manifest
    split = export(str(lake.lake), where, str(tmp_path / "split"), shard_size=shard_size,
                   keep_pairs=False).manifest
    assert len(kept["shards"]) == 1 and kept["counts"]["interactions_across_shards"] == 0
    assert kept["shards"][0]["bytes"] > shard_size  # one pair alone is bigger than the target
    assert _shard_of(split) == {FID["A1"]: "data/improvised/dev-00000-of-00002.tar",
                                FID["A2"]: "data/improvised/dev-00001-of-00002.tar"}
    assert split["counts"]["interactions_across_shards"] == 1
    assert all(s["bytes"] <= shard_size for s in split["shards"])
    assert not split["options"]["keep_pairs"]


# -- WebDataset: readers -------------------------------------------------------------------------------------
def test_webdataset_library_reads_exactly_the_selection(lake, sources, tmp_path):
    import webdataset as wds

    out = tmp_path / "wds"
    res = export(str(lake.lake), "split = 'dev' and not no_partner", str(out), shard_size=50_000)
    expected = [FID[k] for k in ("A1", "A2", "B1", "B2")]  # C1 is flagged no_partner; D is 'test'
    assert [s["key"] for s in res.manifest["samples"]] == expected
    urls = [str(p) for p in shard_paths(out)]
    assert len(urls) >= 2
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))
    assert [s["__key__"] for s in samples] == expected
    for s in samples:
        assert {k for k in s if not k.startswith("__")} == set(ALL)
        for ext in ALL:
            assert s[ext] == sources[f"{s['__key__']}.{ext}"]


def _no_torch() -> None:
    """These tests prove the exports load in an environment without torch or torchcodec."""
    import importlib.util

    assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("torchcodec") is None


def _check_rows(rows, sources) -> None:
    """Every member of every row is what the source holds (npz arrays: same values, dtype and shape)."""
    for row in rows:
        key = row["__key__"]
        assert row["json"] == json.loads(sources[f"{key}.json"])
        assert row["mp4"] == sources[f"{key}.mp4"]
        assert row["wav"] == (None if key in {FID[n] for n in NO_WAV} else sources[f"{key}.wav"])
        src = np.load(io.BytesIO(sources[f"{key}.npz"]))
        for k, value in row["npz"].items():
            if k not in src.files:  # declared by the catalogue, absent from this file
                assert value is None
                continue
            np.testing.assert_array_equal(np.asarray(value, dtype=src[k].dtype), src[k])
            assert np.asarray(value).shape == src[k].shape
        assert set(src.files) <= set(row["npz"])


def test_hf_datasets_loads_the_export_directory_by_its_card(lake, sources, tmp_path, offline_hf):
    """`load_dataset(OUT)`: the card's configs and features - wav and mp4 as bytes, no torch needed."""
    datasets = offline_hf
    _no_torch()
    out = tmp_path / "wds"
    export(str(lake.lake), "true", str(out), shard_size=50_000)
    d = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert {name: split["__key__"] for name, split in d.items()} == {
        "dev": [FID[k] for k in ("A1", "A2", "B1", "B2", "C1")], "test": [FID["D1"], FID["D2"]]}
    assert d["dev"].features["wav"] == datasets.Value("binary")
    for split in d.values():
        _check_rows(split, sources)
    one = datasets.load_dataset(str(out), "naturalistic", cache_dir=str(tmp_path / "cache"))
    assert list(one) == ["test"] and one["test"]["__key__"] == [FID["D1"], FID["D2"]]


def test_hf_datasets_by_builder_name_never_reads_the_manifest(lake, sources, tmp_path, offline_hf):
    """`load_dataset("webdataset", data_dir=OUT)` finds the shards and their splits by their names alone. The
    builder then infers types: wav would become an Audio feature (torchcodec), so pass the card's features
    or export without wav."""
    datasets = offline_hf
    _no_torch()
    out = tmp_path / "wds"
    export(str(lake.lake), "true", str(out / "jn"), members="json,npz")
    d = datasets.load_dataset("webdataset", data_dir=str(out / "jn"), cache_dir=str(tmp_path / "cache"))
    assert {name: split["__key__"] for name, split in d.items()} == {
        "validation": [FID[k] for k in ("A1", "A2", "B1", "B2", "C1")], "test": [FID["D1"], FID["D2"]]}
    export(str(lake.lake), "true", str(out / "all"))
    features = datasets.load_dataset_builder(str(out / "all")).info.features
    d = datasets.load_dataset("webdataset", data_dir=str(out / "all"), features=features,
                              cache_dir=str(tmp_path / "cache"))
    assert sorted(k for split in d.values() for k in split["__key__"]) == sorted(FID.values())
    for split in d.values():
        _check_rows(split, sources)


def test_the_card_declares_every_column_and_names_no_manifest(lake, tmp_path):
    import yaml

    out = tmp_path / "wds"
    export(str(lake.lake), "true", str(out), members="npz,wav")
    text = (out / "README.md").read_text()
    header = yaml.safe_load(text.split("---\n")[1])
    assert [c["config_name"] for c in header["configs"]] == ["default", "improvised", "naturalistic"]
    paths = [f["path"] for c in header["configs"] for f in c["data_files"]]
    assert paths == ["data/*/dev-*.tar", "data/*/test-*.tar", "data/improvised/dev-*.tar",
                     "data/naturalistic/test-*.tar"]
    for info in header["dataset_info"]:
        names = [f["name"] for f in info["features"]]
        assert names == ["npz", "wav", "__key__", "__url__"]
        assert info["features"][1] == {"name": "wav", "dtype": "binary"}
        body_pose = next(f for f in info["features"][0]["struct"] if f["name"] == "smplh:body_pose")
        assert body_pose == {"name": "smplh:body_pose", "list": {"list": {"list": "float32"}}}
    assert "*id0" not in text and "&id0" not in text  # no YAML aliases


# -- Parquet -------------------------------------------------------------------------------------------------
def _lake_rows(lake_root: Path, table: str, file_ids: set[str]) -> pa.Table:
    t = read_table(lake_root, table)
    t = t.filter(pa.compute.is_in(t["file_id"], pa.array(sorted(file_ids))))
    return t


def _sorted_rows(t: pa.Table) -> list[dict]:
    rows = t.to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _duckdb_schema(paths: list[Path]) -> list[tuple[str, str]]:
    """(column, DuckDB type) of Parquet files as DuckDB reads them (label/split from the path left out)."""
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    rows = duckdb.connect().execute(f"DESCRIBE SELECT * FROM read_parquet({files}, hive_partitioning = false)")
    return [(r[0], r[1]) for r in rows.fetchall()]


def test_parquet_export_has_exactly_the_selected_rows_with_the_same_partitioning(lake, tmp_path, capsys):
    out = tmp_path / "pq"
    where = "label = 'naturalistic' or file_id = 'V00_S0001_I00000001_P0002' or vendor_id = '01'"
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", where, "--out", str(out),
                     "--format", "parquet")
    assert rc == 0, err
    selected = {FID["A2"], FID["C1"], FID["D1"], FID["D2"]}
    manifest = json.loads((out / "manifest.json").read_text())
    assert {s["key"] for s in manifest["samples"]} == selected
    assert sorted(os.listdir(out)) == sorted([*SAMPLE_TABLES, "README.md", "manifest.json"])
    for table in SAMPLE_TABLES:
        parts = sorted(p.relative_to(out).as_posix() for p in (out / table).rglob("*.parquet"))
        assert parts == [f"{table}/label=improvised/split=dev/part-000000.parquet",
                         f"{table}/label=naturalistic/split=test/part-000000.parquet"]
        got = ds.dataset(str(out / table), format="parquet", partitioning="hive").to_table()
        want = _lake_rows(lake.lake, table, selected)
        assert got.num_rows == want.num_rows == manifest["tables"][table]["rows"]
        assert _sorted_rows(got) == _sorted_rows(want.select(got.column_names))
        lake_files = sorted((lake.lake / "main" / table).rglob("*.parquet"))
        for part in parts:  # each file: the lake's data file columns, then label and split (as in the path)
            if table in NULLABLE_FSL_TABLES:  # no stored Arrow schema, like the lake's: as DuckDB sees it
                assert _duckdb_schema([out / part]) == [*_duckdb_schema(lake_files), ("label", "VARCHAR"),
                                                        ("split", "VARCHAR")]
                assert _duckdb_schema([out / part])[:6] == [(c, "VARCHAR") for c in TABLES[table].schema.names[:6]]
            else:
                assert pq.read_schema(out / part).remove_metadata().equals(export_schema(table))
            in_file = pq.read_table(out / part, columns=["label", "split"]).to_pylist()
            assert {(r["label"], r["split"]) for r in in_file} <= {tuple(x.split("=")[1] for x in part.split("/")[1:3])}
        for f in manifest["tables"][table]["files"]:
            assert f["sha256"] == sha((out / f["path"]).read_bytes())
    # rows in (interaction_key, file_id, index) order
    frames = pq.read_table(out / "frames/label=improvised/split=dev/part-000000.parquet")
    keys = list(zip(frames["file_id"].to_pylist(), frames["frame_idx"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    # an empty partition still has a file: C1 has no VAD rows
    vad = pq.read_table(out / "vad_segments/label=improvised/split=dev/part-000000.parquet")
    assert set(vad["file_id"].to_pylist()) == {FID["A2"]}
    # the export reads like the lake
    con = duckdb.connect()
    frames_glob = f"{out}/frames/*/*/*.parquet"
    n = con.execute(f"SELECT count(*) FROM read_parquet('{frames_glob}', hive_partitioning = true) "
                    "WHERE split = 'test'").fetchone()[0]
    assert n == 8


def test_hf_datasets_loads_a_parquet_export_table_by_table(lake, tmp_path, offline_hf):
    datasets = offline_hf
    _no_torch()
    out = tmp_path / "pq"
    export(str(lake.lake), "true", str(out), format="parquet")
    files = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))  # the default config: files
    assert {name: sorted(zip(split["file_id"], split["label"], split["split"], strict=True))
            for name, split in files.items()} == {
        "dev": sorted((FID[k], "improvised", "dev") for k in ("A1", "A2", "B1", "B2", "C1")),
        "test": [(FID["D1"], "naturalistic", "test"), (FID["D2"], "naturalistic", "test")]}
    frames = datasets.load_dataset(str(out), "frames", cache_dir=str(tmp_path / "cache"))
    want = _lake_rows(lake.lake, "frames", set(FID.values()))
    assert sum(split.num_rows for split in frames.values()) == want.num_rows == 28
    assert frames["test"].unique("file_id") == [FID["D1"], FID["D2"]]


def test_parquet_frames_without_movement_read_back_with_pyarrow(lake, tmp_path):
    """Null movement rows (every vendor but 00) next to filled ones: pyarrow < 26 cannot read such fixed-size
    lists through a stored Arrow schema (apache/arrow#35692), so the export writes frames like the lake does."""
    out = tmp_path / "pq"
    res = export(str(lake.lake), "true", str(out), format="parquet")
    parts = [out / f["path"] for f in res.manifest["tables"]["frames"]["files"]]
    assert [p.relative_to(out).as_posix() for p in parts] == [
        "frames/label=improvised/split=dev/part-000000.parquet",
        "frames/label=naturalistic/split=test/part-000000.parquet",
    ]
    want = _lake_rows(lake.lake, "frames", set(FID.values()))
    whole = [pq.read_table(p) for p in parts]  # each part on its own, every row and column
    assert [t.num_rows for t in whole] == [20, 8]
    got = ds.dataset(str(out / "frames"), format="parquet", partitioning="hive").to_table()
    assert got.num_rows == want.num_rows == 28
    assert _sorted_rows(got) == _sorted_rows(want.select(got.column_names))
    assert _sorted_rows(pa.concat_tables(whole)) == _sorted_rows(want.select(whole[0].column_names))
    for row in got.to_pylist():
        values = [row[c] for c in MOVEMENT_COLUMNS]
        if row["file_id"] in {FID[n] for n in NO_MOVEMENT}:
            assert values == [None] * len(MOVEMENT_COLUMNS)
        else:
            assert None not in values and len(row["movement_frame_latent"]) == 64
    assert sum(r["movement_is_valid"] is None for r in got.to_pylist()) == 4 * len(NO_MOVEMENT) == 12
    lake_meta = pq.read_metadata(next((lake.lake / "main" / "frames").rglob("*.parquet"))).metadata or {}
    for p in parts:  # the lake's own writer options: no stored Arrow schema for frames
        assert set(pq.read_metadata(p).metadata or {}) == set(lake_meta)
        assert b"ARROW:schema" not in (pq.read_metadata(p).metadata or {})


def test_parquet_parts_roll_at_the_part_size(lake, tmp_path, monkeypatch):
    import silake.export.parquet_export as pe

    monkeypatch.setattr(pe, "ROW_GROUP_BYTES", 1)  # a row group per batch ...
    monkeypatch.setattr(pe, "batch_rows", lambda schema: 3)  # ... of 3 rows, whatever DuckDB hands out
    res = export(str(lake.lake), "split = 'dev'", str(tmp_path / "pq"), format="parquet", shard_size=1)
    parts = res.manifest["tables"]["frames"]["files"]  # 5 files x 4 frames, a part per row group
    assert [p["path"].rsplit("/", 1)[1] for p in parts] == [f"part-{i:06d}.parquet" for i in range(7)]
    assert [p["rows"] for p in parts] == [3, 3, 3, 3, 3, 3, 2]
    rows = pa.concat_tables(pq.read_table(tmp_path / "pq" / p["path"]) for p in parts)
    keys = list(zip(rows["interaction_key"].to_pylist(), rows["file_id"].to_pylist(),
                    rows["frame_idx"].to_pylist(), strict=True))
    assert keys == sorted(keys) and len(keys) == 20


# -- reproducibility -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_same_predicate_twice_gives_byte_identical_output(lake, tmp_path, fmt):
    where = "split = 'dev' or participant_id = '0007'"
    export(str(lake.lake), where, str(tmp_path / "one"), format=fmt, shard_size=45_000, jobs=4)
    export(str(lake.lake), where, str(tmp_path / "two"), format=fmt, shard_size=45_000, jobs=1)
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert one == two
    assert "manifest.json" in one and len(one) > 2
    assert b"20" not in json.loads(one["manifest.json"])["predicate"].encode()  # no timestamp sneaks in
    manifest = json.loads(one["manifest.json"])
    assert one["manifest.json"].decode() == json.dumps(manifest, sort_keys=True, indent=2,
                                                       ensure_ascii=False) + "\n"


def test_duplicate_file_ids_are_exported_once(tmp_path):
    tl = build(tmp_path / "dup", duplicate=True)
    res = export(str(tl.lake), "true", str(tmp_path / "out"))
    keys = [s["key"] for s in res.manifest["samples"]]
    assert len(keys) == len(set(keys)) == 7
    d1 = next(s for s in res.manifest["samples"] if s["key"] == FID["D1"])
    assert (d1["label"], d1["split"]) == ("improvised", "dev")  # first by (label, split, shard, index)
    skipped = res.manifest["selection"]["duplicates_skipped"]
    assert [(s["file_id"], s["label"], s["split"]) for s in skipped] == [(FID["D1"], "naturalistic", "test")]


# -- bad input -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("where", "message"), [
    ("label = 'improvised' and", "Parser Error"),
    ("split = 'dev'; drop view files", "Parser Error"),
    ("true) union (select 1", "Parser Error"),
    ("no_such_column > 3", 'Binder Error: Referenced column "no_such_column" not found'),
    ("qa_pas", 'Candidate bindings: "qa_pass"'),
    ("count(*) > 1", "WHERE clause cannot contain aggregates"),
    ("split = 7", "Conversion Error"),
    ("", "empty predicate"),
])
def test_a_bad_predicate_fails_before_any_output(lake, tmp_path, capsys, where, message):
    out = tmp_path / "out"
    rc, stdout, err = cli(capsys, "--lake", str(lake.lake), "--where", where, "--out", str(out))
    assert rc == 2
    assert message in err and stdout == ""
    assert not out.exists()


def test_unreachable_and_changed_sources_are_listed_before_anything_is_written(tmp_path, capsys):
    tl = build(tmp_path / "lake")
    missing = tl.shard_uris["improvised/dev/0000/0001.tar"]
    changed = tl.shard_uris["naturalistic/test/0000/0000.tar"]
    os.rename(missing, missing + ".gone")
    with open(changed, "ab") as fh:
        fh.write(b"\0" * 512)
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "--lake", str(tl.lake), "--where", "true", "--out", str(out))
    assert rc == 3
    assert "2 source shard(s)" in err
    assert f"unreachable: {missing}" in err
    assert f"changed since ingest: {changed}" in err
    assert not out.exists()
    # files of the intact shard alone export fine
    rc, _, err = cli(capsys, "--lake", str(tl.lake), "--where", "shard_uri like '%/dev/0000/0000.tar'",
                     "--out", str(out))
    assert rc == 0, err


def test_a_source_rewritten_in_place_fails_the_copy_and_leaves_no_output(tmp_path, capsys):
    tl = build(tmp_path / "lake")
    path = tl.shard_uris["improvised/dev/0000/0001.tar"]
    st = os.stat(path)
    with tarfile.open(path) as tar:  # corrupt the second sample's json header, same size and mtime
        header = next(m for m in tar.getmembers() if m.name == f"{FID['B1']}.json").offset
    with open(path, "r+b") as fh:
        fh.seek(header)
        fh.write(b"X" * 20)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "--lake", str(tl.lake), "--where", "true", "--out", str(out),
                     "--shard-size", "30000")
    assert rc == 1
    assert "source changed since ingest" in err and path in err
    assert not out.exists()


def test_existing_output_is_refused_without_overwrite_and_replaced_with_it(lake, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--lake", str(lake.lake), "--out", str(out)]
    assert cli(capsys, *args, "--where", "true", "--shard-size", "30000")[0] == 0
    before = tree(out)
    rc, _, err = cli(capsys, *args, "--where", "split = 'dev'")
    assert rc == 2 and "is not empty" in err and "--overwrite" in err
    assert tree(out) == before
    rc, _, err = cli(capsys, *args, "--where", "split = 'dev'", "--overwrite")
    assert rc == 0, err
    after = tree(out)
    assert len([n for n in after if n.endswith(".tar")]) < len([n for n in before if n.endswith(".tar")])
    assert json.loads(after["manifest.json"])["predicate"] == "split = 'dev'"
    # --overwrite never deletes what an export did not write
    (out / "notes.txt").write_text("mine")
    rc, _, err = cli(capsys, *args, "--where", "true", "--overwrite")
    assert rc == 2 and "notes.txt" in err
    assert (out / "notes.txt").read_text() == "mine"


def test_output_inside_the_lake_is_refused(lake, tmp_path, capsys):
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", "true", "--out", str(lake.lake / "export"))
    assert rc == 2 and "overlap" in err
    assert not (lake.lake / "export").exists()


def test_empty_selection_writes_nothing_and_says_so(lake, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", "n_frames > 1000", "--out", str(out))
    assert rc == 4
    assert "selects no file (0 of 7 files" in err and "nothing written" in err
    assert not out.exists()
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", f"file_id = '{FID['C1']}'",
                     "--out", str(out), "--members", "wav")
    assert rc == 4 and "none of the 1 selected files has any of the members wav" in err
    assert not out.exists()


@pytest.mark.parametrize("members", ["json,txt", "", "json,json"])
def test_bad_members_are_refused(lake, tmp_path, capsys, members):
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", "true", "--out", str(tmp_path / "o"),
                     "--members", members)
    assert rc == 2 and "--members" in err


def test_missing_lake_is_refused(tmp_path, capsys):
    rc, _, err = cli(capsys, "--lake", str(tmp_path / "nope"), "--where", "true",
                     "--out", str(tmp_path / "o"))
    assert rc == 2 and "no lake" in err


def test_helpers():
    assert parse_members(" JSON , mp4 ") == ("json", "mp4")
    assert {"qa_pass", "split"} <= referenced_names("\"qa_pass\" and split = 'x'")
    f = type("F", (), {"file_id": "k", "members": {"json": (512, 3), "wav": None}})()
    s = plan_sample(f, ("json", "wav"))  # type: ignore[arg-type]
    assert [m.name for m in s.members] == ["k.json"] and s.absent == ("wav",)


def test_member_names_and_sql_quoting_come_from_one_place():
    import silake.export.parquet_export as pe
    import silake.export.selection as sel
    from silake.export.errors import BadInput
    from silake.lake import ddl, session
    from silake.schemas.release import MEMBER_EXTENSIONS

    assert parse_members(",".join(MEMBER_EXTENSIONS)) == MEMBER_EXTENSIONS == ("json", "mp4", "npz", "wav")
    with pytest.raises(BadInput) as err:
        parse_members("json,txt")
    assert str(err.value) == "--members takes a comma-separated subset of json,mp4,npz,wav; got 'json,txt'"
    assert pe.sql_identifier is sel.sql_identifier is ddl.quote and pe.sql_literal is session.sql_literal
    assert sel.sql_identifier('we"ird') == '"we""ird"'
    con = duckdb.connect()
    con.execute('CREATE TABLE "we""ird" ("a""b" INTEGER, c VARCHAR)')
    assert sel.columns_of(con, 'we"ird') == ['a"b', "c"]


def test_progress_bar_counts_bytes_copied(lake, tmp_path, capsys):
    res = export(str(lake.lake), "split = 'test'", str(tmp_path / "o"), progress=True)
    err = capsys.readouterr().err
    total = res.manifest["counts"]["payload_bytes"]
    assert "export" in err and "100%" in err
    assert total == sum(r["size"] for s in res.manifest["samples"] for r in s["members"].values())


# -- object store target -------------------------------------------------------------------------------------
@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    def reset() -> None:  # moto's state is process-global: start clean, leave nothing behind
        req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    reset()
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    fs.mkdir("exports")
    try:
        yield fs
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        reset()
        server.stop()


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_export_to_an_s3_target(lake, tmp_path, s3, capsys, fmt):
    where = "split = 'dev'"
    rc, stdout, err = cli(capsys, "--lake", str(lake.lake), "--where", where, "--out", "s3://exports/run1",
                          "--format", fmt, "--shard-size", "40000")
    assert rc == 0, err
    assert "s3://exports/run1" in stdout
    export(str(lake.lake), where, str(tmp_path / "local"), format=fmt, shard_size=40_000)
    local = tree(tmp_path / "local")
    s3.invalidate_cache()
    remote = {p.removeprefix("exports/run1/"): s3.cat_file(p) for p in sorted(s3.find("exports/run1"))}
    assert remote == local  # same bytes as a local export, manifest included; no staging leftovers
    # existing output refused, then replaced with --overwrite
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", "true", "--out", "s3://exports/run1",
                     "--format", fmt)
    assert rc == 2 and "not empty" in err
    rc, _, err = cli(capsys, "--lake", str(lake.lake), "--where", "split = 'test'", "--out",
                     "s3://exports/run1", "--format", fmt, "--overwrite")
    assert rc == 0, err
    s3.invalidate_cache()
    manifest = json.loads(s3.cat_file("exports/run1/manifest.json"))
    assert manifest["predicate"] == "split = 'test'"
    if fmt == "webdataset":
        names = sorted(p.removeprefix("exports/run1/") for p in s3.find("exports/run1"))
        assert names == ["README.md", "data/naturalistic/test-00000-of-00001.tar", "manifest.json"]
        with tarfile.open(fileobj=io.BytesIO(
                s3.cat_file("exports/run1/data/naturalistic/test-00000-of-00001.tar"))) as tar:
            assert {m.name.split(".")[0] for m in tar.getmembers()} == {FID["D1"], FID["D2"]}


def test_shard_layout_of_the_test_lake():
    """The fixture's premise: partners of A and B live in different source shards."""
    where = {n: rel for rel, names in SHARDS.items() for n in names}
    assert where["A1"] != where["A2"] and where["B1"] != where["B2"]
