"""The four metadata CSVs at the release root, in the release's exact headers (`CSV_HEADERS`).

filelist.csv lists every written sample (a duplicated file id twice, `has_*` flags as 0/1); participants.csv,
relationships.csv and interactions.csv come from the plan's rows (with deliberate gaps and extra rows, as in the
real release). interactions.csv has one row per prompt hash from 00000000 up, 4-letter IPC codes (ipc_a always,
ipc_b in half the rows) and the release's text quirks: CRLF line breaks inside some quoted texts, leading or
trailing spaces, non-ASCII characters. Written with the csv module: multi-line texts are quoted, records end in
'\\n'.
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

#: The IPC (interpersonal circumplex) codes DATA_FORMAT.md names; the release has more of the same 4-letter form.
IPC_CODES: tuple[str, ...] = ("ANCP", "AMCM", "CGST")
#: interaction_type counts of the release's 1,312 prompts, in INTERACTION_TYPES order.
INTERACTION_TYPE_COUNTS: tuple[int, ...] = (946, 322, 40, 4)
#: `prompt_id_unique` as the release spells it, e.g. P0070_v3.4.fam_ANCP_XXXX (XXXX: no ipc_b).
PROMPT_ID_FORMAT = "P{number:04d}_v3.4.{group}_{ipc_a}_{ipc_b}"
NO_IPC = "XXXX"

_PROMPT_OPENERS = (
    "You are meeting an old friend you have not seen in years.",
    "You and your partner are planning a weekend trip together.",
    "Your partner has just told you some surprising news.",
    "You need to convince your partner to try a new hobby.",
    "You are telling your partner about a memorable meal at a café.",
    "Act out a word without speaking; your partner guesses it.",
    "Together, make up a story about a lost suitcase.",
    "Describe an object in the room using only gestures and a few words.",
)
_PROMPT_STYLES = (
    "Be warm and encouraging.", "Be a little skeptical, but polite.", "Take the lead in the conversation.",
    "Let your partner do most of the talking.", 'Use the phrase "no way" at least once.',
    "Stay calm, even if your partner gets excited.", "Sound naïve about the topic – ask questions.",
)


def bfi_scores(rng: np.random.Generator) -> tuple[float, float, float, float, float]:
    """BFI-2 domain means: each the mean of 12 items scored 1-5 (multiples of 1/12)."""
    return tuple(float(k) / 12 for k in rng.integers(18, 55, 5))  # type: ignore[return-value]


def relationship_rows(rng: np.random.Generator, sessions: Sequence[tuple[str, str]]
                      ) -> tuple[RelationshipTruth, ...]:
    """One row per (vendor, session): half strangers, the others cycling through every familiar detail."""
    familiar = [d for d in RELATIONSHIP_DETAILS if d != "stranger"]
    strangers = len(sessions) // 2
    rows = []
    for (vendor_id, session_id), rank in zip(sessions, rng.permutation(len(sessions)).tolist(), strict=True):
        detail = "stranger" if rank < strangers else familiar[(rank - strangers) % len(familiar)]
        relationship = "stranger" if detail == "stranger" else "familiar"
        rows.append(RelationshipTruth(f"V{vendor_id}", session_id, relationship, detail))
    return tuple(rows)


def _interaction_types(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices into INTERACTION_TYPES at the release's proportions (every type at least once), shuffled."""
    total = sum(INTERACTION_TYPE_COUNTS)
    rare = [max(1, round(n * c / total)) for c in INTERACTION_TYPE_COUNTS[1:]]
    return rng.permutation(np.repeat(np.arange(len(INTERACTION_TYPES)), [n - sum(rare), *rare]))


def prompt_rows(rng: np.random.Generator, n: int) -> tuple[PromptTruth, ...]:
    """interactions.csv: prompt hashes 00000000 to n - 1 (n >= 4), with the release's text and IPC quirks.

    Texts are multi-line; every 7th row breaks text a with CRLF, every 11th ends text b with a space, every
    13th starts text a with one. ipc_a is always a code, ipc_b in exactly half the rows (drawn); every
    interaction type occurs, at the release's proportions.
    """
    kinds = _interaction_types(rng, n)
    openers = rng.integers(len(_PROMPT_OPENERS), size=(n, 2))
    styles = rng.integers(len(_PROMPT_STYLES), size=(n, 2))
    ipc = rng.integers(len(IPC_CODES), size=(n, 2))
    with_b = rng.permutation(n) < n // 2
    groups = rng.integers(2, size=n)
    rows = []
    for i in range(n):
        eol = "\r\n" if i % 7 == 3 else "\n"
        a = f"{_PROMPT_OPENERS[openers[i, 0]]}{eol}{eol}{_PROMPT_STYLES[styles[i, 0]]}"
        b = f"{_PROMPT_OPENERS[openers[i, 1]]}\n{_PROMPT_STYLES[styles[i, 1]]}\n" \
            'Open with "Hi there" and listen first.'
        a, b = (" " + a if i % 13 == 6 else a), (b + " " if i % 11 == 5 else b)
        ipc_a, ipc_b = IPC_CODES[ipc[i, 0]], IPC_CODES[ipc[i, 1]] if with_b[i] else None
        unique = PROMPT_ID_FORMAT.format(number=i, group=("fam", "str")[groups[i]], ipc_a=ipc_a,
                                         ipc_b=ipc_b or NO_IPC)
        rows.append(PromptTruth(i, f"{i:08d}", unique, a, b, ipc_a, ipc_b, INTERACTION_TYPES[kinds[i]]))
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
        "filelist": [[f.file_id, f.label, f.split, f.batch_idx, f.archive_idx, int(f.has_movement),
                      int(f.has_annotation_1p), int(f.has_annotation_3p)] for f in files],
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
