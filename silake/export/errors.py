"""Export failures and their exit codes.

| code | meaning | output |
|---|---|---|
| 0 | exported | complete, `manifest.json` written last |
| 1 | failed while copying (a source read failed or a source member changed mid-export) | removed |
| 2 | bad input: predicate, --members, lake, or a non-empty output without --overwrite | untouched |
| 3 | source shards unreachable or changed since ingest (each one listed) | untouched |
| 4 | the predicate selects no file | untouched, nothing written |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_COPY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SOURCES_UNAVAILABLE = 3
EXIT_EMPTY_SELECTION = 4


class ExportError(Exception):
    """An export that cannot (or did not) complete; `exit_code` is what `silake export` returns."""

    exit_code = EXIT_COPY_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(ExportError):
    """The arguments, the lake or the output location are unusable; nothing was written."""

    exit_code = EXIT_BAD_INPUT


class BadPredicate(BadInput):
    """The predicate does not parse, names unknown columns or fails to evaluate (DuckDB's message)."""


class OutputNotEmpty(BadInput):
    """The output exists and holds something, and --overwrite was not given (or cannot apply)."""


class SourcesUnavailable(ExportError):
    """Source shards the selection needs are missing, unreadable or changed since ingest."""

    exit_code = EXIT_SOURCES_UNAVAILABLE

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} source shard(s) needed by the selection are not usable "
                         f"(nothing written):\n{lines}")


class EmptySelection(ExportError):
    """The predicate matches no file: nothing is written."""

    exit_code = EXIT_EMPTY_SELECTION


class CopyFailed(ExportError):
    """Copying failed part-way; what this run had published was removed."""

    exit_code = EXIT_COPY_FAILED
