"""Resource limits applied while decoding one sample (checked before and while inflating).

The defaults follow from the release (`schemas.catalogue` and the release facts): a file averages ~224 s
(4,000 h over ~64,700 interactions) and ~15 MB of npz, i.e. ~6,700 frames. `MAX_FRAMES` allows an hour at
30 fps, 16x the average; every byte cap is derived from it and the per-frame layout, so one sample's inflated
arrays stay under ~0.5 GB and a worker under the 1.5 GB it is budgeted, whatever the input claims. A zip
bomb is stopped by the declared sizes (zip directory, .npy header shapes) before anything inflates, and a
lying entry one byte past its declaration. No compression-ratio cap: a file whose frames are all invalid is
zeros, legitimately compressing >1000:1; the frame and byte caps bound memory instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from silake.schemas.catalogue import HYPERNET_FEATURE, HYPERNET_STEP, frame_bytes

GiB = 1 << 30
MiB = 1 << 20

#: One hour at 30 fps.
MAX_FRAMES = 30 * 3600
#: Inflated bytes of one frame's arrays, hypernet rows included (one per HYPERNET_STEP frames).
_HYPERNET_FRAME_BYTES = -(-HYPERNET_FEATURE.np_dtype.itemsize * int(HYPERNET_FEATURE.frame_shape[-1]) // HYPERNET_STEP)
INFLATED_BYTES_PER_FRAME = frame_bytes() + _HYPERNET_FRAME_BYTES
#: A sample's inflated npz at MAX_FRAMES, with room for the .npy headers and zip framing.
MAX_INFLATED_BYTES = MAX_FRAMES * INFLATED_BYTES_PER_FRAME + 16 * MiB


@dataclass(frozen=True)
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


DEFAULT_CAPS = Caps()
