"""Pax shards (webdataset's TarWriter) and plain ustar shards, end to end: the same demo release in both header
forms ingests to the same lake facts, with an exact media index and the planted QA flags, and exports
byte-identical WebDataset shards (the export writes its own plain ustar headers, whatever the source's)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from silake.export import export
from silake.export.tar_writer import SourceMismatch, check_source_header
from silake.query.connection import connect
from silake.sample import ReleaseTruth, write_release
from silake.sources.reader import open_range_reader

pytestmark = pytest.mark.slow

FORMS = ("pax", "ustar")
MEMBERS = ("json", "npz", "wav", "mp4")
#: The bytes between a member's first header and its payload: pax header + its record block + ustar header.
HEADER_BYTES = {"pax": 3 * 512, "ustar": 512}


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, ReleaseTruth, Path]]:
    """The seed-0 demo release written in each header form, each ingested into its own lake."""
    from silake.ingest import run as run_pipeline

    out = {}
    for form in FORMS:
        root = tmp_path_factory.mktemp(form)
        truth = write_release(root / "release", seed=0, tar_format=form)
        summary, _ = run_pipeline([str(root / "release")], str(root / "lake"), workers=1)
        assert (summary.files, summary.quarantined_samples) == (38, 0)
        out[form] = (root / "release", truth, root / "lake")
    return out


def _tar_members(path: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (first header offset, payload offset, size), as tarfile reads the shard."""
    with tarfile.open(path) as tf:
        return {ti.name: (ti.offset, ti.offset_data, ti.size) for ti in tf}


@pytest.mark.parametrize("form", FORMS)
def test_the_media_index_points_at_every_payload(lakes, form: str) -> None:
    release, truth, lake = lakes[form]
    cols = ", ".join(f"{e}_offset, {e}_size" for e in MEMBERS)
    with connect(str(lake)) as con:
        rows = con.sql(f"SELECT label, split, file_id, shard_uri, sample_index, {cols} FROM files").fetchall()
        assert con.sql("SELECT count(*) FROM quarantine").fetchone() == (0,)
    got = {(label, split, fid): (Path(uri), index, dict(zip(MEMBERS, zip(rest[::2], rest[1::2], strict=True),
                                                             strict=True)))
           for label, split, fid, uri, index, *rest in rows}
    assert len(got) == len(truth.files) == 38
    shards = {s.path: _tar_members(release / s.path) for s in truth.shards}
    for f in truth.files:
        uri, index, index_of = got[f.key]
        assert (uri, index) == (release / f.shard, f.sample_index)
        for ext in MEMBERS:
            header, payload, size = shards[f.shard][f"{f.file_id}.{ext}"]
            assert index_of[ext] == (payload, size) == f.member(ext)
            assert payload - header == HEADER_BYTES[form]


@pytest.mark.parametrize("form", FORMS)
def test_qa_flags_are_the_planted_defects(lakes, form: str) -> None:
    _, truth, lake = lakes[form]
    with connect(str(lake)) as con:
        found = set(con.sql("SELECT label, split, file_id, flag FROM qa_flags").fetchall())
        variant = con.sql("SELECT detail FROM qa_flags WHERE flag = 'participant_id_variant' "
                          "AND file_id = 'V02_S0330_I00001931_P0341'").fetchall()
    assert found == {(*key, flag) for flag, keys in truth.defects.items() for key in keys}
    assert variant == [("vendor 02 uses ids 0341, 0341A for stem 0341",)]  # 0341A: participants.csv only


def test_both_forms_ingest_to_the_same_rows(lakes) -> None:
    def rows(lake: Path, sql: str) -> list[tuple]:
        with connect(str(lake)) as con:
            return con.sql(sql).fetchall()

    sql = ("SELECT * EXCLUDE (shard_uri, run_id, json_offset, npz_offset, wav_offset, mp4_offset) FROM files "
           "ORDER BY label, split, file_id")
    assert rows(lakes["pax"][2], sql) == rows(lakes["ustar"][2], sql)
    for table in ("prompts", "participants", "relationships", "filelist"):
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        assert rows(lakes["pax"][2], sql) == rows(lakes["ustar"][2], sql), table
    texts = rows(lakes["pax"][2], "SELECT participant_a_prompt_text FROM prompts ORDER BY row_index")
    assert [t for (t,) in texts] == [p.participant_a_prompt_text for p in lakes["pax"][1].prompts]
    assert sum("\r\n" in t for (t,) in texts) == 1111, "CRLF inside the quoted texts, kept byte for byte"


def test_exports_copy_payloads_and_write_plain_ustar_headers(lakes, tmp_path: Path) -> None:
    where = "split = 'dev' or vendor_id = '00'"
    written = {}
    for form in FORMS:
        release, truth, lake = lakes[form]
        res = export(str(lake), where, str(tmp_path / form), shard_size=3_000_000)
        shards = sorted((tmp_path / form / "data").glob("*/*.tar"))
        assert len(shards) > 1 and len(res.manifest["samples"]) == len(
            {f.file_id for f in truth.files if f.split == "dev" or f.vendor_id == "00"})
        for shard in shards:
            raw = shard.read_bytes()
            with tarfile.open(shard) as tf:
                for ti in tf:  # the export's own headers: plain ustar, mtime 0, no owner, read-only
                    assert ti.offset_data - ti.offset == 512 and ti.pax_headers == {}
                    assert (ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.mode) == (0, 0, 0, "", "", 0o444)
                    assert raw[ti.offset + 257:ti.offset + 265] == b"ustar\x0000"
        for s in res.manifest["samples"]:
            assert Path(s["source"]["uri"]).is_relative_to(release)
            with tarfile.open(s["source"]["uri"]) as src, tarfile.open(tmp_path / form / s["shard"]) as dst:
                for ext in s["members"]:
                    name = f"{s['key']}.{ext}"
                    assert dst.extractfile(name).read() == src.extractfile(name).read()  # type: ignore[union-attr]
        written[form] = {p.relative_to(tmp_path / form).as_posix(): p.read_bytes() for p in shards}
    assert written["pax"] == written["ustar"], "the same members, the same export bytes"


def test_the_source_header_check_reads_the_ustar_header_after_a_pax_header(lakes) -> None:
    release, truth, _ = lakes["pax"]
    f = truth.files[0]
    with open_range_reader(str(release / f.shard)) as reader:
        for ext, offset, size in f.members:
            check_source_header(reader, offset, size, f.file_id, ext)
        offset, size = f.member("npz")
        with pytest.raises(SourceMismatch, match="no valid tar header"):  # the block before: the pax record
            check_source_header(reader, offset - 512, size, f.file_id, "npz")
        with pytest.raises(SourceMismatch, match="names"):
            check_source_header(reader, offset, size, f.file_id, "wav")
        with pytest.raises(SourceMismatch, match="says"):
            check_source_header(reader, offset, size + 1, f.file_id, "npz")
    raw = (release / f.shard).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        first = tf.next()
    assert first is not None and raw[first.offset + 156:first.offset + 157] == b"x"
