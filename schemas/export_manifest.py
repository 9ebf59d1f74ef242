"""manifest.json of an export (format "silake-export/1"): what it holds and where every byte came from.

Both kinds share a `Header` (format, silake_version, predicate, lake, selection), then a `kind` and:

    webdataset: options {members, shard_size, keep_pairs}, counts, samples_without_members, shards, samples
    parquet:    options {part_size, tables}, tables, counts, samples

Samples are listed in export order; a WebDataset sample also names its output `shard`, the requested members
its source lacks (`absent`) and, per member, where it was copied from and to. Every key is required (but
`format` and `kind`, which have one value each) and an unknown one is rejected, so a misspelling fails where
the manifest is built or read.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

FORMAT: Final = "silake-export/1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- the header -----------------------------------------------------------------------------------------------
class Source(_Model):
    """Where a sample sits in the lake's source shards."""

    uri: str
    sample_index: int
    run_id: str | None  # the ingest run that wrote its `files` row


class Duplicate(_Model):
    """A copy of a selected file id that was not exported (another label/split lists it too)."""

    file_id: str
    label: str
    split: str
    source: Source


class Lake(_Model):
    uri: str
    snapshot: int | None  # read for the whole export
    run_ids: list[str]  # of the selected files
    ingest_run_ids: list[str]  # of every ingest_shards row


class SelectionSummary(_Model):
    files_in_lake: int
    files_selected: int
    duplicates_skipped: list[Duplicate]
    warnings: list[str]


class Sample(_Model):
    """One exported file (a Parquet export lists these)."""

    key: str  # the file id
    label: str
    split: str
    interaction_key: str
    source: Source


class Header(_Model):
    """The fields both kinds share."""

    format: Literal["silake-export/1"] = FORMAT
    silake_version: str
    predicate: str
    lake: Lake
    selection: SelectionSummary


# -- webdataset -----------------------------------------------------------------------------------------------
class Member(_Model):
    source_offset: int  # of the payload in the source shard
    size: int
    sha256: str
    offset: int  # of the payload in the output shard


class WebDatasetSample(Sample):
    shard: str  # the output shard's name
    absent: list[str]  # requested members the source sample does not have
    members: dict[str, Member]  # by extension, in --members order


class Shard(_Model):
    name: str  # data/<label>/<split>-NNNNN-of-NNNNN.tar
    samples: int
    bytes: int
    payload_bytes: int
    sha256: str
    first_key: str
    last_key: str


class WebDatasetOptions(_Model):
    members: list[str]
    shard_size: int
    keep_pairs: bool


class WebDatasetCounts(_Model):
    samples: int
    samples_without_members: int
    interactions: int
    interactions_across_shards: int
    source_shards: int
    shards: int
    members: int
    members_absent: dict[str, int]  # by extension
    payload_bytes: int
    bytes: int  # of the output shards


class WebDatasetManifest(Header):
    kind: Literal["webdataset"] = "webdataset"
    options: WebDatasetOptions
    counts: WebDatasetCounts
    samples_without_members: list[str]  # selected file ids with none of the requested members
    shards: list[Shard]
    samples: list[WebDatasetSample]


# -- parquet --------------------------------------------------------------------------------------------------
class Part(_Model):
    path: str  # relative to the output
    rows: int
    bytes: int
    sha256: str


class Table(_Model):
    rows: int
    bytes: int
    files: list[Part]


class ParquetOptions(_Model):
    part_size: int
    tables: list[str]


class ParquetCounts(_Model):
    samples: int
    interactions: int
    source_shards: int
    files: int
    rows: dict[str, int]  # by table
    bytes: int


class ParquetManifest(Header):
    kind: Literal["parquet"] = "parquet"
    options: ParquetOptions
    tables: dict[str, Table]
    counts: ParquetCounts
    samples: list[Sample]


ExportManifest = WebDatasetManifest | ParquetManifest
_MANIFEST: TypeAdapter[ExportManifest] = TypeAdapter(Annotated[ExportManifest, Field(discriminator="kind")])


def parse_manifest(data: str | bytes) -> ExportManifest:
    """A manifest.json's text as its model (pydantic.ValidationError if it is not one)."""
    return _MANIFEST.validate_json(data)
