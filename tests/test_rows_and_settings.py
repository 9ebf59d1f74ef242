"""Typed table rows match their Arrow schemas; every limit is a setting, resolved by the launcher and handed to
the workers, which never read the environment for it."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from silake import settings
from silake.schemas.limits import (
    DEFAULT_CAPS,
    DEFAULT_METADATA_LIMITS,
    DEFAULT_READ_LIMITS,
    Caps,
    MetadataLimits,
    ReadLimits,
)
from silake.schemas.release import METADATA_ROWS
from silake.schemas.rows import ROW_SCHEMAS, FilesRow, QuarantineRow, record_batch
from silake.schemas.tables import FILES, QUARANTINE, TABLES
from silake.sources.filesystems import DEFAULT_HF_ENDPOINT, SourceAccess
from silake.sources.retry import RetryPolicy

# --- typed rows ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("row_type", "table"), [(FilesRow, "files"), (QuarantineRow, "quarantine")])
def test_each_row_type_has_exactly_its_tables_columns_in_order(row_type: type, table: str) -> None:
    names = [f.name for f in dataclasses.fields(row_type)]
    assert names == TABLES[table].sample_schema.names  # the file columns without shard_key (and the partition)
    assert ROW_SCHEMAS[row_type] is TABLES[table].sample_schema


def test_rows_become_a_batch_of_the_tables_schema_column_by_column() -> None:
    rows = [QuarantineRow("s.tar", "sample", 3, "k.npz", "V00_S0001_I00000001_P0001", "npz_pickle", "pickled",
                          "run-1"),
            QuarantineRow("s.tar", "shard", None, None, None, "truncated", "cut", "run-1")]
    batch = record_batch(QuarantineRow, rows)
    assert batch.schema.equals(QUARANTINE)
    assert batch.to_pylist() == [dataclasses.asdict(r) for r in rows]
    empty = record_batch(FilesRow, [])
    assert empty.num_rows == 0 and empty.schema.equals(FILES)
    with pytest.raises(TypeError):
        QuarantineRow(shard_uri="s.tar", scope="shard", sample_index=None, member_nmae=None,  # type: ignore[call-arg]
                      file_id=None, reason_code="x", reason="y", run_id=None)


def test_a_wrong_value_type_fails_instead_of_becoming_null() -> None:
    row = QuarantineRow("s.tar", "sample", "three", None, None, "x", "y", None)  # type: ignore[arg-type]
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        record_batch(QuarantineRow, [row])


# --- settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "prefix"), [(Caps, ""), (ReadLimits, ""), (MetadataLimits, ""),
                                               (RetryPolicy, "retry_")])
def test_every_limit_has_its_variable(group: type, prefix: str) -> None:
    declared = settings.Settings.model_fields
    for f in dataclasses.fields(group):
        assert prefix + f.name in declared, f"{group.__name__}.{f.name} has no SILAKE_{(prefix + f.name).upper()}"
        assert declared[prefix + f.name].default is None  # the default is the dataclass's, declared once
        assert f"SILAKE_{(prefix + f.name).upper()}" in settings.__doc__


def test_unset_variables_mean_the_declared_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.Settings.model_fields:
        monkeypatch.delenv(f"SILAKE_{name.upper()}", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    s = settings.current()
    assert (s.caps(), s.read_limits(), s.metadata_limits(), s.retry_policy()) == (
        DEFAULT_CAPS, DEFAULT_READ_LIMITS, DEFAULT_METADATA_LIMITS, RetryPolicy())
    assert s.source_access() == SourceAccess(False, DEFAULT_HF_ENDPOINT, RetryPolicy())


def test_variables_override_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SILAKE_MAX_FRAMES", "900")
    monkeypatch.setenv("SILAKE_MAX_JSON_BYTES", "4096")
    monkeypatch.setenv("SILAKE_READ_WINDOW", "0")
    monkeypatch.setenv("SILAKE_MAX_TAR_MEMBER_BYTES", "1000000")
    monkeypatch.setenv("SILAKE_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("SILAKE_S3_ANON", "1")
    monkeypatch.delenv("SILAKE_HF_ENDPOINT", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    s = settings.current()
    caps = s.caps()
    assert (caps.max_frames, caps.max_json_bytes) == (900, 4096)
    assert caps.max_inflated_bytes == Caps.for_frames(900).max_inflated_bytes < DEFAULT_CAPS.max_inflated_bytes
    assert (s.read_limits().read_window, s.read_limits().max_tar_member_bytes) == (0, 1_000_000)
    assert s.source_access() == SourceAccess(True, "http://127.0.0.1:9", RetryPolicy(attempts=2))
    monkeypatch.setenv("SILAKE_HF_ENDPOINT", "http://127.0.0.1:10")  # silake's own variable first
    assert settings.current().source_access().hf_endpoint == "http://127.0.0.1:10"


def test_settings_are_validated_again_only_when_a_variable_they_read_changes(monkeypatch) -> None:
    monkeypatch.setenv("SILAKE_RETRY_ATTEMPTS", "3")
    first = settings.current()
    assert settings.current() is first  # nothing changed: the same validated object
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    assert settings.current() is first
    monkeypatch.setenv("silake_retry_attempts", "4")  # pydantic-settings matches names case-insensitively
    monkeypatch.delenv("SILAKE_RETRY_ATTEMPTS")
    assert settings.current().retry_policy().attempts == 4
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:11/")
    monkeypatch.delenv("SILAKE_HF_ENDPOINT", raising=False)
    assert settings.current().source_access().hf_endpoint == "http://127.0.0.1:11"
    monkeypatch.setenv("SILAKE_RETRY_ATTEMPTS", "zero")
    with pytest.raises(ValueError, match="retry_attempts"):
        settings.current()


def test_a_run_applies_the_caps_its_launcher_resolved(sample_release, tmp_path, monkeypatch) -> None:
    from lake_builder import read_table

    from silake.ingest import run

    release, _ = sample_release
    monkeypatch.setenv("SILAKE_MAX_JSON_BYTES", "16")
    summary, _ = run([str(release / "naturalistic/test/0000/0000.tar")], str(tmp_path / "lake"), workers=1)
    assert summary.samples_seen > 0 and summary.quarantined_samples == summary.samples_seen
    codes = {r["reason_code"] for r in read_table(tmp_path / "lake", "quarantine").to_pylist()
             if r["scope"] == "sample"}
    assert codes == {"json_too_large"}


def test_a_shard_job_reads_nothing_from_the_environment(sample_release, tmp_path, monkeypatch) -> None:
    """A worker gets the Hub endpoint, retries and caps from its IngestContext: with the settings unreadable
    and no endpoint in the environment, it still reads an hf:// shard."""
    from servers import FakeHubServer

    from silake.shard_job import IngestContext, ingest_shard
    from silake.sources.discovery import shard_ref
    from silake.sources.filesystems import clear_cache

    release, truth = sample_release
    rel = truth.shards[0].path
    monkeypatch.delenv("SILAKE_HF_ENDPOINT", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)

    def unreadable(*_: object, **__: object) -> None:
        raise AssertionError("a worker read the settings from the environment")

    with FakeHubServer(release) as hub:
        monkeypatch.setattr(settings, "Settings", unreadable)
        clear_cache()
        shard = shard_ref(f"{hub.hf_root}/{rel}", (release / rel).stat().st_size, "etag")
        ctx = IngestContext(str(tmp_path / "lake"), "run-x", access=SourceAccess(hf_endpoint=hub.url),
                            reads=ReadLimits(prefetch_samples=1))
        report = ingest_shard(shard, ctx)
        clear_cache()
    assert report.commit.status == "ok", report.commit
    assert report.commit.files_rows == sum(1 for f in truth.files if f.shard == rel) > 0


