"""The four metadata CSVs at the release root, in the release's exact headers (`CSV_HEADERS`).

filelist.csv lists every written sample (a duplicated file id twice); participants.csv, relationships.csv and
interactions.csv come from the plan's rows (with deliberate gaps and extra rows, as in the real release).
Written with the csv module: multi-line prompt texts are quoted, lines end in '\\n'.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from silake.schemas.records import CSV_HEADERS
from silake.schemas.release import (
    INTERACTION_TYPES,
    METADATA_FILES,
    RELATIONSHIP_DETAILS,
    UNDISCLOSED,
)

from .truth import FileTruth, ParticipantTruth, PromptTruth, RelationshipTruth

IPC_STYLES: tuple[str, ...] = ("Assured-Dominant", "Warm-Agreeable", "Cold-Hostile", "Unassured-Submissive",
                               "Gregarious-Extraverted", "Aloof-Introverted")

_PROMPT_OPENERS = (
    "You are meeting an old friend you have not seen in years.",
    "You and your partner are planning a weekend trip together.",
    "Your partner has just told you some surprising news.",
    "You need to convince your partner to try a new hobby.",
    "You are telling your partner about a memorable meal.",
    "Act out a word without speaking; your partner guesses it.",
    "Together, make up a story about a lost suitcase.",
    "Describe an object in the room using only gestures and a few words.",
)
_PROMPT_STYLES = (
    "Be warm and encouraging.", "Be a little skeptical, but polite.", "Take the lead in the conversation.",
    "Let your partner do most of the talking.", 'Use the phrase "no way" at least once.',
    "Stay calm, even if your partner gets excited.",
)


def bfi_scores(rng: np.random.Generator) -> tuple[float, float, float, float, float]:
    """BFI-2 domain means: each the mean of 12 items scored 1-5 (multiples of 1/12)."""
    return tuple(float(k) / 12 for k in rng.integers(18, 55, 5))  # type: ignore[return-value]


def relationship_row(rng: np.random.Generator, vendor_id: str, session_id: str) -> RelationshipTruth:
    if rng.random() < 0.5:
        return RelationshipTruth(f"V{vendor_id}", session_id, "stranger", "stranger")
    detail = str(rng.choice([d for d in RELATIONSHIP_DETAILS if d != "stranger"]))
    return RelationshipTruth(f"V{vendor_id}", session_id, "familiar", detail)


def prompt_rows(rng: np.random.Generator, prompt_hashes: Sequence[str]) -> tuple[PromptTruth, ...]:
    """One interactions.csv row per prompt hash: multi-line texts, IPC styles only for some conversations."""
    rows = []
    for index, prompt_hash in enumerate(prompt_hashes):
        kind = INTERACTION_TYPES[index % len(INTERACTION_TYPES)]
        a = f"{_PROMPT_OPENERS[int(rng.integers(len(_PROMPT_OPENERS)))]}\n\n{rng.choice(_PROMPT_STYLES)}"
        b = f"{_PROMPT_OPENERS[int(rng.integers(len(_PROMPT_OPENERS)))]}\n{rng.choice(_PROMPT_STYLES)}\n" \
            'Open with "Hi there" and listen first.'
        ipc_a = ipc_b = None
        if kind == "ipc_conversation" and index % 2 == 0:  # often empty, even for conversations
            ipc_a, ipc_b = str(rng.choice(IPC_STYLES)), str(rng.choice(IPC_STYLES))
        unique = f"{kind}_{int(prompt_hash):05d}"
        rows.append(PromptTruth(index, prompt_hash, unique, a, b, ipc_a, ipc_b, kind))
    return tuple(rows)


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _participant_cells(p: ParticipantTruth) -> list[object]:
    scores: list[object] = [UNDISCLOSED] * 5 if p.bfi is None else [repr(v) for v in p.bfi]
    return [*scores, p.vendor_id, p.participant_id]


def write_metadata(out: Path, files: Sequence[FileTruth], participants: Sequence[ParticipantTruth],
                   relationships: Sequence[RelationshipTruth], prompts: Sequence[PromptTruth]) -> None:
    """Write filelist.csv, participants.csv, relationships.csv and interactions.csv into `out`."""
    tables: dict[str, list[list[object]]] = {
        "filelist": [[f.file_id, f.label, f.split, f.batch_idx, f.archive_idx, f.has_movement,
                      f.has_annotation_1p, f.has_annotation_3p] for f in files],
        "participants": [_participant_cells(p) for p in participants],
        "relationships": [[r.vendor_id, r.session_id, r.relationship, r.relationship_detail]
                          for r in relationships],
        "prompts": [[p.index, p.prompt_hash, p.prompt_id_unique, p.participant_a_prompt_text,
                     p.participant_b_prompt_text, p.ipc_a or "", p.ipc_b or "", p.interaction_type]
                    for p in prompts],
    }
    for name, rows in tables.items():
        text = _csv_text(CSV_HEADERS[name], rows)
        (out / METADATA_FILES[name]).write_text(text, encoding="utf-8", newline="")
