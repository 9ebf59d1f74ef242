"""The join index the ingest uses to put participants.csv and relationships.csv columns on `files` rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from silake.schemas.ids import FileKeys
from silake.schemas.records import BFI_COLUMNS

#: The BFI-2 columns as the lake names them (`extraversion_raw` -> `extraversion`).
PARTICIPANT_COLUMNS = tuple(c.removesuffix("_raw") for c in BFI_COLUMNS)


@dataclass(frozen=True)
class MetadataIndex:
    """Left-join lookups: participants on (vendor, participant), relationships on (vendor, session)."""

    participants: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)
    relationships: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)

    @classmethod
    def from_tables(cls, participants: pa.Table | None, relationships: pa.Table | None) -> MetadataIndex:
        parts: dict[tuple[str, str], dict[str, object]] = {}
        for row in participants.to_pylist() if participants is not None else ():
            parts[(row["vendor_id"], row["participant_id"])] = {
                "personality_disclosed": row["personality_disclosed"],
                **{c: row[c] for c in PARTICIPANT_COLUMNS},
            }
        rels: dict[tuple[str, str], dict[str, object]] = {}
        for row in relationships.to_pylist() if relationships is not None else ():
            rels[(row["vendor_id"], row["session_id"])] = {
                "relationship": row["relationship"], "relationship_detail": row["relationship_detail"],
            }
        return cls(parts, rels)

    def columns_for(self, keys: FileKeys) -> dict[str, object]:
        """The participants/relationships columns of one `files` row (nulls and False flags when absent)."""
        part = self.participants.get((keys.vendor_id, keys.participant_id))
        rel = self.relationships.get((keys.vendor_id, keys.session_id))
        out: dict[str, object] = {"has_participant_row": part is not None,
                                  "has_relationship_row": rel is not None}
        out["personality_disclosed"] = part["personality_disclosed"] if part else None
        for c in PARTICIPANT_COLUMNS:
            out[c] = part[c] if part else None
        out["relationship"] = rel["relationship"] if rel else None
        out["relationship_detail"] = rel["relationship_detail"] if rel else None
        return out