def test_a_run_applies_the_metadata_caps_its_launcher_resolved(sample_release, tmp_path, monkeypatch) -> None:
    """SILAKE_MAX_CSV_BYTES and SILAKE_MAX_CSV_ROWS_FACTOR reach the CSV reader."""
    from silake.ingest import run

    release, _ = sample_release
    size = (release / "participants.csv").stat().st_size
    monkeypatch.setenv("SILAKE_MAX_CSV_BYTES", str(size - 1))
    with pytest.raises(ValueError, match=f"participants.csv: {size:,} bytes exceeds the {size - 1:,} byte cap"):
        run([str(release)], str(tmp_path / "lake"), workers=1)
    monkeypatch.setenv("SILAKE_MAX_CSV_BYTES", str(size))
    monkeypatch.setenv("SILAKE_MAX_CSV_ROWS_FACTOR", "1")
    assert settings.current().metadata_limits() == MetadataLimits(max_csv_bytes=size, max_csv_rows_factor=1)
    assert settings.current().metadata_limits().max_rows("participants") == METADATA_ROWS["participants"]


def test_the_readme_lists_the_settings_as_the_settings_module_documents_them() -> None:
    from pathlib import Path

    def table(text: str) -> str:
        start = text.index("| variable | default | what |")
        return text[start:text.index("\n\n", start)].split("\n<!--")[0]

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert table(readme) == table(settings.__doc__ or "")


