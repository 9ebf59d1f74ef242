"""`write_release`: a miniature release on disk (tar shards + metadata CSVs) and its ground truth.

Shards are written member by member (json, mp4, npz, wav per sample, flat names) as webdataset's TarWriter
writes them: tarfile's pax format, owner `bigdata`, mode 0444 and a float mtime, so a pax extended header
(`mtime=...`) precedes every member. `tar_format="ustar"` writes the same members with plain ustar headers
(whole-second mtime), as shards re-packed by other tools are. The mtime is fixed, so a seed always gives the
same bytes. Media are streamed into the tar in chunks; only one npz is ever held in memory.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from silake import failpoints
from silake.schemas.release import ANNOTATION_KINDS, WAV_HEADER_BYTES

from . import flags as qa
from .bench_release import BenchProfile, bench_interactions, bench_metadata
from .demo_release import demo_plan
from .features import make_features, npz_bytes
from .media import ChunkStream, mp4_chunks, mp4_size, wav_chunks, wav_size
from .metadata_csv import write_metadata
from .specs import FileSpec, InteractionSpec, ShardSpec
from .transcript import FileText, build_interaction_text
from .truth import FileTruth, ReleaseTruth, ShardTruth, defects_from_flags

TarFormat = Literal["pax", "ustar"]
#: Header form of each `tar_format`: tarfile's format and the mtime stamped on every member (2025-01-01, fixed:
#: no clock in the bytes). A float mtime is what makes tarfile's pax format write an extended header.
TAR_FORMATS: dict[str, tuple[int, float | int]] = {
    "pax": (tarfile.PAX_FORMAT, 1_735_689_600.123456),
    "ustar": (tarfile.USTAR_FORMAT, 1_735_689_600),
}
#: Owner and mode as webdataset's TarWriter writes them (uid and gid stay 0).
TAR_OWNER = "bigdata"
TAR_MODE = 0o444
TAR_BLOCK = 512
COPY_BUFSIZE = 1 << 20
DEFAULT_BENCH_SHARDS = 2

ShardCallback = Callable[[ShardTruth], None]
Members = tuple[tuple[str, int, int], ...]
#: What a shard-writing pass returns: samples, shards, then the participants, relationships, prompts rows.
Pass = tuple[list["_Written"], list[ShardTruth], tuple, tuple, tuple]


@dataclass
class _Written:
    """A sample as written: its truth record (flags still empty), its facts for flag computation, its spec."""

    truth: FileTruth
    facts: qa.SampleFacts
    spec: FileSpec


class _ShardWriter:
    """One open tar shard; `add` writes one sample's four members consecutively."""

    def __init__(self, root: Path, spec: ShardSpec, seed: int, tar_format: TarFormat) -> None:
        self.spec, self.seed, self.root = spec, seed, root
        failpoints.hit("sample.file")
        path = root / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt, self._mtime = TAR_FORMATS[tar_format]
        # held open across add() calls, closed by close()
        self._tar = tarfile.TarFile(path, "w", format=fmt, copybufsize=COPY_BUFSIZE)
        self.samples: list[_Written] = []

    @property
    def offset(self) -> int:
        return self._tar.offset

    def _member(self, name: str, size: int, data: io.RawIOBase | io.BytesIO) -> tuple[int, int]:
        """Write one member; returns its (payload offset, size): the padded payload ends the member, whatever
        headers (pax or not) precede it."""
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, TAR_MODE
        info.uid = info.gid = 0
        info.uname = info.gname = TAR_OWNER
        self._tar.addfile(info, data)
        padded = -(-size // TAR_BLOCK) * TAR_BLOCK
        return self._tar.offset - padded, size

    def add(self, spec: FileSpec, text: FileText) -> _Written:
        fid = spec.file_id
        members: list[tuple[str, int, int]] = []
        json_data = json.dumps(text.json_obj, indent=4).encode()
        members.append(("json", *self._member(f"{fid}.json", len(json_data), io.BytesIO(json_data))))
        members.append(("mp4", *self._member(f"{fid}.mp4", mp4_size(spec),
                                             ChunkStream(mp4_chunks(spec, self.seed)))))
        arrays, masks = make_features(spec, self.seed)
        npz = npz_bytes(arrays, spec.npz_compresslevel)
        del arrays
        members.append(("npz", *self._member(f"{fid}.npz", len(npz), io.BytesIO(npz))))
        members.append(("wav", *self._member(f"{fid}.wav", wav_size(spec.wav_n_samples),
                                             ChunkStream(wav_chunks(spec, text.speech, self.seed)))))
        counts = {
            "n_valid_box": int(masks.box_valid.sum()),
            "n_valid_pose": int(masks.pose_valid.sum()),
            "n_valid_movement": int(masks.movement_valid.sum()) if spec.has_movement else 0,
            "n_sentinel_frames": int(masks.sentinel.sum()),
        }
        written = _record(self.spec, len(self.samples), spec, text.json_obj, tuple(members), counts)
        self.samples.append(written)
        return written

    def close(self) -> ShardTruth:
        self._tar.close()
        s = self.spec
        return ShardTruth(s.path, s.label, s.split, s.batch_idx, s.archive_idx, len(self.samples),
                          (self.root / s.path).stat().st_size)


def _record(shard: ShardSpec, index: int, spec: FileSpec, obj: dict, members: Members,
            counts: dict[str, int]) -> _Written:
    words = tuple((w["word"], w.get("start"), w.get("end"))
                  for seg in obj["metadata:transcript"] for w in seg["words"])
    vad = tuple((v["start"], v["end"]) for v in obj["metadata:vad"])
    notes = tuple((kind, a["annotation"], a["start_ts"], a["end_ts"])
                  for kind in ANNOTATION_KINDS for a in obj.get(f"annotations:{kind}", ()))
    truth = FileTruth(
        file_id=spec.file_id, label=shard.label, split=shard.split, batch_idx=shard.batch_idx,
        archive_idx=shard.archive_idx, shard=shard.path, sample_index=index, vendor_id=spec.vendor_id,
        session_id=spec.session_id, prompt_hash=spec.prompt_hash, participant_id=spec.participant_id,
        interaction_key=spec.interaction_key, nominal_fps=str(spec.fps), n_frames=spec.n_frames,
        n_hypernet=spec.n_hypernet, n_transcript_segments=len(obj["metadata:transcript"]), n_words=len(words),
        n_timed_words=sum(b is not None and e is not None for _, b, e in words), n_vad_segments=len(vad),
        n_annotations=len(notes),
        annotation_kinds=tuple(k for k in ANNOTATION_KINDS if f"annotations:{k}" in obj),
        has_movement=spec.has_movement, hypernet_rounding=spec.hypernet_rounding,
        wav_n_samples=spec.wav_n_samples, mp4_duration_s=spec.mp4_duration_ms / 1000,
        mp4_moov_first=spec.moov_first or spec.n_frames == 0, mp4_has_video=spec.n_frames > 0,
        json_has_id="id" in obj, members=members, flags=(), **counts,
    )
    assert dict((e, s) for e, _, s in members)["wav"] == WAV_HEADER_BYTES + 4 * spec.wav_n_samples
    facts = qa.SampleFacts(
        label=shard.label, split=shard.split, file_id=spec.file_id, vendor_id=spec.vendor_id,
        session_id=spec.session_id, participant_id=spec.participant_id, interaction_key=spec.interaction_key,
        n_frames=spec.n_frames, nominal_fps=spec.fps, wav_n_samples=spec.wav_n_samples, words=words, vad=vad,
        annotations=notes, n_valid_box=counts["n_valid_box"], n_valid_pose=counts["n_valid_pose"],
        n_sentinel_frames=counts["n_sentinel_frames"],
    )
    return _Written(truth, facts, spec)


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)


