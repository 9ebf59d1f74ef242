"""Record types of the release as pydantic models: the sample json and each metadata CSV row.

The models validate what the release really contains (DATA_FORMAT.md), defects included: words with null
times, empty lists, annotation intervals of any sign. They reject what the release never contains (a word
without text, a VAD interval without times, an unknown annotation kind, ids that are not strings of digits).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
)

from .ids import FILE_ID_REGEX
from .release import ANNOTATION_KINDS, UNDISCLOSED

Seconds = Annotated[float, Field(allow_inf_nan=False)]
DigitString = Annotated[str, StringConstraints(pattern=r"^\d+$")]
#: A shard's batch or archive number: the lake stores them as int32.
ShardIndex = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# --- the sample json -------------------------------------------------------------------------------


class Word(_Record):
    """One transcript word; `start`/`end` are null (and `score` absent) for some words."""

    word: str
    start: Seconds | None = None
    end: Seconds | None = None
    score: Annotated[float, Field(allow_inf_nan=False)] | None = None

    @model_serializer(mode="wrap")
    def _omit_missing_score(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Null times stay as explicit nulls; a missing score is an absent key (as the release writes it)."""
        data = handler(self)
        if data.get("score", 0) is None:
            del data["score"]
        return data


class TranscriptSegment(_Record):
    start: Seconds
    end: Seconds
    transcript: str
    words: list[Word] = Field(default_factory=list)


class VadInterval(_Record):
    """A speech interval in seconds (the stored VAD is intervals, not a 100 Hz track)."""

    start: Seconds
    end: Seconds


class Annotation(_Record):
    """A moment of interest, in whole seconds from the file start; any sign of length occurs."""

    annotation: str
    start_ts: int
    end_ts: int


class SampleJson(_Record):
    """The `{file_id}.json` member. `id` is missing in some early uploads."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Annotated[str, StringConstraints(pattern=FILE_ID_REGEX.pattern)] | None = None
    transcript: list[TranscriptSegment] = Field(alias="metadata:transcript")
    vad: list[VadInterval] = Field(alias="metadata:vad")
    annotations_1p_is: list[Annotation] | None = Field(None, alias="annotations:1P-IS")
    annotations_1p_r: list[Annotation] | None = Field(None, alias="annotations:1P-R")
    annotations_3p_is: list[Annotation] | None = Field(None, alias="annotations:3P-IS")
    annotations_3p_r: list[Annotation] | None = Field(None, alias="annotations:3P-R")
    annotations_3p_v: list[Annotation] | None = Field(None, alias="annotations:3P-V")

    def annotations(self) -> dict[str, list[Annotation]]:
        """Annotation lists by kind, for the kinds present in the file."""
        out: dict[str, list[Annotation]] = {}
        for kind in ANNOTATION_KINDS:
            value = getattr(self, _annotation_field(kind))
            if value is not None:
                out[kind] = value
        return out

    def to_json_dict(self) -> dict:
        """The json object as the release writes it (aliases as keys, absent kinds and id omitted).

        Only top-level Nones are dropped: a word's null `start`/`end` stays an explicit null.
        """
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}


def _annotation_field(kind: str) -> str:
    return "annotations_" + kind.lower().replace("-", "_")


# --- metadata CSV rows ------------------------------------------------------------------------------


class FilelistRow(_Record):
    """`filelist.csv`."""

    file_id: Annotated[str, StringConstraints(pattern=FILE_ID_REGEX.pattern)]
    label: Literal["improvised", "naturalistic"]
    split: Literal["train", "dev", "test"]
    batch_idx: ShardIndex
    archive_idx: ShardIndex
    has_imitator_movement: bool
    has_annotation_1p: bool
    has_annotation_3p: bool


class ParticipantRow(_Record):
    """`participants.csv`: BFI-2 domain means (1-5), or 'Undisclosed' in all five.

    `vendor_id` is spelled `00` here (relationships.csv spells it `V00`).
    """

    extraversion_raw: float | None
    agreeableness_raw: float | None
    conscientiousness_raw: float | None
    neuroticism_raw: float | None
    openness_raw: float | None
    vendor_id: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    participant_id: Annotated[str, StringConstraints(pattern=r"^\d+[A-Z]*$")]

    @field_validator(
        "extraversion_raw", "agreeableness_raw", "conscientiousness_raw", "neuroticism_raw", "openness_raw",
        mode="before",
    )
    @classmethod
    def _undisclosed(cls, v: object) -> object:
        return None if v == UNDISCLOSED or v == "" else v

    @property
    def disclosed(self) -> bool:
        return self.extraversion_raw is not None


BFI_COLUMNS: tuple[str, ...] = (
    "extraversion_raw", "agreeableness_raw", "conscientiousness_raw", "neuroticism_raw", "openness_raw",
)


class RelationshipRow(_Record):
    """`relationships.csv`; `vendor_id` spelled `V03`, normalise with `vendor_key`."""

    vendor_id: Annotated[str, StringConstraints(pattern=r"^V\d{2}$")]
    session_id: DigitString
    relationship: str
    relationship_detail: str

    @property
    def vendor_key(self) -> str:
        return self.vendor_id[1:]


class InteractionRow(_Record):
    """`interactions.csv` (the prompts): an unnamed index column first; texts are quoted and multi-line."""

    index: int
    prompt_hash: Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
    prompt_id_unique: str
    participant_a_prompt_text: str
    participant_b_prompt_text: str
    ipc_a: str | None = None
    ipc_b: str | None = None
    interaction_type: str


#: CSV header lines exactly as the release writes them (the unnamed index column is an empty name).
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "filelist": tuple(FilelistRow.model_fields),
    "participants": tuple(ParticipantRow.model_fields),
    "relationships": tuple(RelationshipRow.model_fields),
    "prompts": ("", *(f for f in InteractionRow.model_fields if f != "index")),
}
