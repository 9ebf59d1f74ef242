"""Resource limits applied while decoding one sample (checked before and while inflating)."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class Caps:
    """Limits past which a sample is rejected (`npz_too_large`, `json_too_large`).

    Declared sizes (zip central directory, .npy header shape x itemsize) are checked before anything is
    inflated; inflation itself is bounded by the declared size, so a lying entry stops one byte past it.
    """

    max_npz_bytes: int = 2 * GiB  # the npz member as stored in the tar
    max_entry_bytes: int = 2 * GiB  # one inflated npz entry (.npy header + data)
    max_inflated_bytes: int = 4 * GiB  # all inflated npz entries of one sample
    max_frames: int = 2_000_000  # T (int32 frame_idx; ~18.5 h at 30 fps)
    max_json_bytes: int = 64 * MiB
    max_npy_header_bytes: int = 64 * 1024  # the .npy header dict (numpy itself stops at 10,000)
    max_mp4_boxes: int = 4096  # box headers walked at one level of an mp4


DEFAULT_CAPS = Caps()
