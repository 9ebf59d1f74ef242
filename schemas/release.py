"""Constants of the Seamless Interaction release layout (DATA_FORMAT.md, 'Where the shards live')."""

from __future__ import annotations

from fractions import Fraction

LABELS: tuple[str, ...] = ("improvised", "naturalistic")
SPLITS: tuple[str, ...] = ("train", "dev", "test")

#: Shard path relative to a release root.
SHARD_PATH_FORMAT = "{label}/{split}/{batch:04d}/{archive:04d}.tar"
SHARD_PATH_REGEX = (
    r"(?P<label>improvised|naturalistic)/(?P<split>train|dev|test)/(?P<batch>\d{4})/(?P<archive>\d{4})\.tar$"
)

#: Metadata CSVs distributed beside the shards, at the release root.
METADATA_FILES: dict[str, str] = {
    "filelist": "filelist.csv",
    "participants": "participants.csv",
    "relationships": "relationships.csv",
    "prompts": "interactions.csv",
}

#: Rows of each metadata CSV in the release (DATA_FORMAT.md); the reader refuses 10x as many.
METADATA_ROWS: dict[str, int] = {
    "filelist": 129_370,
    "participants": 4_284,
    "relationships": 5_098,
    "prompts": 1_312,
}

#: Member extensions of one sample (WebDataset convention), in the order the release writes them.
MEMBER_EXTENSIONS: tuple[str, ...] = ("json", "mp4", "npz", "wav")
REQUIRED_MEMBERS: tuple[str, ...] = ("json", "npz")

#: Nominal video frame rate per vendor ("odd rates exist": the measured fps is T / wav duration).
VENDOR_NOMINAL_FPS: dict[str, Fraction] = {
    "00": Fraction(30, 1),
    "01": Fraction(30000, 1001),
    "02": Fraction(30, 1),
    "03": Fraction(30000, 1001),
}
DEFAULT_NOMINAL_FPS = Fraction(30, 1)

#: Audio: 48 kHz mono IEEE float32; RIFF header with 18-byte fmt (format 3), fact, data = 58 bytes.
WAV_SAMPLE_RATE = 48_000
WAV_CHANNELS = 1
WAV_FORMAT_IEEE_FLOAT = 3
WAV_BITS_PER_SAMPLE = 32
WAV_HEADER_BYTES = 58

#: One hypernet row every this many frames (0.5 s at 30 fps).
HYPERNET_STEP = 15

#: Annotation kinds: first/third-party internal state, rationale, visual.
ANNOTATION_KINDS: tuple[str, ...] = ("1P-IS", "1P-R", "3P-IS", "3P-R", "3P-V")

#: Class order of movement:emotion_scores.
EMOTION_CLASSES: tuple[str, ...] = (
    "Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise",
)

#: |translation| at or above this is the invalid-box sentinel (~1e12-1e14 in the release).
TRANSLATION_SENTINEL_MIN = 1e11

RELATIONSHIPS: tuple[str, ...] = ("stranger", "familiar")
RELATIONSHIP_DETAILS: tuple[str, ...] = (
    "stranger", "friends", "coworkers", "siblings", "familiar-generic", "neighbors",
    "dating/spouse/romantic_partner", "family-generic", "classmates", "parent_child", "roommates",
)
INTERACTION_TYPES: tuple[str, ...] = (
    "ipc_conversation", "grounded_gesture", "collaborative_storytelling", "charades",
)
UNDISCLOSED = "Undisclosed"


def nominal_fps(vendor_id: str) -> Fraction:
    """The vendor's nominal frame rate (30/1 or 30000/1001)."""
    return VENDOR_NOMINAL_FPS.get(vendor_id, DEFAULT_NOMINAL_FPS)
