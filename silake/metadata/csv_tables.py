"""Read the release's metadata CSVs (every id a string), validate each row, build Arrow tables.

A row that fails validation is never dropped silently: it is returned as a `Problem` with its line number,
and the ingest writes it to the quarantine table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from silake.schemas import tables
from silake.schemas.ids import parse_file_id, participant_stem
from silake.schemas.limits import DEFAULT_METADATA_LIMITS, MetadataLimits
from silake.schemas.problem import Problem
from silake.schemas.records import (
    BFI_COLUMNS,
    CSV_HEADERS,
    FilelistRow,
    InteractionRow,
    ParticipantRow,
    RelationshipRow,
)
from silake.schemas.release import METADATA_ROWS

from .join import PARTICIPANT_COLUMNS


@dataclass
class CsvTable:
    """One metadata table read from a CSV: its rows as an Arrow table plus the rows that were rejected."""

    name: str
    uri: str
    table: pa.Table
    problems: list[Problem] = field(default_factory=list)


def _rows(stream: IO[str], name: str, uri: str, cap: int) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    expected = CSV_HEADERS[name]
    if header is None:
        raise ValueError(f"{name}: empty CSV")
    header = [h.lstrip("\ufeff") for h in header]
    if tuple(header) != expected:
        raise ValueError(f"{name}: header {header} is not the release's {list(expected)}")
    for n, row in enumerate(reader, 1):
        line = reader.line_num
        if n > cap:
            raise ValueError(f"{uri}: more than {cap:,} rows (the release's {name} has {METADATA_ROWS[name]:,}); "
                             "not a metadata CSV of this release?")
        if not row:
            continue
        if len(row) != len(header):
            yield line, {"__error__": f"{len(row)} fields, expected {len(header)}"}
            continue
        yield line, dict(zip(header, row, strict=True))


def _none_if_empty(value: str) -> str | None:
    return value if value != "" else None


def _validate(model: type[BaseModel], raw: dict[str, str], prep: Callable[[dict[str, str]], dict]) -> BaseModel:
    return model.model_validate(prep(raw))


def _bool(v: str) -> bool | str:
    low = v.strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(low, v)


def _participant_row(r: ParticipantRow) -> dict:
    scores = {lake: getattr(r, raw) for raw, lake in zip(BFI_COLUMNS, PARTICIPANT_COLUMNS, strict=True)}
    return {"vendor_id": r.vendor_id, "participant_id": r.participant_id,
            "participant_stem": participant_stem(r.participant_id), "personality_disclosed": r.disclosed,
            **scores}


def _relationship_row(r: RelationshipRow) -> dict:
    return {"vendor_id": r.vendor_key, "vendor_id_raw": r.vendor_id, "session_id": r.session_id,
            "relationship": r.relationship, "relationship_detail": r.relationship_detail}


def _prompt_row(r: InteractionRow) -> dict:
    d = r.model_dump()
    d["row_index"] = d.pop("index")
    return d


def _as_is(raw: dict[str, str]) -> dict:
    return dict(raw)


def _filelist_row(r: FilelistRow) -> dict:
    keys = parse_file_id(r.file_id)._asdict()
    return {**keys, **r.model_dump()}


#: CSV name -> (row model, raw CSV row -> model input, validated row -> lake row).
_SPECS: dict[str, tuple[type[BaseModel], Callable[[dict[str, str]], dict], Callable[[Any], dict]]] = {
    "participants": (ParticipantRow, _as_is, _participant_row),
    "relationships": (RelationshipRow, _as_is, _relationship_row),
    "prompts": (
        InteractionRow,
        lambda raw: {**{k: v for k, v in raw.items() if k}, "index": raw[""],
                     "ipc_a": _none_if_empty(raw["ipc_a"]), "ipc_b": _none_if_empty(raw["ipc_b"])},
        _prompt_row,
    ),
    "filelist": (
        FilelistRow,
        lambda raw: {k: (_bool(v) if k.startswith("has_") else v) for k, v in raw.items()},
        _filelist_row,
    ),
}


def parse_csv(name: str, text: str | IO[str], uri: str,
              limits: MetadataLimits = DEFAULT_METADATA_LIMITS) -> CsvTable:
    """Parse one metadata CSV (`name` as in METADATA_FILES; text, or a text stream read row by row) into its
    lake table. Raises ValueError naming `uri` for a wrong header, too many rows or bytes that are not UTF-8."""
    model, prep, to_row = _SPECS[name]
    rows: list[dict] = []
    problems: list[Problem] = []
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    try:
        for line, raw in _rows(stream, name, uri, limits.max_rows(name)):  # row by row: the stream is never held whole
            if "__error__" in raw:
                problems.append(Problem("csv_malformed_row", f"{name} line {line}: {raw['__error__']}",
                                        f"line {line}"))
                continue
            try:
                rows.append(to_row(_validate(model, raw, prep)))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                problems.append(Problem("csv_invalid_row", f"{name} line {line}: {where}: {first['msg']}",
                                        f"line {line}"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{uri}: not UTF-8 text ({exc.reason}: {exc.object[exc.start:exc.start + 4]!r}); "
                         "save it as UTF-8") from None
    schema = tables.TABLES[name].schema
    return CsvTable(name, uri, pa.Table.from_pylist(rows, schema=schema), problems)


def read_csv(name: str, uri: str, limits: MetadataLimits = DEFAULT_METADATA_LIMITS) -> CsvTable:
    """Stream and parse one metadata CSV: its size checked first (one stat), then read row by row; both
    through the sources layer's retries (a transient failure re-reads the file from its start)."""
    from silake.sources.filesystems import resolve, size_and_etag
    from silake.sources.retry import with_retries

    size, _ = size_and_etag(uri)
    if size > limits.max_csv_bytes:
        raise ValueError(f"{uri}: {size:,} bytes exceeds the {limits.max_csv_bytes:,} byte cap for a metadata CSV")

    def parse() -> CsvTable | ValueError:
        fs, path = resolve(uri)
        try:
            with fs.open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
                return parse_csv(name, text, uri, limits)
        except ValueError as exc:  # the content is wrong: no retry, and the message stays as it is
            return exc

    result = with_retries(parse, what=f"reading {uri}")
    if isinstance(result, ValueError):
        raise result
    return result
