"""Load the run's metadata CSVs: write their lake tables (only when their content changed) and build the
join index. Rejected CSV rows go to the quarantine table (partition label=unknown/split=unknown)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import pyarrow as pa

from silake.lake.layout import release_table_path, shard_table_path
from silake.lake.parquet import table_bytes
from silake.lake.quarantine import quarantine_row
from silake.lake.storage import LakeStorage
from silake.schemas.tables import QUARANTINE
from silake.sources import read_bytes

from .csv_tables import CsvTable, read_csv
from .join import MetadataIndex

log = logging.getLogger(__name__)


@dataclass
class MetadataLoad:
    index: MetadataIndex
    tables: dict[str, CsvTable] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # tables whose lake file changed

    @property
    def rejected_rows(self) -> int:
        return sum(len(t.problems) for t in self.tables.values())


def _publish_if_changed(storage: LakeStorage, rel: str, data: bytes) -> bool:
    dest = storage.path(rel)
    if storage.exists(dest) and hashlib.sha256(storage.read_bytes(dest)).digest() == hashlib.sha256(data).digest():
        return False
    storage.publish_bytes(data, dest)
    return True


def load_metadata(uris: dict[str, str], storage: LakeStorage | None) -> MetadataLoad:
    """Read each CSV in `uris` (name -> URI); when `storage` is given, write the lake tables."""
    load = MetadataLoad(MetadataIndex())
    for name, uri in sorted(uris.items()):
        load.tables[name] = read_csv(name, uri, read_bytes)
        log.info("metadata %s: %d rows, %d rejected", name, load.tables[name].table.num_rows,
                 len(load.tables[name].problems))
    parts, rels = load.tables.get("participants"), load.tables.get("relationships")
    load.index = MetadataIndex.from_tables(parts.table if parts else None, rels.table if rels else None)
    if storage is None:
        return load
    for name, t in load.tables.items():
        if _publish_if_changed(storage, release_table_path(name), table_bytes(t.table)):
            load.written.append(name)
    # No run id on these rows: the same CSVs give the same file, so a re-run changes nothing. Once the CSVs
    # are fixed the file is emptied, so old rejects do not linger.
    rows = [quarantine_row(t.uri, "metadata_row", p, run_id=None) for t in load.tables.values() for p in t.problems]
    rel = shard_table_path("quarantine", "unknown", "unknown", "metadata")
    if rows or storage.exists(storage.path(rel)):
        _publish_if_changed(storage, rel, table_bytes(pa.Table.from_pylist(rows, schema=QUARANTINE)))
    return load
