"""decode_json (parse, schema, id) and the transcript / word / VAD / annotation batches."""

from __future__ import annotations

import copy
import json

import pytest

from silake.decode import Caps, Reject, decode_json, json_batches, json_facts
from silake.schemas import tables
from silake.schemas.ids import parse_file_id

FILE_ID = "V03_S1805_I00001234_P0602A"
KEYS = parse_file_id(FILE_ID)
MEMBER = f"{FILE_ID}.json"

DOC: dict = {
    "id": FILE_ID,
    "metadata:transcript": [
        {"start": 0.5, "end": 1.75, "transcript": "hello there", "words": [
            {"word": "hello", "start": 0.5, "end": 0.9, "score": 0.91},
            {"word": "there", "start": None, "end": None},
        ]},
        {"start": 2.0, "end": 2.5, "transcript": "", "words": []},
        {"start": 3, "end": 4.25, "transcript": "ok then go", "words": [
            {"word": "ok", "start": 3, "end": 3.5, "score": 1},
            {"word": "then", "start": 3.5, "end": 3.9, "score": 0.5},
            {"word": "go", "start": 4.0, "end": 4.25},
        ]},
    ],
    "metadata:vad": [{"start": 0.4, "end": 1.8}, {"start": 2.9, "end": 4.3}],
    "annotations:3P-V": [{"annotation": "smiles", "start_ts": 5, "end_ts": 3}],
    "annotations:1P-IS": [
        {"annotation": "felt nervous", "start_ts": 1, "end_ts": 4},
        {"annotation": "relieved", "start_ts": 10, "end_ts": 10},
    ],
    "annotations:3P-IS": [{"annotation": "nervous", "start_ts": 1, "end_ts": 4}],
}


def encode(doc: dict) -> bytes:
    return json.dumps(doc, indent=4).encode()


def reject_code(data: bytes, caps: Caps | None = None) -> str:
    with pytest.raises(Reject) as info:
        decode_json(data, member_name=MEMBER, file_id=FILE_ID, caps=caps or Caps())
    assert info.value.problem.member_name == MEMBER
    return info.value.problem.code


def test_batches_have_exact_schemas_and_values() -> None:
    doc = decode_json(encode(DOC), member_name=MEMBER, file_id=FILE_ID)
    b = json_batches(doc, KEYS)
    assert set(b) == {"transcript_segments", "transcript_words", "vad_segments", "annotations"}
    assert b["transcript_segments"].schema.equals(tables.TRANSCRIPT_SEGMENTS)
    assert b["transcript_words"].schema.equals(tables.TRANSCRIPT_WORDS)
    assert b["vad_segments"].schema.equals(tables.VAD_SEGMENTS)
    assert b["annotations"].schema.equals(tables.ANNOTATIONS)

    seg = b["transcript_segments"].to_pydict()
    assert seg["file_id"] == [FILE_ID] * 3 and seg["participant_id"] == ["0602A"] * 3
    assert seg["segment_idx"] == [0, 1, 2]
    assert seg["start_s"] == [0.5, 2.0, 3.0] and seg["end_s"] == [1.75, 2.5, 4.25]
    assert seg["text"] == ["hello there", "", "ok then go"]
    assert seg["n_words"] == [2, 0, 3]

    words = b["transcript_words"].to_pydict()
    assert words["interaction_key"] == ["V03_S1805_I00001234"] * 5
    assert words["segment_idx"] == [0, 0, 2, 2, 2]
    assert words["word_idx"] == [0, 1, 0, 1, 2]
    assert words["word"] == ["hello", "there", "ok", "then", "go"]
    assert words["start_s"] == [0.5, None, 3.0, 3.5, 4.0]
    assert words["end_s"] == [0.9, None, 3.5, 3.9, 4.25]
    assert words["score"] == [0.91, None, 1.0, 0.5, None]
    assert b["transcript_words"].column("start_s").null_count == 1

    vad = b["vad_segments"].to_pydict()
    assert vad["vad_idx"] == [0, 1] and vad["start_s"] == [0.4, 2.9] and vad["end_s"] == [1.8, 4.3]

    ann = b["annotations"].to_pydict()
    assert ann["kind"] == ["1P-IS", "1P-IS", "3P-IS", "3P-V"]
    assert ann["annotation_idx"] == [0, 1, 0, 0]
    assert ann["text"] == ["felt nervous", "relieved", "nervous", "smiles"]
    assert ann["start_ts"] == [1, 10, 1, 5] and ann["end_ts"] == [4, 10, 4, 3]  # negative length kept


