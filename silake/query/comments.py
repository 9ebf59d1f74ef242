"""COMMENT ON every view of the SQL layer and on every view column, from the `.sql` files' header comments.

A view's comment is the paragraph of its file that starts `-- <view>: ` (several views may share one:
`-- a, b: ...`). Its columns are listed in a block of the same file:

    -- columns of speech_activity:
    --   file_id, label, split: as in files
    --   speaking_ratio: speaking_s / duration_s (null for a zero duration), continued on
    --     lines indented further

`as in X` takes the description of the same column of lake table X (schemas/tables.py) or of view X (an
earlier one); `-- columns of canonical_files: as in files` documents every column of files at once. The
lake's table and column comments come from schemas/tables.py (silake.lake.ddl).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from silake.lake.sqltext import quote, sql_literal
from silake.schemas.tables import TABLES

_VIEW = re.compile(r"^CREATE (?:OR REPLACE )?VIEW (\w+)", re.M)
_TITLE = re.compile(r"^-- (\w+(?:, \w+)*): (.+)$")
_MORE = re.compile(r"^-- (?![*=]|columns of |\w+(?:, \w+)*: )(\S.*)$")  # a title's next lines
_COLUMNS = re.compile(r"^-- columns of (\w+):(?: as in (\w+))?$")
_ENTRY = re.compile(r"^--   (\w+(?:, \w+)*): (.+)$")
_ENTRY_MORE = re.compile(r"^--     +(\S.*)$")
_AS_IN = re.compile(r"^as in (\w+)$")


@dataclass(frozen=True)
class ViewDoc:
    """A view's comment and its columns' (column -> description, in declaration order)."""

    name: str
    comment: str
    columns: dict[str, str]


def _paragraphs(lines: list[str], i: int, first: str, more: re.Pattern[str]) -> tuple[str, int]:
    """`first` and the continuation lines after line i that match `more`, joined; and the next line's index."""
    parts = [first]
    i += 1
    while i < len(lines) and (m := more.match(lines[i])):
        parts.append(m.group(1))
        i += 1
    return " ".join(parts), i


def _titles(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        if m := _TITLE.match(line):
            text, _ = _paragraphs(lines, i, m.group(2), _MORE)
            for name in m.group(1).split(", "):
                out.setdefault(name, text)
    return out


def _column_blocks(lines: list[str]) -> dict[str, tuple[str | None, list[tuple[list[str], str]]]]:
    """view -> (its `as in` source for every column, or None; its entries: (names, text))."""
    out: dict[str, tuple[str | None, list[tuple[list[str], str]]]] = {}
    i = 0
    while i < len(lines):
        m = _COLUMNS.match(lines[i])
        i += 1
        if not m:
            continue
        entries: list[tuple[list[str], str]] = []
        while i < len(lines) and (e := _ENTRY.match(lines[i])):
            text, i = _paragraphs(lines, i, e.group(2), _ENTRY_MORE)
            entries.append((e.group(1).split(", "), text))
        out[m.group(1)] = (m.group(2), entries)
    return out


def _source(name: str, views: Mapping[str, ViewDoc]) -> Mapping[str, str]:
    if name in TABLES:
        return TABLES[name].column_docs
    if name in views:
        return views[name].columns
    raise ValueError(f"`as in {name}`: no lake table and no earlier view of that name")


def view_docs(texts: Iterable[tuple[str, str]]) -> dict[str, ViewDoc]:
    """Every view of the SQL files `texts` ((file name, SQL text), in execution order), documented.

    Raises ValueError for a view without a comment or a column block, or an `as in` column its source lacks.
    """
    out: dict[str, ViewDoc] = {}
    for file, text in texts:
        lines = text.splitlines()
        titles, blocks = _titles(lines), _column_blocks(lines)
        for view in _VIEW.findall(text):
            if view not in titles or view not in blocks:
                raise ValueError(f"{file}: view {view} needs a '-- {view}: ...' comment and a "
                                 f"'-- columns of {view}:' block")
            every, entries = blocks[view]
            columns = dict(_source(every, out)) if every else {}
            for names, desc in entries:
                inherit = _AS_IN.match(desc)
                source = _source(inherit.group(1), out) if inherit else {}
                for name in names:
                    if inherit and name not in source:
                        raise ValueError(f"{file}: {view}.{name}: {inherit.group(1)} has no column {name}")
                    columns[name] = source[name] if inherit else desc
            out[view] = ViewDoc(view, titles[view], columns)
    return out


def view_comments_sql(docs: Iterable[ViewDoc]) -> str:
    """COMMENT ON VIEW for each view (DuckLake stores these too)."""
    return "".join(f"COMMENT ON VIEW {quote(d.name)} IS {sql_literal(d.comment)};\n" for d in docs)


def column_comments_sql(docs: Iterable[ViewDoc]) -> str:
    """COMMENT ON COLUMN for every view column (DuckDB's own databases only: DuckLake has no view column
    comments)."""
    return "".join(f"COMMENT ON COLUMN {quote(d.name)}.{quote(c)} IS {sql_literal(text)};\n"
                   for d in docs for c, text in d.columns.items())