def _texts(interactions: Iterable[InteractionSpec], seed: int) -> dict[str, FileText]:
    texts: dict[str, FileText] = {}
    for inter in interactions:
        texts.update(build_interaction_text(inter, seed))
    return texts


def _close(writer: _ShardWriter, written: list[_Written], shards: list[ShardTruth],
           on_shard: ShardCallback | None) -> None:
    """Close a finished shard and record what it holds."""
    shards.append(writer.close())
    written += writer.samples
    if on_shard:
        on_shard(shards[-1])


def _write_demo(out: Path, seed: int, tar_format: TarFormat, on_shard: ShardCallback | None) -> Pass:
    plan = demo_plan(seed)
    texts = _texts(plan.interactions, seed)
    written: list[_Written] = []
    shards: list[ShardTruth] = []
    for shard_spec in plan.shards:
        writer = _ShardWriter(out, shard_spec, seed, tar_format)
        for spec in shard_spec.files:
            writer.add(spec, texts[spec.file_id])
        _close(writer, written, shards, on_shard)
    return written, shards, plan.participants, plan.relationships, plan.prompts


def _write_bench(out: Path, seed: int, n_shards: int, profile: BenchProfile, tar_format: TarFormat,
                 on_shard: ShardCallback | None) -> Pass:
    written: list[_Written] = []
    shards: list[ShardTruth] = []
    interactions = bench_interactions(seed, profile)
    for archive in range(n_shards):
        writer = _ShardWriter(out, ShardSpec("improvised", "train", 0, archive, ()), seed, tar_format)
        while writer.offset < profile.shard_target_bytes:  # close once past the target, after an interaction
            inter = next(interactions)
            texts = build_interaction_text(inter, seed)
            for spec in inter.files:
                writer.add(spec, texts[spec.file_id])
        _close(writer, written, shards, on_shard)
    return (written, shards, *bench_metadata(seed, [w.spec for w in written]))


