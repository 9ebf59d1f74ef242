"""Read the release's metadata CSVs (every id a string), validate each row, build Arrow tables.

Rows are read one by one (the stream is never held whole) and validated by their pydantic model in batches
of `_BATCH_ROWS` (one pydantic call per row cost more than the validation: the release's filelist has 129,370
rows; `benchmarks/bench_metadata.py`).

A row that fails validation is never dropped silently: it is returned as a `Problem` with its line number,
and the ingest writes it to the quarantine table.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

import pyarrow as pa
from pydantic import BaseModel, TypeAdapter, ValidationError

from silake.schemas import tables
from silake.schemas.ids import file_keys_columns, participant_stem
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


_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def _bool(v: str) -> bool | str:
    return _BOOLS.get(v.strip().lower(), v)


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
    return raw


_FILELIST_FLAGS = tuple(f for f in FilelistRow.model_fields if f.startswith("has_"))


def _filelist_prep(raw: dict[str, str]) -> dict:
    for flag in _FILELIST_FLAGS:  # the release writes 0/1: look those up before any stripping
        v = raw[flag]
        b = _BOOLS.get(v)
        raw[flag] = _bool(v) if b is None else b  # type: ignore[assignment]
    return raw


def _rows_table(to_row: Callable[[Any], dict]) -> Callable[[list[Any], pa.Schema], pa.Table]:
    return lambda valid, schema: pa.Table.from_pylist([to_row(r) for r in valid], schema=schema)


def _filelist_table(valid: list[FilelistRow], schema: pa.Schema) -> pa.Table:
    """The filelist's rows (129k in the release) column by column, the keys split from the file ids at once."""
    dumped = _adapter(FilelistRow).dump_python(valid)
    columns = {f: [r[f] for r in dumped] for f in FilelistRow.model_fields}
    columns.update(file_keys_columns(columns["file_id"]))
    return pa.Table.from_pydict({n: columns[n] for n in schema.names}, schema=schema)


#: CSV name -> (row model, raw CSV row -> model input, validated rows -> lake table).
_SPECS: dict[str, tuple[type[BaseModel], Callable[[dict[str, str]], dict],
                        Callable[[list[Any], pa.Schema], pa.Table]]] = {
    "participants": (ParticipantRow, _as_is, _rows_table(_participant_row)),
    "relationships": (RelationshipRow, _as_is, _rows_table(_relationship_row)),
    "prompts": (
        InteractionRow,
        lambda raw: {**{k: v for k, v in raw.items() if k}, "index": raw[""],
                     "ipc_a": _none_if_empty(raw["ipc_a"]), "ipc_b": _none_if_empty(raw["ipc_b"])},
        _rows_table(_prompt_row),
    ),
    "filelist": (
        FilelistRow,
        _filelist_prep,
        _filelist_table,
    ),
}
#: Rows validated per pydantic call: one call per row costs more than the validation itself.
_BATCH_ROWS = 8192


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection (in the whole process: the switch is global) while a batch is validated
    and tabled, CPU work of a fraction of a second that makes no cycles, yet full collections walked the
    whole launcher heap again (a third of a release-sized filelist's CPU). Reading the stream is not paused."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _validate_batch(name: str, model: type[BaseModel], batch: list[tuple[int, dict]],
                    problems: list[tuple[int, Problem]]) -> list[Any]:
    """The batch's valid rows as models, in order; each invalid row becomes a problem (its first error)."""
    adapter = _adapter(model)
    try:
        return adapter.validate_python([raw for _, raw in batch])
    except ValidationError as exc:
        first: dict[int, Any] = {}
        for err in exc.errors():
            first.setdefault(int(err["loc"][0]), err)
    for i, err in first.items():
        line = batch[i][0]
        where = ".".join(str(p) for p in err["loc"][1:])
        problems.append((line, Problem("csv_invalid_row", f"{name} line {line}: {where}: {err['msg']}",
                                       f"line {line}")))
    return adapter.validate_python([raw for i, (_, raw) in enumerate(batch) if i not in first])


def _batch_table(name: str, model: type[BaseModel], to_table: Callable[[list[Any], pa.Schema], pa.Table],
                 schema: pa.Schema, batch: list[tuple[int, dict]], problems: list[tuple[int, Problem]]) -> pa.Table:
    with _gc_paused():
        return to_table(_validate_batch(name, model, batch, problems), schema)


def parse_csv(name: str, text: str | IO[str], uri: str,
              limits: MetadataLimits = DEFAULT_METADATA_LIMITS) -> CsvTable:
    """Parse one metadata CSV (`name` as in METADATA_FILES; text, or a text stream read row by row) into its
    lake table. Raises ValueError naming `uri` for a wrong header, too many rows or bytes that are not UTF-8."""
    model, prep, to_table = _SPECS[name]
    schema = tables.TABLES[name].schema
    parts: list[pa.Table] = []
    problems: list[tuple[int, Problem]] = []
    batch: list[tuple[int, dict]] = []
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    try:
        for line, raw in _rows(stream, name, uri, limits.max_rows(name)):  # row by row: the stream is never held whole
            if "__error__" in raw:
                problems.append((line, Problem("csv_malformed_row", f"{name} line {line}: {raw['__error__']}",
                                               f"line {line}")))
                continue
            batch.append((line, prep(raw)))
            if len(batch) == _BATCH_ROWS:
                parts.append(_batch_table(name, model, to_table, schema, batch, problems))
                batch = []
    except UnicodeDecodeError as exc:
        raise ValueError(f"{uri}: not UTF-8 text ({exc.reason}: {exc.object[exc.start:exc.start + 4]!r}); "
                         "save it as UTF-8") from None
    parts.append(_batch_table(name, model, to_table, schema, batch, problems))
    problems.sort(key=lambda p: p[0])
    return CsvTable(name, uri, pa.concat_tables(parts).combine_chunks(), [p for _, p in problems])


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
