"""`silake export`: filtered, reproducible training subsets of the lake as WebDataset shards or Parquet.

    selection.py      predicate -> selected files (validated before any output exists)
    layout.py         deterministic order and shard cuts (interaction pairs kept together)
    preflight.py      every needed source shard reachable and unchanged since ingest
    tar_writer.py     ustar members written by streaming source byte ranges (sha256 while copying)
    webdataset.py     the WebDataset writer (one worker per output shard)
    parquet_export.py the lake's sample tables restricted to the selection, same hive partitioning
    output.py         the output directory/prefix: emptiness, --overwrite, atomic publication
    manifest.py       manifest.json: deterministic (sorted keys, no timestamps)
    run.py            `export(...)`: the whole job as a function
    cli.py            `silake export` (exit codes: see `silake.export.errors`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from silake.export.errors import ExportError
    from silake.export.run import ExportResult, export

__all__ = ["ExportError", "ExportResult", "export"]


def __getattr__(name: str) -> Any:
    """Import the job lazily: `silake.export.defaults` stays cheap for the command line."""
    if name == "ExportError":
        from silake.export.errors import ExportError

        return ExportError
    if name in ("ExportResult", "export"):
        from silake.export import run

        return getattr(run, name)
    raise AttributeError(name)
