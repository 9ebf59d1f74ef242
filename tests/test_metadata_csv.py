"""Metadata CSVs: ids stay strings, 'Undisclosed' becomes null, bad rows are reported, never dropped."""

from __future__ import annotations

import gc

import pytest

from silake.metadata.csv_tables import parse_csv
from silake.metadata.join import MetadataIndex
from silake.schemas.ids import parse_file_id

PARTICIPANTS = (
    "extraversion_raw,agreeableness_raw,conscientiousness_raw,neuroticism_raw,openness_raw,vendor_id,participant_id\n"
    "3.25,4.0,3.5,2.75,4.5,00,0844A\n"
    "Undisclosed,Undisclosed,Undisclosed,Undisclosed,Undisclosed,00,0602\n"
    "2.0,2.0,2.0,2.0,2.0,03,0602\n"
    "x,2.0,2.0,2.0,2.0,03,0700\n"
)
RELATIONSHIPS = (
    "vendor_id,session_id,relationship,relationship_detail\n"
    "V03,1805,familiar,dating/spouse/romantic_partner\n"
    "V00,0809,stranger,stranger\n"
    "03,1806,stranger,stranger\n"
)
PROMPTS = (
    ",prompt_hash,prompt_id_unique,participant_a_prompt_text,participant_b_prompt_text,ipc_a,ipc_b,interaction_type\n"
    '0,00000582,p582,"Tell them about\nyour weekend.","Listen, then\n""react"".",,,ipc_conversation\n'
    "1,00000583,p583,a,b,dominant,warm,charades\n"
)

#: interactions.csv and filelist.csv as the release writes them: records end with LF while quoted texts hold
#: CRLF line breaks, leading/trailing spaces and non-ASCII; 4-letter IPC codes, ipc_b often empty; 0/1 flags.
RELEASE_PROMPTS = (
    b",prompt_hash,prompt_id_unique,participant_a_prompt_text,participant_b_prompt_text,ipc_a,ipc_b,"
    b"interaction_type\n"
    b'0,00000000,P0000_v3.4.fam_ANCP_XXXX," Meet at the caf\xc3\xa9.\r\n\r\nBe warm. ","Listen.\nThen ""ask"".",'
    b"ANCP,,ipc_conversation\n"
    b'1,00000001,P0001_v3.4.fam_CGST_AMCM,"Act it out.\r\nNo words.",Guess.,CGST,AMCM,charades\n'
)
RELEASE_FILELIST = (
    b"file_id,label,split,batch_idx,archive_idx,has_imitator_movement,has_annotation_1p,has_annotation_3p\n"
    b"V00_S0809_I00000582_P0947,improvised,train,0,0,1,0,1\n"
    b"V01_S0101_I00004410_P0715,naturalistic,test,0,3,0,1,1\n"
)


def test_participants_keep_ids_as_strings_and_null_undisclosed() -> None:
    t = parse_csv("participants", PARTICIPANTS, "mem://participants.csv")
    rows = t.table.to_pylist()
    assert [(r["vendor_id"], r["participant_id"], r["participant_stem"]) for r in rows] == [
        ("00", "0844A", "0844"), ("00", "0602", "0602"), ("03", "0602", "0602")]
    assert rows[0]["extraversion"] == 3.25 and rows[0]["personality_disclosed"] is True
    assert rows[1]["personality_disclosed"] is False
    assert [rows[1][c] for c in ("extraversion", "agreeableness", "conscientiousness", "neuroticism",
                                 "openness")] == [None] * 5
    assert len(t.problems) == 1
    assert t.problems[0].code == "csv_invalid_row" and "line 5" in t.problems[0].reason


def test_relationships_normalise_vendor_and_report_the_other_spelling() -> None:
    t = parse_csv("relationships", RELATIONSHIPS, "mem://relationships.csv")
    rows = t.table.to_pylist()
    assert [(r["vendor_id"], r["vendor_id_raw"], r["session_id"]) for r in rows] == [
        ("03", "V03", "1805"), ("00", "V00", "0809")]
    assert [p.member_name for p in t.problems] == ["line 4"]


