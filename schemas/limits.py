"""Every resource limit of a run, with its default: one sample's caps (decoding), the tar walker's caps and
the shard reader's read-ahead, and the metadata CSVs' caps. `silake.settings` overrides each from a
`SILAKE_<FIELD>` variable; the launcher resolves them once per run and hands the workers theirs in the
IngestContext.

The sample caps follow from the release (`schemas.catalogue` and the release facts): a file averages ~224 s
(4,000 h over ~64,700 interactions) and ~15 MB of npz, i.e. ~6,700 frames. `MAX_FRAMES` allows an hour at
30 fps, 16x the average; every byte cap is derived from it and the per-frame layout, so one sample's inflated
arrays stay under ~0.5 GB and a worker under the 1.5 GB it is budgeted, whatever the input claims. A zip
bomb is stopped by the declared sizes (zip directory, .npy header shapes) before anything inflates, and a
lying entry one byte past its declaration. No compression-ratio cap: a file whose frames are all invalid is
zeros, legitimately compressing >1000:1; the frame and byte caps bound memory instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import HYPERNET_FEATURE, HYPERNET_STEP, frame_bytes
from .release import METADATA_ROWS

GiB = 1 << 30
MiB = 1 << 20

#: One hour at 30 fps.
MAX_FRAMES = 30 * 3600
#: Inflated bytes of one frame's arrays, hypernet rows included (one per HYPERNET_STEP frames).
_HYPERNET_FRAME_BYTES = -(-HYPERNET_FEATURE.np_dtype.itemsize * int(HYPERNET_FEATURE.frame_shape[-1]) // HYPERNET_STEP)
INFLATED_BYTES_PER_FRAME = frame_bytes() + _HYPERNET_FRAME_BYTES


def inflated_bytes(max_frames: int) -> int:
    """A sample's inflated npz at `max_frames`, with room for the .npy headers and zip framing."""
    return max_frames * INFLATED_BYTES_PER_FRAME + 16 * MiB


MAX_INFLATED_BYTES = inflated_bytes(MAX_FRAMES)


@dataclass(frozen=True, slots=True)
class Caps:
    """Limits past which a sample is rejected (`npz_too_large`, `json_too_large`).

    Declared sizes (zip central directory, .npy header shape x itemsize) are checked before anything is
    inflated; inflation itself is bounded by the declared size, so a lying entry stops one byte past it.
    """

    max_npz_bytes: int = MAX_INFLATED_BYTES  # the npz member as stored in the tar (stored entries: inflated)
    max_entry_bytes: int = MAX_INFLATED_BYTES  # one inflated npz entry (.npy header + data)
    max_inflated_bytes: int = MAX_INFLATED_BYTES  # all inflated npz entries of one sample
    max_frames: int = MAX_FRAMES  # T
    max_json_bytes: int = 64 * MiB  # the release's json averages ~70 KB
    max_npy_header_bytes: int = 64 * 1024  # the .npy header dict (numpy itself stops at 10,000)
    max_mp4_boxes: int = 4096  # box headers walked at one level of an mp4

    @classmethod
    def for_frames(cls, max_frames: int) -> Caps:
        """The default caps with the frame cap at `max_frames` and the npz byte caps derived from it."""
        cap = inflated_bytes(max_frames)
        return cls(max_npz_bytes=cap, max_entry_bytes=cap, max_inflated_bytes=cap, max_frames=max_frames)


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """How one shard is read: the tar walker's caps, the reader's read-ahead and the shard job's queues."""

    max_tar_member_bytes: int = 8 * GiB  # a member claiming more is corrupt (the release's are < 1 GB)
    max_tar_extended_header_bytes: int = MiB  # long-name and pax payloads are read in full: more is corrupt
    # Each fetch reads up to this past what was asked, so a tar header read pulls in the next small member,
    # but a media payload is never fetched by read-ahead past one window.
    read_window: int = 64 * 1024
    # Windows kept: the fetch thread runs a few samples ahead of decoding, and decoding then reads the current
    # sample's media headers, whose windows must not have been evicted meanwhile (a refetch reads bytes twice).
    read_cache_windows: int = 32
    prefetch_samples: int = 2  # samples (json and npz bytes) fetched ahead of decoding
    write_behind_batches: int = 16  # record batches queued behind decoding for the Parquet writer
    # Freed memory a process running shards keeps for the next sample rather than returning it to the kernel
    # (glibc: `silake.memory`); 0 leaves the C library's defaults. About a worker's peak (~0.5 GB) is kept.
    keep_freed_bytes: int = GiB


@dataclass(frozen=True, slots=True)
class MetadataLimits:
    """How much of a metadata CSV is read before it is refused (its size by one stat, then row by row)."""

    max_csv_bytes: int = 512 * MiB
    max_csv_rows_factor: int = 10  # rows of one CSV: this many times the release's (at least 1,000)

    def max_rows(self, name: str) -> int:
        """Rows read from metadata table `name` before it is refused."""
        return max(self.max_csv_rows_factor * METADATA_ROWS[name], 1_000)


DEFAULT_CAPS = Caps()
DEFAULT_READ_LIMITS = ReadLimits()
DEFAULT_METADATA_LIMITS = MetadataLimits()
