"""SQL text built from Python values: string literals and identifiers, quoted (one place for both)."""

from __future__ import annotations


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
