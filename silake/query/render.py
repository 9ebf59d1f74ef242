"""Query results as a terminal table, CSV (a header line, then rows) or JSON (an array of objects)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Sequence
from typing import Any, TextIO

#: The table format shows at most this many rows (CSV and JSON show all).
MAX_TABLE_ROWS = 1000
MAX_CELL_WIDTH = 60


def _plain(value: Any) -> Any:
    """A JSON-ready value: NaN/inf become null, lists/dicts recurse, the rest becomes text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):  # datetime too
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    return str(value)


def _text(value: Any) -> str:
    """One value as CSV/table text: '' for null, true/false, JSON for nested values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(_plain(value))
    return str(_plain(value))


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(v) for v in row] for row in rows)


def write_json(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    json.dump(records, out, indent=1, allow_nan=False)
    out.write("\n")


def _cell(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:.6g}"
    else:
        text = _text(value) if value is not None else "NULL"
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL_WIDTH else text[: MAX_CELL_WIDTH - 1] + "…"


def write_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    """A plain aligned table: numbers right-aligned, long cells cut, at most MAX_TABLE_ROWS rows."""
    shown = rows[:MAX_TABLE_ROWS]
    cells = [[_cell(v) for v in row] for row in shown]
    numeric = [all(isinstance(r[i], int | float | decimal.Decimal) and not isinstance(r[i], bool)
                   for r in shown if r[i] is not None) for i in range(len(columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    n = len(rows)
    note = f"({n} row{'s' if n != 1 else ''}"
    note += f", first {MAX_TABLE_ROWS} shown; --format csv prints all)" if n > MAX_TABLE_ROWS else ")"
    out.write(note + "\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, out: TextIO) -> None:
    WRITERS[fmt](columns, rows, out)