def test_prompts_keep_multiline_quoted_text_and_null_empty_ipc() -> None:
    t = parse_csv("prompts", PROMPTS, "mem://interactions.csv")
    rows = t.table.to_pylist()
    assert rows[0]["participant_a_prompt_text"] == "Tell them about\nyour weekend."
    assert rows[0]["participant_b_prompt_text"] == 'Listen, then\n"react".'
    assert (rows[0]["ipc_a"], rows[0]["ipc_b"], rows[0]["row_index"]) == (None, None, 0)
    assert (rows[1]["prompt_hash"], rows[1]["ipc_a"]) == ("00000583", "dominant")
    assert t.problems == []


def test_the_release_forms_are_read_byte_for_byte(tmp_path) -> None:
    from silake.metadata.load import load_metadata

    (tmp_path / "interactions.csv").write_bytes(RELEASE_PROMPTS)
    (tmp_path / "filelist.csv").write_bytes(RELEASE_FILELIST)
    load = load_metadata({"prompts": str(tmp_path / "interactions.csv"), "filelist": str(tmp_path / "filelist.csv")})
    assert load.rejected_rows == 0
    prompts = load.tables["prompts"].table.to_pylist()
    assert [(r["row_index"], r["prompt_hash"], r["prompt_id_unique"], r["participant_a_prompt_text"],
             r["participant_b_prompt_text"], r["ipc_a"], r["ipc_b"], r["interaction_type"]) for r in prompts] == [
        (0, "00000000", "P0000_v3.4.fam_ANCP_XXXX", " Meet at the café.\r\n\r\nBe warm. ", 'Listen.\nThen "ask".',
         "ANCP", None, "ipc_conversation"),
        (1, "00000001", "P0001_v3.4.fam_CGST_AMCM", "Act it out.\r\nNo words.", "Guess.", "CGST", "AMCM",
         "charades")]
    files = load.tables["filelist"].table.to_pylist()
    assert [(r["file_id"], r["has_imitator_movement"], r["has_annotation_1p"], r["has_annotation_3p"])
            for r in files] == [("V00_S0809_I00000582_P0947", True, False, True),
                                ("V01_S0101_I00004410_P0715", False, True, True)]


def test_a_foreign_header_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="header"):
        parse_csv("relationships", "vendor,session,rel,detail\nV00,1,a,b\n", "mem://r.csv")
    assert gc.isenabled()  # the parse pauses the garbage collector, and gives it back on error too


def test_join_index_is_a_left_join_on_vendor_and_id() -> None:
    parts = parse_csv("participants", PARTICIPANTS, "p").table
    rels = parse_csv("relationships", RELATIONSHIPS, "r").table
    index = MetadataIndex.from_tables(parts, rels)
    hit = index.columns_for(parse_file_id("V03_S1805_I00000582_P0602"))
    assert hit["has_participant_row"] and hit["extraversion"] == 2.0
    assert (hit["relationship"], hit["relationship_detail"]) == ("familiar", "dating/spouse/romantic_partner")
    undisclosed = index.columns_for(parse_file_id("V00_S0809_I00000582_P0602"))
    assert undisclosed["has_participant_row"] and undisclosed["personality_disclosed"] is False
    assert undisclosed["extraversion"] is None and undisclosed["relationship"] == "stranger"
    miss = index.columns_for(parse_file_id("V01_S0001_I00000582_P0844A"))
    assert miss["has_participant_row"] is False and miss["personality_disclosed"] is None
    assert miss["has_relationship_row"] is False and miss["relationship"] is None


def test_rejected_rows_are_quarantined_and_cleared_once_the_csv_is_fixed(tmp_path) -> None:
    from lake_builder import read_table

    from silake.lake.catalog import locate_lake
    from silake.lake.release_tables import commit_release_tables
    from silake.lake.session import CatalogWriter
    from silake.metadata.load import load_metadata

    csv_path = tmp_path / "relationships.csv"
    csv_path.write_text(RELATIONSHIPS)
    lake = tmp_path / "lake"

    def load_and_commit():
        load = load_metadata({"relationships": str(csv_path)})
        with CatalogWriter(locate_lake(str(lake), must_exist=False)) as writer:
            return load, commit_release_tables(writer, load.arrow_tables(), load.quarantine(), run_id="r-1")

    load, written = load_and_commit()
    assert load.rejected_rows == 1 and written == ["quarantine", "relationships"]
    rows = read_table(lake, "quarantine").to_pylist()
    assert [(r["scope"], r["reason_code"], r["member_name"], r["label"], r["split"], r["shard_key"])
            for r in rows] == [("metadata_row", "csv_invalid_row", "line 4", "unknown", "unknown", "metadata")]
    _, written = load_and_commit()
    assert written == []  # same CSV, same content: nothing rewritten, no snapshot
    csv_path.write_text(RELATIONSHIPS.replace("03,1806", "V03,1806"))
    fixed, written = load_and_commit()
    assert fixed.rejected_rows == 0 and written == ["quarantine", "relationships"]
    assert read_table(lake, "quarantine").num_rows == 0
    assert read_table(lake, "relationships").num_rows == 3


