"""The bench release: an endless stream of clean two-party interactions at real proportions.

Per file: a few minutes of frames (T ~ 3-4 min at the vendor's rate), a wav of the same length (~43 MB for
3.7 min), an mp4 ~3.1x the wav (the release's 135 MB / 43 MB), an npz with movement for vendor 00. The
writer closes a shard once it passes `shard_target_bytes` (after a whole interaction), as the real writer
does at 1e9 bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from silake.schemas.release import nominal_fps

from .metadata_csv import bfi_scores, prompt_rows, relationship_rows
from .specs import STREAM_METADATA, STREAM_PLAN, FileSpec, InteractionSpec, rng_for
from .truth import ParticipantTruth, PromptTruth, RelationshipTruth

#: The release's average mp4 / wav size ratio (135 MB / 43 MB).
MP4_TO_WAV = 135 / 43
WAV_BYTES_PER_S = 48_000 * 4
VENDOR_CYCLE = ("00", "01", "00", "02", "00", "03")
#: interactions.csv rows (prompt hashes 00000000-00001311), as many as the release has.
PROMPT_ROWS = 1312
#: The prompts the interactions draw from (few, so that prompts repeat across sessions as in the release).
PROMPT_POOL = tuple(f"{h:08d}" for h in (70, 131, 262, 393, 582, 655, 786, 917, 1048, 1311))


@dataclass(frozen=True)
class BenchProfile:
    """Sizes of the bench release (the defaults are the real ones; tests shrink them)."""

    shard_target_bytes: int = 1_000_000_000
    seconds: tuple[float, float] = (180.0, 240.0)  # file length range


def bench_interactions(seed: int, profile: BenchProfile) -> Iterator[InteractionSpec]:
    """Interactions in write order, forever: vendors cycle, prompts repeat, ids never do."""
    rng = rng_for(seed, "bench", STREAM_PLAN)
    next_session = {v: 1000 for v in VENDOR_CYCLE}
    next_person = {v: 100 for v in VENDOR_CYCLE}
    k = 0
    while True:
        vendor = VENDOR_CYCLE[k % len(VENDOR_CYCLE)]
        session = f"{next_session[vendor]:04d}"
        next_session[vendor] += 1
        prompt = PROMPT_POOL[int(rng.integers(len(PROMPT_POOL)))]
        base = int(rng.uniform(*profile.seconds) * float(nominal_fps(vendor)))
        specs = []
        for j in range(2):
            person = f"{next_person[vendor]:04d}"
            next_person[vendor] += 1
            specs.append(FileSpec(
                vendor_id=vendor, session_id=session, prompt_hash=prompt, participant_id=person,
                n_frames=base + int(rng.integers(-2, 3)), has_movement=vendor == "00",
                hypernet_rounding="ceil" if (k + j) % 2 else "floor", moov_first=(k + j) % 3 != 2,
                mp4_bytes_per_s=round(WAV_BYTES_PER_S * MP4_TO_WAV), npz_compresslevel=1,
                annotations=("all" if j == 0 else "3p") if k % 3 == 0 else "none",
            ))
        yield InteractionSpec(tuple(specs), first_speaker=int(rng.integers(2)))
        k += 1


def bench_metadata(seed: int, specs: Sequence[FileSpec]) -> tuple[
        tuple[ParticipantTruth, ...], tuple[RelationshipTruth, ...], tuple[PromptTruth, ...]]:
    """Complete metadata for the written files (a clean release: every join finds its row)."""
    rng = rng_for(seed, "bench", STREAM_METADATA)
    people = sorted({(s.vendor_id, s.participant_id) for s in specs})
    sessions = sorted({(s.vendor_id, s.session_id) for s in specs})
    return (
        tuple(ParticipantTruth(v, p, bfi_scores(rng)) for v, p in people),
        relationship_rows(rng, sessions),
        prompt_rows(rng, PROMPT_ROWS),
    )
