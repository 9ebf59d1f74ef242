"""manifest.json as its typed model (`silake.schemas.export_manifest`): a real export's manifest parses and
serialises back to the same bytes, and a misspelled or unknown key is rejected."""

from __future__ import annotations

import json

import pydantic
import pytest
from export_lake import build

from silake.export import export
from silake.export.manifest import manifest_bytes, parquet_manifest
from silake.export.parquet_export import WrittenPart
from silake.export.selection import SelectedFile, Selection
from silake.schemas.export_manifest import ParquetManifest, WebDatasetManifest, parse_manifest


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, tuple[bytes, object]]:
    """manifest.json bytes and the ExportResult of one export of each kind."""
    tmp = tmp_path_factory.mktemp("export-manifest")
    lake = build(tmp / "lake", duplicate=True)
    out = {}
    for fmt in ("webdataset", "parquet"):
        res = export(str(lake.lake), "true", str(tmp / fmt), format=fmt, shard_size=60000)
        out[fmt] = ((tmp / fmt / "manifest.json").read_bytes(), res)
    return out


@pytest.mark.parametrize(("fmt", "model"), [("webdataset", WebDatasetManifest), ("parquet", ParquetManifest)])
def test_a_real_manifest_round_trips_through_the_model_byte_for_byte(exports, fmt, model):
    data, res = exports[fmt]
    parsed = parse_manifest(data)
    assert type(parsed) is model and parsed == res.model
    assert manifest_bytes(parsed) == data
    assert res.manifest == json.loads(data)


def _misspell(obj: dict, path: tuple, key: str, new: str) -> dict:
    for p in path:
        obj = obj[p]
    obj[new] = obj.pop(key)
    return obj


@pytest.mark.parametrize(("fmt", "path", "key", "new"), [
    ("webdataset", (), "predicate", "predicte"),
    ("webdataset", ("lake",), "snapshot", "snap_shot"),
    ("webdataset", ("samples", 0, "source"), "sample_index", "sample_idx"),
    ("webdataset", ("samples", 0, "members", "json"), "sha256", "sha"),
    ("webdataset", ("counts",), "members_absent", "absent"),
    ("parquet", ("tables", "frames", "files", 0), "rows", "row"),
    ("parquet", ("options",), "part_size", "shard_size"),
])
def test_an_unknown_or_misspelled_key_is_rejected(exports, fmt, path, key, new):
    doc = json.loads(exports[fmt][0])
    _misspell(doc, path, key, new)
    with pytest.raises(pydantic.ValidationError, match=new):
        parse_manifest(json.dumps(doc))


def test_an_extra_key_and_a_wrong_format_are_rejected(exports):
    doc = json.loads(exports["parquet"][0])
    with pytest.raises(pydantic.ValidationError, match="shards"):
        parse_manifest(json.dumps({**doc, "shards": []}))  # a webdataset key in a parquet manifest
    with pytest.raises(pydantic.ValidationError, match="format"):
        parse_manifest(json.dumps({**doc, "format": "silake-export/2"}))


def test_nulls_are_kept_as_nulls():
    f = SelectedFile("V00_S0001_I00000001_P0001", "improvised", "train", "V00_S0001_I00000001", "s3://b/0000.tar",
                     3, None, {})  # a files row without run_id
    selection = Selection("true", "/lake", [f], files_in_lake=1)  # no snapshot
    data = manifest_bytes(parquet_manifest(selection, 100, {"files": [WrittenPart("files/p.parquet", 1, 10, "ab")]}))
    doc = json.loads(data)
    assert doc["lake"]["snapshot"] is None and doc["samples"][0]["source"]["run_id"] is None
    assert manifest_bytes(parse_manifest(data)) == data