def _stated_default_mismatches(doc: str) -> tuple[int, list[str]]:
    """(rows checked, rows whose stated default differs from the code's) of the settings table in `doc`.
    A default given as a value (`-`, `false`, `30`, `64 KiB`) or as derived `from max frames` is checked;
    a path or another variable is not."""
    import re

    from silake.lake.committer import CommitPolicy

    groups = [(DEFAULT_CAPS, ""), (DEFAULT_READ_LIMITS, ""), (DEFAULT_METADATA_LIMITS, ""), (RetryPolicy(), "retry_"),
              (CommitPolicy(), "commit_")]
    declared = {prefix + f.name: getattr(g, f.name) for g, prefix in groups for f in dataclasses.fields(g)}
    units = {"KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
    checked, wrong = 0, []
    for line in doc.splitlines():
        row = re.match(r"\| `SILAKE_(\w+)` \| (.+?) \| .+ \|$", line)
        if row is None:
            continue
        name, cell = row.group(1).lower(), row.group(2)
        value = settings.Settings.model_fields[name].default
        value = declared.get(name) if value is None else value
        stated = re.match(r"(-|false|true|[\d.]+(?: [KMG]iB)?)(?: |$)", cell)
        if cell.startswith("from max frames"):  # a cap derived from the frames cap, as Caps.for_frames does
            checked += 1
            if value != getattr(Caps.for_frames(DEFAULT_CAPS.max_frames), name):
                wrong.append(f"SILAKE_{name.upper()}: not derived from max frames")
            continue
        if stated is None:
            continue
        text = stated.group(1)
        if text == "-":
            ok = value in (None, "")
        elif text in ("false", "true"):
            ok = value is (text == "true")
        else:
            number, _, unit = text.partition(" ")
            ok = value == float(number) * units.get(unit, 1)
        checked += 1
        if not ok:
            wrong.append(f"SILAKE_{name.upper()}: the table says {cell!r}, the code {value!r}")
    return checked, wrong


def test_the_settings_table_states_the_defaults_the_code_declares() -> None:
    doc = settings.__doc__ or ""
    checked, wrong = _stated_default_mismatches(doc)
    assert (checked, wrong) == (30, [])
    planted = doc.replace("| `SILAKE_READ_WINDOW` | 64 KiB |", "| `SILAKE_READ_WINDOW` | 32 KiB |")
    assert _stated_default_mismatches(planted)[1] == [
        "SILAKE_READ_WINDOW: the table says '32 KiB', the code 65536"]
    planted = doc.replace("| `SILAKE_S3_ANON` | false |", "| `SILAKE_S3_ANON` | - |")
    assert _stated_default_mismatches(planted)[1] == ["SILAKE_S3_ANON: the table says '-', the code False"]


def test_a_lake_is_never_written_anonymously_whatever_the_sources_setting(monkeypatch) -> None:
    """SILAKE_S3_ANON=1 (public sources) leaves the lake's and an export's filesystem signed."""
    from silake.lake.storage import LakeStorage
    from silake.sources.filesystems import clear_cache, resolve

    monkeypatch.setenv("SILAKE_S3_ANON", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing is contacted: no request is made
    clear_cache()
    try:
        assert resolve("s3://public-release/improvised")[0].anon is True
        assert LakeStorage("s3://my-lake/lake").fs.anon is False
    finally:
        clear_cache()


def test_a_files_row_takes_every_fact_by_name_and_refuses_a_misspelt_one() -> None:
    from types import SimpleNamespace

    from silake import shard_job
    from silake.schemas.ids import parse_file_id

    keys = parse_file_id("V00_S0809_I00000582_P0947")
    ctx = shard_job.IngestContext("lake", "run-1")
    shard = SimpleNamespace(batch_idx=0, archive_idx=3, uri="s.tar")
    given = {*keys._fields, "batch_idx", "archive_idx", "shard_uri", "sample_index", "run_id",
             *ctx.metadata.columns_for(keys)}
    facts = {f.name: None for f in dataclasses.fields(FilesRow) if f.name not in given}
    assert "n_frames" in facts and "mp4_size" in facts
    row = shard_job._files_row(ctx, shard, SimpleNamespace(index=5), SimpleNamespace(keys=keys, facts=facts))
    assert (row.file_id, row.archive_idx, row.sample_index, row.run_id) == (keys.file_id, 3, 5, "run-1")
    misspelt = {("n_frame" if k == "n_frames" else k): v for k, v in facts.items()}
    with pytest.raises(TypeError, match="n_frame"):
        shard_job._files_row(ctx, shard, SimpleNamespace(index=5), SimpleNamespace(keys=keys, facts=misspelt))
