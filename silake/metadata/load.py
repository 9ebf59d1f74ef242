"""Load the run's metadata CSVs: their tables, their rejected rows and the join index the ingest uses.

Writing them to the lake is the lake layer's job (`silake.lake.release_tables`); rejected CSV rows become
quarantine rows there (scope 'metadata_row')."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pyarrow as pa

from silake.schemas.limits import DEFAULT_METADATA_LIMITS, MetadataLimits
from silake.schemas.rows import QuarantineRow, record_batch

from .csv_tables import CsvTable, read_csv
from .join import MetadataIndex

log = logging.getLogger(__name__)


@dataclass
class MetadataLoad:
    index: MetadataIndex
    tables: dict[str, CsvTable] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> int:
        return sum(len(t.problems) for t in self.tables.values())

    def quarantine(self) -> pa.Table:
        """The rejected rows as quarantine rows (no run id: the same CSVs give the same rows)."""
        rows = [QuarantineRow.of(t.uri, "metadata_row", p, run_id=None)
                for _, t in sorted(self.tables.items()) for p in t.problems]
        return pa.Table.from_batches([record_batch(QuarantineRow, rows)])

    def arrow_tables(self) -> dict[str, pa.Table]:
        return {name: t.table for name, t in self.tables.items()}


def load_metadata(uris: dict[str, str], limits: MetadataLimits = DEFAULT_METADATA_LIMITS) -> MetadataLoad:
    """Read each CSV in `uris` (name -> URI) within `limits` and build the join index."""
    load = MetadataLoad(MetadataIndex())
    for name, uri in sorted(uris.items()):
        load.tables[name] = read_csv(name, uri, limits)
        log.info("metadata %s: %d rows, %d rejected", name, load.tables[name].table.num_rows,
                 len(load.tables[name].problems))
    parts, rels = load.tables.get("participants"), load.tables.get("relationships")
    load.index = MetadataIndex.from_tables(parts.table if parts else None, rels.table if rels else None)
    return load


class BackgroundLoad:
    """`load_metadata` on a daemon thread, started at once: the launcher parses the CSVs while it opens the
    catalog (DuckDB releases the GIL). `result()` waits for it and raises what it raised; a launcher that
    fails before asking calls `settle()`, which waits a little (never for a hung read)."""

    def __init__(self, uris: dict[str, str], limits: MetadataLimits = DEFAULT_METADATA_LIMITS) -> None:
        self._load: MetadataLoad | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(uris, limits), name="silake-metadata", daemon=True)
        self._thread.start()

    def _run(self, uris: dict[str, str], limits: MetadataLimits) -> None:
        try:
            self._load = load_metadata(uris, limits)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def settle(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` seconds for the parse to end (its result, or error, is then dropped)."""
        self._thread.join(timeout)

    def result(self) -> MetadataLoad:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._load is not None
        return self._load
