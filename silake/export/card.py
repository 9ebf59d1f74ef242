"""The dataset card (README.md) of an export: what Hugging Face `datasets` and the Hub read.

Its YAML header declares the configs (which files form which split) and every column's type, so
`datasets.load_dataset(OUT)` loads an export without guessing: wav and mp4 are `binary` (inferred, they
would become Audio/Video features, whose encoding needs torch and torchcodec), npz arrays are nested lists
of the catalogue's dtypes (`schemas.catalogue`), json is the union of the json members' types (seen while
copying them: `JsonTypes`). The manifest is named by no config, so it is never read as data.

    WebDataset: configs default (every label), improvised, naturalistic; splits train / dev / test
    Parquet:    one config per table (files is the default); splits train / dev / test
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import yaml

from silake.schemas.catalogue import FEATURES
from silake.schemas.export_manifest import ExportManifest, ParquetManifest, WebDatasetManifest

#: A json member larger than this is copied without being parsed; the card then declares no features.
JSON_TYPES_MAX_BYTES = 64 << 20
SPLIT_ORDER = {"train": 0, "dev": 1, "test": 2}


def _split_key(split: str) -> tuple[int, str]:
    """train, dev, test first, then any other split by name."""
    return (SPLIT_ORDER.get(split, 9), split)


def _split_names(rows: list[tuple[str, str, int]]) -> list[str]:
    """The distinct splits of (label, split, count) rows, in card order."""
    return sorted({sp for _, sp, _ in rows}, key=_split_key)
RELEASE = "https://huggingface.co/datasets/facebook/seamless-interaction"


class JsonTypes:
    """The union (Arrow's permissive promotion) of the types of the json members seen so far."""

    def __init__(self) -> None:
        self.schema: pa.Schema | None = None
        self.problem: str | None = None  # why no type can be declared (then the card declares none)

    def observe(self, chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
        """Pass `chunks` through, then add the member they make up."""
        keep = self.problem is None and size <= JSON_TYPES_MAX_BYTES
        parts: list[bytes] = []
        for chunk in chunks:
            if keep:
                parts.append(chunk)
            yield chunk
        if keep:
            self.add(b"".join(parts))
        elif self.problem is None:
            self.problem = f"a json member of {size:,} bytes was not parsed"

    def add(self, data: bytes) -> None:
        try:
            obj = json.loads(data)
            if not isinstance(obj, dict):
                raise ValueError(f"a json member is a {type(obj).__name__}, not an object")
            self._merge(pa.Table.from_pylist([obj]).schema)
        except (ValueError, pa.ArrowException) as exc:
            self.problem = f"json member types cannot be declared: {exc}"

    def _merge(self, schema: pa.Schema) -> None:
        self.schema = schema if self.schema is None else pa.unify_schemas([self.schema, schema],
                                                                           promote_options="permissive")

    def merge(self, other: JsonTypes) -> None:
        self.problem = self.problem or other.problem
        if self.problem is None and other.schema is not None:
            try:
                self._merge(other.schema)
            except pa.ArrowException as exc:
                self.problem = f"json member types cannot be declared: {exc}"


def hf_feature(typ: pa.DataType) -> dict[str, Any]:
    """An Arrow type as a `datasets` feature in the card's YAML form (`dtype` / `list` / `struct`)."""
    if pa.types.is_struct(typ):
        return {"struct": [{"name": f.name, **hf_feature(f.type)} for f in typ]}
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        inner = hf_feature(typ.value_type)
        if list(inner) in (["dtype"], ["struct"]):
            return {"list": next(iter(inner.values()))}
        return {"list": inner}
    if pa.types.is_large_string(typ):
        return {"dtype": "large_string"}
    if pa.types.is_string(typ):
        return {"dtype": "string"}
    if pa.types.is_boolean(typ):
        return {"dtype": "bool"}
    if pa.types.is_null(typ):
        return {"dtype": "null"}
    if pa.types.is_binary(typ):
        return {"dtype": "binary"}
    floats = {"double": "float64", "float": "float32", "halffloat": "float16"}
    return {"dtype": floats.get(str(typ), str(typ))}  # int8 ... uint64 keep their names


def npz_feature() -> dict[str, Any]:
    """The npz member as `datasets` decodes it: a struct of every catalogue array, nested lists of its dtype
    as deep as the array (a file without movement features has nulls there)."""
    fields = []
    for f in FEATURES:
        inner: Any = {"dtype": hf_feature(pa.from_numpy_dtype(f.np_dtype))["dtype"]}
        for _ in range(1 + len(f.frame_shape)):
            inner = {"list": inner["dtype"]} if list(inner) == ["dtype"] else {"list": inner}
        fields.append({"name": f.key, **inner})
    return {"struct": fields}


class _PlainDumper(yaml.SafeDumper):
    """Repeated values written out again (no &anchors / *aliases): every YAML reader takes the card."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(header: dict[str, Any], body: str) -> str:
    text = yaml.dump(header, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)
    return f"---\n{text}---\n\n{body}"


def _splits(manifest: ExportManifest) -> list[tuple[str, str, int]]:
    """(label, split, samples) in the export, ordered."""
    counts: dict[tuple[str, str], int] = {}
    for s in manifest.samples:
        counts[(s.label, s.split)] = counts.get((s.label, s.split), 0) + 1
    return sorted(((lb, sp, n) for (lb, sp), n in counts.items()), key=lambda t: (t[0], *_split_key(t[1])))


def _split_table(rows: list[tuple[str, str, int]]) -> str:
    lines = ["| label | split | samples |", "|---|---|---:|"]
    lines += [f"| {lb} | {sp} | {n:,} |" for lb, sp, n in rows]
    return "\n".join(lines)


def _provenance(manifest: ExportManifest) -> str:
    lake = manifest.lake
    return (f"Exported by silake {manifest.silake_version} from the lake `{lake.uri}` at snapshot "
            f"{lake.snapshot}, with the predicate\n\n```sql\n{manifest.predicate}\n```\n\n"
            "`manifest.json` lists every sample's source shard, byte offsets and sha256; the same predicate at "
            "the same snapshot gives the same bytes.")


def webdataset_card(manifest: WebDatasetManifest, json_types: JsonTypes) -> str:
    """README.md of a WebDataset export."""
    rows = _splits(manifest)
    members = manifest.options.members
    labels = sorted({lb for lb, _, _ in rows})
    splits = _split_names(rows)

    def config(name: str, label: str) -> dict[str, Any]:
        return {"config_name": name, "data_files": [{"split": sp, "path": f"data/{label}/{sp}-*.tar"}
                                                    for sp in splits
                                                    if any(r[1] == sp and label in ("*", r[0]) for r in rows)]}

    configs = [config("default", "*")] + [config(lb, lb) for lb in labels]
    header: dict[str, Any] = {"pretty_name": "Seamless Interaction subset (silake export)",
                              "tags": ["webdataset", "seamless-interaction", "silake"], "configs": configs}
    types = {"json": None if json_types.schema is None else hf_feature(pa.struct(list(json_types.schema))),
             "npz": npz_feature(), "wav": {"dtype": "binary"}, "mp4": {"dtype": "binary"}}
    declared = json_types.problem is None and ("json" not in members or types["json"] is not None)
    if declared:
        features = [{"name": m, **types[m]} for m in members]  # type: ignore[dict-item]
        features += [{"name": "__key__", "dtype": "string"}, {"name": "__url__", "dtype": "string"}]
        header["dataset_info"] = [{"config_name": c["config_name"], "features": features} for c in configs]
    first = manifest.shards[0].name  # data/<label>/<split>-00000-of-NNNNN.tar
    stem, count = first.rsplit("-00000-of-", 1)
    brace = f"{stem}-{{00000..{int(count[:5]) - 1:05d}}}-of-{count}"
    note = "" if declared else (f"\n\n**No column types are declared** ({json_types.problem}): `datasets` infers "
                                "them, and needs torch and torchcodec for wav and mp4.")
    body = f"""# Seamless Interaction subset

A subset of Meta's [Seamless Interaction]({RELEASE}) release (dyadic face-to-face conversations) in
WebDataset format: one sample per participant file, keyed by its file id
(`V<vendor>_S<session>_I<prompt>_P<participant>`), with the members {", ".join(f"`{m}`" for m in members)}
copied byte for byte from the release. Shards hold one label and split each and keep an interaction's
partners together: `data/<label>/<split>-NNNNN-of-NNNNN.tar`.

{_split_table(rows)}

## Load it

```python
from datasets import load_dataset
ds = load_dataset("{'path/to/this/directory'}")                   # every label; splits {", ".join(splits)}
ds = load_dataset("{'path/to/this/directory'}", "{labels[0]}")    # one label
```

wav and mp4 load as raw bytes (no torch needed); npz as a dict of nested lists shaped like the arrays
(`np.asarray(row["npz"]["smplh:body_pose"])` is (T, 21, 3)); json as the release's dict. With `webdataset`:
`wds.WebDataset("{brace}")`.{note}

## Provenance

{_provenance(manifest)}
"""
    return _yaml(header, body)


def parquet_card(manifest: ParquetManifest, schemas: dict[str, pa.Schema]) -> str:
    """README.md of a Parquet export: one config per table, splits by the release's split."""
    rows = _splits(manifest)
    splits = _split_names(rows)
    tables = list(schemas)
    order = sorted(tables, key=lambda t: (t != "files", tables.index(t)))
    configs = [{"config_name": t, "data_files": [{"split": sp, "path": f"{t}/label=*/split={sp}/*.parquet"}
                                                 for sp in splits], **({"default": True} if t == "files" else {})}
               for t in order]
    header = {"pretty_name": "Seamless Interaction subset (silake export, Parquet)",
              "tags": ["parquet", "seamless-interaction", "silake"], "configs": configs}
    counts = manifest.counts.rows
    table_lines = "\n".join(f"| `{t}` | {counts.get(t, 0):,} |" for t in order)
    body = f"""# Seamless Interaction subset (Parquet)

Rows of the silake lake's tables for a subset of Meta's [Seamless Interaction]({RELEASE}) release, partitioned
like the lake (`<table>/label=<label>/split=<split>/part-NNNNNN.parquet`; label and split are also columns).

{_split_table(rows)}

| table | rows |
|---|---:|
{table_lines}

## Load it

```python
from datasets import load_dataset
files = load_dataset("path/to/this/directory")            # the files table; splits {", ".join(splits)}
frames = load_dataset("path/to/this/directory", "frames") # any table by name
```

Or with DuckDB: `SELECT * FROM read_parquet('frames/**/*.parquet')`.

## Provenance

{_provenance(manifest)}
"""
    return _yaml(header, body)