def test_facts() -> None:
    doc = decode_json(encode(DOC), member_name=MEMBER, file_id=FILE_ID)
    assert json_facts(doc) == {
        "json_has_id": True,
        "annotation_kinds": ["1P-IS", "3P-IS", "3P-V"],
        "has_annotation_1p": True,
        "has_annotation_3p": True,
        "n_transcript_segments": 3,
        "n_words": 5,
        "n_timed_words": 4,
        "n_vad_segments": 2,
        "n_annotations": 4,
        "speaking_s": pytest.approx((1.8 - 0.4) + (4.3 - 2.9)),
        "first_vad_start_s": 0.4,
        "last_vad_end_s": 4.3,
        "first_word_start_s": 0.5,  # timed words only: "there" has no times
        "last_word_end_s": 4.25,
    }


def test_empty_lists_and_missing_id() -> None:
    raw = {"metadata:transcript": [], "metadata:vad": []}
    doc = decode_json(encode(raw), member_name=MEMBER, file_id=FILE_ID)
    assert doc.id is None
    for name, batch in json_batches(doc, KEYS).items():
        assert batch.num_rows == 0
        assert batch.schema.equals(tables.TABLES[name].sample_schema)
    facts = json_facts(doc)
    assert facts["json_has_id"] is False and facts["annotation_kinds"] == []
    assert not facts["has_annotation_1p"] and not facts["has_annotation_3p"]
    assert facts["speaking_s"] == 0 and facts["last_vad_end_s"] is None and facts["first_word_start_s"] is None


def test_null_id_counts_as_missing() -> None:
    raw = {"id": None, "metadata:transcript": [], "metadata:vad": []}
    assert decode_json(encode(raw), member_name=MEMBER, file_id=FILE_ID).id is None


def test_utf8_bom_and_non_ascii_text() -> None:
    raw = copy.deepcopy(DOC)
    raw["metadata:transcript"][0]["words"][0]["word"] = "héllo ✓"
    doc = decode_json(b"\xef\xbb\xbf" + json.dumps(raw, ensure_ascii=False).encode(), member_name=MEMBER,
                      file_id=FILE_ID)
    assert json_batches(doc, KEYS)["transcript_words"].column("word")[0].as_py() == "héllo ✓"


def test_id_mismatch() -> None:
    raw = dict(DOC, id="V03_S1805_I00001234_P0603")
    assert reject_code(encode(raw)) == "json_id_mismatch"


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe{}", b'{"a": 1} trailing', b"[" * 100_000])
def test_malformed(data: bytes) -> None:
    assert reject_code(data) == "json_malformed"


def _broken(path: str) -> dict:
    raw = copy.deepcopy(DOC)
    if path == "vad_missing_end":
        del raw["metadata:vad"][0]["end"]
    elif path == "string_start_ts":
        raw["annotations:1P-IS"][0]["start_ts"] = "12"
    elif path == "float_start_ts":
        raw["annotations:1P-IS"][0]["start_ts"] = 12.5
    elif path == "unknown_kind":
        raw["annotations:2P-X"] = []
    elif path == "word_without_text":
        del raw["metadata:transcript"][0]["words"][0]["word"]
    elif path == "string_seconds":
        raw["metadata:transcript"][0]["start"] = "0.5"
    elif path == "missing_vad":
        del raw["metadata:vad"]
    elif path == "not_an_object":
        return [raw]  # type: ignore[return-value]
    elif path == "bad_id_format":
        raw["id"] = "P0602A"
    elif path == "nan_seconds":
        raw["metadata:vad"][0]["start"] = float("nan")
    elif path == "huge_int":
        raw["annotations:3P-V"][0]["end_ts"] = 1 << 70
    return raw


@pytest.mark.parametrize("path", [
    "vad_missing_end", "string_start_ts", "float_start_ts", "unknown_kind", "word_without_text",
    "string_seconds", "missing_vad", "not_an_object", "bad_id_format", "nan_seconds", "huge_int",
])
def test_schema_violations(path: str) -> None:
    assert reject_code(encode(_broken(path))) == "json_schema"


def test_schema_reason_names_the_field() -> None:
    with pytest.raises(Reject) as info:
        decode_json(encode(_broken("vad_missing_end")), member_name=MEMBER, file_id=FILE_ID)
    assert "metadata:vad.0.end" in info.value.problem.reason


def test_too_large() -> None:
    data = encode(DOC)
    assert reject_code(data, Caps(max_json_bytes=len(data) - 1)) == "json_too_large"
