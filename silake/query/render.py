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
#: A column is never cut narrower than this when a table is fitted to a width.
MIN_COLUMN_WIDTH = 6


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
    return text.replace("\n", "\\n")


def fit_widths(widths: list[int], max_width: int | None, floor: list[int] | None = None) -> list[int]:
    """Column widths that fit `max_width` (two spaces between columns): the widest shrink first, none below
    MIN_COLUMN_WIDTH (or its `floor`); None leaves every width as it is."""
    out = list(widths)
    if max_width is None:
        return out
    mins = [min(w, max(MIN_COLUMN_WIDTH, f)) for w, f in zip(out, floor or [0] * len(out), strict=True)]
    excess = sum(out) + 2 * max(len(out) - 1, 0) - max_width
    while excess > 0:
        candidates = [i for i, w in enumerate(out) if w > mins[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: out[i])
        out[widest] -= 1
        excess -= 1
    return out


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def write_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO,
                max_width: int | None = None) -> None:
    """An aligned table: numbers right-aligned, at most MAX_TABLE_ROWS rows; fitted to `max_width` columns
    of text (long cells cut with '…'), or every cell whole when it is None."""
    shown = rows[:MAX_TABLE_ROWS]
    cells = [[_cell(v) for v in row] for row in shown]
    numeric = [all(isinstance(r[i], int | float | decimal.Decimal) and not isinstance(r[i], bool)
                   for r in shown if r[i] is not None) for i in range(len(columns))]
    natural = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    widths = fit_widths(natural, max_width, [len(c) if numeric[i] else 0 for i, c in enumerate(columns)])

    def line(values: Sequence[str]) -> str:
        parts = [_cut(v, w).rjust(w) if num else _cut(v, w).ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    n = len(rows)
    note = f"({n} row{'s' if n != 1 else ''}"
    note += f", first {MAX_TABLE_ROWS} shown; --format csv prints all)" if n > MAX_TABLE_ROWS else ")"
    if widths != natural:
        note += " (cells cut to fit; --wide shows them whole)"
    out.write(note + "\n")


WRITERS = {"csv": write_csv, "json": write_json}


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, out: TextIO,
           max_width: int | None = None) -> None:
    if fmt == "table":
        write_table(columns, rows, out, max_width)
    else:
        WRITERS[fmt](columns, rows, out)


def table_width(out: TextIO, requested: int | None = None, wide: bool = False) -> int | None:
    """The width a table is fitted to: `requested` (0: no limit), else the terminal's when `out` is one;
    None (every cell whole) with `wide` or when the output goes to a file or a pipe."""
    import os

    if wide or requested == 0:
        return None
    if requested:
        return requested
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return None
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        return None