def test_rows_are_validated_in_batches_with_every_problem_on_its_line(monkeypatch) -> None:
    """Batches of 2 rows: bad rows in several batches (and a malformed one between) keep their line order,
    the good rows all arrive, and the file keys split at once equal `parse_file_id` row by row."""
    import silake.metadata.csv_tables as csv_tables

    monkeypatch.setattr(csv_tables, "_BATCH_ROWS", 2)
    header, *_ = RELEASE_FILELIST.decode().splitlines()
    ids = ["V00_S0809_I00000582_P0947", "V01_S0101_I00004410_P0715A", "V02_S\u0660\u0661\u0662\u0663_I00000001_P0100"]
    lines = [f"{ids[0]},improvised,train,0,0,1,0,1",
             f"{ids[1]},naturalistic,test,0,3, TRUE ,false,1",
             "V00_S0809_I00000582_P0948,improvised,nope,0,0,1,0,1",  # line 4: bad split
             "V00_S0809_I00000582_P0949,improvised,train,0",  # line 5: malformed
             f"{ids[2]},improvised,dev,1,2,0,0,0",
             "V00_S0809_I00000582_P0950,improvised,train,x,0,1,0,1",  # line 7: bad batch_idx
             "V00_S0809_I00000582_P0951,improvised,train,0,2147483648,1,0,1"]  # line 8: beyond the lake's int32
    parsed = parse_csv("filelist", "\n".join([header, *lines]) + "\n", "mem://filelist.csv")
    assert [(p.code, p.member_name) for p in parsed.problems] == [
        ("csv_invalid_row", "line 4"), ("csv_malformed_row", "line 5"), ("csv_invalid_row", "line 7"),
        ("csv_invalid_row", "line 8")]
    assert parsed.problems[0].reason.startswith("filelist line 4: split: Input should be")
    assert parsed.problems[2].reason.startswith("filelist line 7: batch_idx: Input should be a valid integer")
    assert parsed.problems[3].reason == "filelist line 8: archive_idx: Input should be less than or equal to 2147483647"
    rows = parsed.table.to_pylist()
    assert [r["file_id"] for r in rows] == ids
    assert [(r["has_imitator_movement"], r["has_annotation_1p"]) for r in rows] == [
        (True, False), (True, False), (False, False)]
    for row, file_id in zip(rows, ids, strict=True):  # the last one's digits are not ASCII: the row-wise path
        assert {k: row[k] for k in parse_file_id(file_id)._fields} == parse_file_id(file_id)._asdict()
    assert parsed.table.schema == csv_tables.tables.TABLES["filelist"].schema
    assert gc.isenabled()


def test_a_background_load_gives_the_same_tables_or_raises_the_same_error(tmp_path) -> None:
    from silake.metadata.load import BackgroundLoad, load_metadata

    (tmp_path / "relationships.csv").write_text(RELATIONSHIPS)
    uris = {"relationships": str(tmp_path / "relationships.csv")}
    loaded = BackgroundLoad(uris).result()
    direct = load_metadata(uris)
    assert loaded.tables["relationships"].table.equals(direct.tables["relationships"].table)
    assert loaded.rejected_rows == direct.rejected_rows == 1
    (tmp_path / "relationships.csv").write_text("vendor,session,rel,detail\nV00,1,a,b\n")
    failing = BackgroundLoad(uris)
    with pytest.raises(ValueError, match="relationships: header"):
        failing.result()