def write_release(
    out: Path | str,
    *,
    seed: int = 0,
    scale: Literal["demo", "bench"] = "demo",
    shards: int | None = None,
    bench_profile: BenchProfile | None = None,
    tar_format: TarFormat = "pax",
    on_shard: ShardCallback | None = None,
) -> ReleaseTruth:
    """Write a miniature release into the empty (or missing) directory `out`; return its ground truth.

    demo: the fixed ~40-file layout with every documented defect (`shards` must be None).
    bench: `shards` (default 2) shards of clean files at real proportions; `bench_profile` shrinks them.
    tar_format: "pax" (webdataset's TarWriter: an extended header before every member) or "ustar".
    `on_shard` is called with each shard's record once it is closed.
    """
    out = Path(out)
    if tar_format not in TAR_FORMATS:
        raise ValueError(f"unknown tar_format {tar_format!r} (one of {', '.join(TAR_FORMATS)})")
    if scale == "demo":
        if shards is not None or bench_profile is not None:
            raise ValueError("shards and bench_profile apply to the bench scale only")
        _prepare(out)
        written, shard_truths, participants, relationships, prompts = _write_demo(
            out, seed, tar_format, on_shard)
    elif scale == "bench":
        n = DEFAULT_BENCH_SHARDS if shards is None else shards
        if n < 1:
            raise ValueError(f"shards must be >= 1, got {n}")
        _prepare(out)
        written, shard_truths, participants, relationships, prompts = _write_bench(
            out, seed, n, bench_profile or BenchProfile(), tar_format, on_shard)
    else:
        raise ValueError(f"unknown scale {scale!r}")

    facts = [w.facts for w in written]
    found, measures = qa.compute_flags(
        facts, {(p.vendor_id, p.participant_id) for p in participants},
        {(r.vendor_id, r.session_id) for r in relationships},
    )
    qa.check_margins(facts, measures)
    files = []
    for w, flags in zip(written, found, strict=True):
        if set(flags) != w.spec.planned_flags:
            planned = sorted(w.spec.planned_flags)
            raise qa.GenerationError(f"{w.truth.key}: trips {sorted(flags)}, planned {planned}")
        files.append(replace(w.truth, flags=flags))
    write_metadata(out, files, participants, relationships, prompts)
    return ReleaseTruth(seed=seed, scale=scale, files=tuple(files), shards=tuple(shard_truths),
                        participants=tuple(participants), relationships=tuple(relationships),
                        prompts=tuple(prompts), defects=defects_from_flags(files))
