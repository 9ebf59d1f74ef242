"""The `{file_id}.json` content of every file of an interaction: transcript, VAD and annotations.

The partners of an interaction take turns: one schedule of non-overlapping turns is drawn per interaction,
each turn becomes a transcript segment of the speaker (words evenly spread over it) and a VAD interval.
Quirks then bend one file's content into a documented defect. Times are seconds with millisecond precision;
annotation times are whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from silake.schemas.records import SampleJson

from .specs import (
    LATE_TIMING_SHIFT_S,
    STREAM_TRANSCRIPT,
    WORDS_EARLY_SHIFT_S,
    FileSpec,
    InteractionSpec,
    rng_for,
)

Interval = tuple[float, float]

VOCABULARY: tuple[str, ...] = (
    "yeah", "so", "I", "think", "that", "was", "really", "fun", "and", "then", "we", "went", "to", "the",
    "beach", "last", "summer", "you", "know", "it", "was", "kind", "of", "weird", "honestly", "but", "my",
    "sister", "said", "maybe", "we", "should", "try", "again", "next", "time", "right", "okay", "I",
    "mean", "the", "movie", "felt", "long", "though", "what", "about", "your", "work", "these", "days",
    "are", "you", "still", "living", "downtown", "oh", "nice", "that", "sounds", "great", "actually", "I",
    "never", "really", "liked", "cooking", "much", "well", "sometimes", "on", "weekends", "we", "just",
    "stay", "home", "and", "watch", "shows", "wait", "really", "tell", "me", "more", "about", "it", "hmm",
    "I", "guess", "that", "makes", "sense", "because", "everyone", "was", "there", "anyway",
)

_IS_FEELINGS = ("Feels amused", "Feels nervous", "Feels curious", "Feels relieved", "Feels impatient",
                "Feels proud", "Feels unsure", "Feels engaged", "Feels skeptical", "Feels warm")
_R_REASONS = ("Because the partner", "Since the partner", "As the partner", "Because earlier the partner",
              "Probably because the partner", "Likely since the partner")
_V_GESTURES = ("Leans forward", "Smiles broadly", "Looks away", "Nods repeatedly", "Crosses arms",
               "Raises eyebrows", "Laughs", "Touches face", "Shrugs", "Gestures with both hands")
_TOPICS = ("about the shared memory", "during the awkward pause", "after the compliment",
           "while disagreeing", "at the joke", "when asked a question", "about the weekend plans",
           "during the story", "at the interruption", "about the new job", "while listening",
           "about the trip")
_1P_IS = ("I felt happy", "I felt anxious", "I felt bored", "I felt understood", "I felt surprised",
          "I felt confused")
_1P_R = ("I said it because I wanted", "I reacted that way since I hoped", "I paused because I needed",
         "I laughed because I tried")
_1P_GOALS = ("to keep the conversation going", "to sound friendly", "to change the topic",
             "to be honest", "to think about it", "to show I was listening")

_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "3P-IS": (_IS_FEELINGS, _TOPICS, "{} {}."),
    "3P-R": (_R_REASONS, tuple(t.replace("about", "talked about").replace("during", "spoke during")
                              for t in _TOPICS), "{} {}."),
    "3P-V": (_V_GESTURES, _TOPICS, "{} {}."),
    "1P-IS": (_1P_IS, _TOPICS, "{} {}."),
    "1P-R": (_1P_R, _1P_GOALS, "{} {}."),
}

WORD_SLOT_S = 0.25  # a word every quarter second
WORD_MARGIN_S = 0.02  # words sit this far inside their slot (and their VAD interval)
EDGE_S = 0.2  # speech starts and ends this far inside the interaction's span


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    words: tuple[tuple[str, float | None, float | None, float | None], ...]  # word, start, end, score

    def shifted(self, dt: float) -> Segment:
        return Segment(_ms(self.start + dt), _ms(self.end + dt),
                       tuple((w, _shift(b, dt), _shift(e, dt), p) for w, b, e, p in self.words))


@dataclass(frozen=True)
class FileText:
    """The json object of one file and the intervals where its audio carries speech."""

    json_obj: dict
    speech: tuple[Interval, ...]


def _ms(x: float) -> float:
    return round(float(x), 3)


def _shift(x: float | None, dt: float) -> float | None:
    return None if x is None else _ms(x + dt)


def schedule_turns(rng: np.random.Generator, horizon_s: float, n_speakers: int, first: int,
                   last: int | None = None) -> list[tuple[int, float, float]]:
    """Non-overlapping (speaker, start, end) turns filling [EDGE_S, horizon - EDGE_S], alternating."""
    span = horizon_s - 2 * EDGE_S
    if n_speakers == 0 or span < 0.6:
        return []
    n = max(n_speakers, round(span / 1.1))
    while last is not None and n_speakers > 1 and (first + n - 1) % n_speakers != last:
        n += 1
    durations = rng.uniform(0.7, 1.2, n)
    gaps = rng.uniform(0.15, 0.35, n - 1)
    scale = span / (durations.sum() + gaps.sum())
    steps = np.empty(2 * n - 1)
    steps[0::2], steps[1::2] = durations * scale, gaps * scale
    edges = EDGE_S + np.concatenate(([0.0], np.cumsum(steps)))
    return [((first + k) % n_speakers, _ms(edges[2 * k]), _ms(edges[2 * k + 1])) for k in range(n)]


def _segment(rng: np.random.Generator, start: float, end: float) -> Segment:
    n = max(3, int((end - start) / WORD_SLOT_S))
    slot = (end - start) / n
    texts = rng.choice(VOCABULARY, size=n)
    scores = rng.uniform(0.35, 0.99, size=n)
    words = tuple(
        (str(texts[k]), _ms(start + k * slot + WORD_MARGIN_S), _ms(start + (k + 1) * slot - WORD_MARGIN_S),
         round(float(scores[k]), 3))
        for k in range(n)
    )
    return Segment(words[0][1], words[-1][2], words)


def _drop_times(seg: Segment) -> Segment:
    """Words 1 and 2 of the segment lose their times and score (as some release words do)."""
    words = tuple((w, None, None, None) if k in (1, 2) else (w, b, e, p) for k, (w, b, e, p) in
                  enumerate(seg.words))
    return Segment(seg.start, seg.end, words)


class _TextPool:
    """Annotation texts drawn without replacement per kind, so no two annotations of an interaction match."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._order = {kind: list(rng.permutation(len(a) * len(b))) for kind, (a, b, _) in _POOLS.items()}

    def take(self, kind: str) -> str:
        heads, tails, fmt = _POOLS[kind]
        i = int(self._order[kind].pop())
        return fmt.format(heads[i // len(tails)], tails[i % len(tails)])


Note = tuple[str, str, int, int]  # kind, text, start_ts, end_ts


def _annotations(rng: np.random.Generator, pool: _TextPool, spec: FileSpec) -> list[Note]:
    """(kind, text, start_ts, end_ts) entries: each 3P moment under IS, R and V with one interval."""
    if spec.annotations == "none":
        return []
    last = math.floor(spec.speech_horizon_s())  # whole seconds inside the file
    moments = []
    for _ in range(1 + int(rng.integers(0, 2))):
        start = int(rng.integers(0, last))
        moments.append((start, int(rng.integers(start + 1, last + 1))))
    if "annotation_zero" in spec.quirks:
        moments.append((last - 1, last - 1))
    if "annotation_negative" in spec.quirks:
        moments.append((last, last - 2))
    if "annotation_past_end" in spec.quirks:
        moments.append((last - 1, last + 30))
    out = [(kind, pool.take(kind), s, e) for s, e in moments for kind in ("3P-IS", "3P-R", "3P-V")]
    if spec.annotations == "all":
        start = int(rng.integers(0, last))
        end = int(rng.integers(start + 1, last + 1))
        out += [(kind, pool.take(kind), start, end) for kind in ("1P-IS", "1P-R")]
    return out


def _json_obj(spec: FileSpec, segments: list[Segment], vad: list[Interval],
              annotations: list[tuple[str, str, int, int]]) -> dict:
    raw: dict = {
        "metadata:transcript": [
            {"start": s.start, "end": s.end, "transcript": " ".join(w for w, *_ in s.words),
             "words": [{"word": w, "start": b, "end": e, **({"score": p} if p is not None else {})}
                       for w, b, e, p in s.words]}
            for s in segments
        ],
        "metadata:vad": [{"start": b, "end": e} for b, e in vad],
    }
    if spec.json_has_id:
        raw = {"id": spec.file_id, **raw}
    for kind in ("1P-IS", "1P-R", "3P-IS", "3P-R", "3P-V"):
        entries = [{"annotation": text, "start_ts": s, "end_ts": e}
                   for k, text, s, e in annotations if k == kind]
        if entries:
            raw[f"annotations:{kind}"] = entries
    return SampleJson.model_validate(raw).to_json_dict()


def build_interaction_text(inter: InteractionSpec, seed: int) -> dict[str, FileText]:
    """FileText of every file of the interaction, by file id."""
    rng = rng_for(seed, inter.key, STREAM_TRANSCRIPT)
    speakers = [f for f in inter.files if f.n_frames > 0]
    turns = schedule_turns(rng, inter.horizon_s(), len(speakers), inter.first_speaker,
                           inter.last_speaker)
    base: dict[str, tuple[list[Segment], list[Interval]]] = {f.file_id: ([], []) for f in inter.files}
    for who, start, end in turns:
        segs, vad = base[speakers[who].file_id]
        segs.append(_segment(rng, start, end))
        vad.append((start, end))

    pool = _TextPool(rng)
    notes = {f.file_id: _annotations(rng, pool, f) for f in inter.files}
    out: dict[str, FileText] = {}
    for f in inter.files:
        segs, vad = list(base[f.file_id][0]), list(base[f.file_id][1])
        partners = [p for p in inter.files if p.file_id != f.file_id]
        if "speaker_bleed" in f.quirks:
            for p in partners:
                segs += base[p.file_id][0]
                vad += base[p.file_id][1]
            segs.sort(key=lambda s: s.start)
            vad.sort()
        speech = list(vad)
        if "annotation_copy" in f.quirks:
            notes[f.file_id] += [n for p in partners for n in notes[p.file_id][:3]]
        if "words_without_times" in f.quirks:
            segs = [_drop_times(s) if k in (0, len(segs) - 1) else s for k, s in enumerate(segs)]
        if "words_early" in f.quirks:
            segs = [s.shifted(WORDS_EARLY_SHIFT_S) for s in segs]
        if "late_timing" in f.quirks:
            segs = [s.shifted(LATE_TIMING_SHIFT_S) for s in segs]
            vad = [(_ms(b + LATE_TIMING_SHIFT_S), _ms(e + LATE_TIMING_SHIFT_S)) for b, e in vad]
            speech = list(vad)
        if "vad_ends_early" in f.quirks:
            vad = vad[:1]
        if "empty_vad" in f.quirks:
            vad = []
        if "empty_transcript" in f.quirks:
            segs = []
        if "no_speech" in f.quirks:
            segs, vad, speech = [], [], []
        out[f.file_id] = FileText(_json_obj(f, segs, vad, notes[f.file_id]), tuple(speech))
    return out
