"""The report page: one HTML file with inline CSS and inline SVG - no script, no font, no request."""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from silake.lake.catalog import Lake as LakeLocation
from silake.query.connection import connect, open_lake
from silake.query.info import human_bytes, lake_info

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1d2433; background: #fafbfc; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.2em; margin: 36px 0 6px; }
.sub { color: #5b6475; margin: 0 0 18px; } .sub code { font-size: 0.95em; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { background: white; border: 1px solid #e3e6eb; border-radius: 8px; padding: 10px 14px; }
.card b { display: block; font-size: 1.35em; } .card span { color: #5b6475; font-size: 0.85em; }
section { background: white; border: 1px solid #e3e6eb; border-radius: 8px; padding: 4px 20px 16px;
          margin-top: 18px; }
section p { color: #3a4252; max-width: 900px; line-height: 1.45; }
figure { margin: 8px 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceef2; text-align: right; }
th { background: #f3f5f8; } td.t, th.t { text-align: left; }
.empty { color: #8a6d00; background: #fff8e1; padding: 8px 12px; border-radius: 6px; }
footer { margin-top: 32px; color: #5b6475; font-size: 0.85em; }
"""


@dataclass
class ReportSummary:
    path: str
    snapshot: int
    interaction: str | None
    figures: int
    empty_sections: list[str]
    bytes: int


def _table(columns: list[str], rows: list[list[Any]], text_cols: int = 1) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return html.escape(str(v))

    head = "".join(f'<th class="{"t" if i < text_cols else ""}">{html.escape(c)}</th>' for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(f'<td class="{"t" if i < text_cols else ""}">{cell(v)}</td>'
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, text: str, svg: str | None, empty: str, extra: str = "") -> str:
    body = f"<figure>{svg}</figure>" if svg else f'<p class="empty">{html.escape(empty)}</p>'
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2><p>{text}</p>{body}{extra}</section>'


def render(location: LakeLocation, info: dict[str, Any], data: Any, interaction_asked: bool
           ) -> tuple[str, int, list[str]]:
    """The page's HTML; (html, figures drawn, titles of the sections with nothing to draw)."""
    from silake import __version__
    from silake.report import plots

    total: dict[str, Any] = next((r for r in info["partitions"] if r["label"] is None), {})
    hours = float(total.get("hours") or 0)
    cards = [("hours", f"{hours:,.1f}") if hours >= 1 else ("minutes", f"{hours * 60:,.1f}"),
             ("files", f"{total.get('files') or 0:,}"),
             ("interactions", f"{total.get('interactions') or 0:,}"),
             ("participants", f"{total.get('participants') or 0:,}"),
             ("QA pass rate", f"{(total.get('qa_pass_rate') or 0):.1%}"), ("frames", f"{total.get('frames') or 0:,}"),
             ("snapshot", str(info["snapshot"])), ("on disk", human_bytes(info["bytes"]))]
    parts = [p for p in info["partitions"] if p["label"] is not None]
    cols = ["label", "split", "vendor_id", "files", "interactions", "participants", "hours", "frames", "qa_pass_rate"]
    breakdown = _table(cols, [[p[c] for c in cols] for p in parts], text_cols=3)
    tt_cols = ["relationship", "dyads", "minutes", "mean_gap_s", "mean_overlap_s", "median_fto_s",
               "simultaneous_share"]
    tt_rows = [[r[c] for c in tt_cols] for r in data.turn_taking.to_pylist()]
    who = ("the interaction asked for" if interaction_asked else
           "the longest two-person interaction with movement features on both sides (choose one with "
           "<code>--interaction KEY</code>)")
    sections = [
        ("qa", "QA flags by vendor and split", plots.qa_flags(data.qa_flags), "The lake has no files.",
         "Each cell is the share of a vendor's split whose files raise the flag (E error, W warning, I info; a "
         "file passes with no error and no warning). Flags map to the limitations the dataset's authors list; "
         "their definitions are in the <code>qa_flag_definitions</code> view, each file's flags in "
         "<code>file_qa</code>.", ""),
        ("durations", "Durations and frame rates", plots.durations_and_rates(data.files), "The lake has no files.",
         "Per file (one copy of each file id): duration (audio seconds, else frames / nominal fps) by label, and "
         "the measured frame rate (frames / audio seconds) by vendor against the nominal rate.", ""),
        ("speaking", "Speaking ratio", plots.speaking_ratio(data.files), "No file has a duration to divide by.",
         "The share of each file's duration covered by its participant's voice activity (VAD intervals, from "
         "the <code>speech_activity</code> view). A file's VAD can be empty or stop early (QA flags "
         "<code>empty_vad</code>, <code>vad_ends_early</code>): ratios near 0 are worth a look.", ""),
        ("turns", "Turn-taking by relationship", plots.turn_taking(data.turn_taking, data.fto_bins),
         "No interaction has two participants with voice activity.",
         "From both partners' VAD (the <code>turns</code> and <code>speaker_turns</code> views): a floor "
         "transfer is a change of speaker between turns; its offset is the next turn's start minus the "
         "previous turn's end (negative: overlap, positive: gap). Relationship types come from "
         "relationships.csv.", _table(tt_cols, tt_rows) if tt_rows else ""),
        ("validity", "Pose, face-box and movement validity", plots.validity(data.files), "The lake has no files.",
         "Per file, the share of frames whose SMPL-H body pose, face box and Imitator movement features are "
         "valid (computed at ingest from the npz masks). Recording quality varies by vendor and site.", ""),
        ("emotion", "Valence and arousal over time", plots.emotion_over_time(data.emotion, data.interaction),
         "No interaction has movement features on both sides.",
         f"Per frame, for {who}: the Imitator model's valence and arousal for both participants; frames whose "
         "movement features are invalid are left out (gaps), not drawn as zeros.", ""),
    ]
    toc = " · ".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, *_ in sections)
    body = "".join(_section(a, t, text, svg, empty, extra) for a, t, svg, empty, text, extra in sections)
    run = f", run {html.escape(info['snapshot_run_id'])}" if info.get("snapshot_run_id") else ""
    latest = "" if info["snapshot"] == info["latest_snapshot"] else f" (the latest is {info['latest_snapshot']})"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>silake report: {html.escape(location.root)}</title><style>{CSS}</style></head>
<body><main>
<h1>Seamless Interaction lake report</h1>
<p class="sub"><code>{html.escape(location.root)}</code> at snapshot {info['snapshot']}{latest}, written
{html.escape(str(info['snapshot_time']))} UTC{run}. Generated {now} by silake {html.escape(__version__)}.</p>
<div class="cards">{"".join(f"<div class='card'><b>{v}</b><span>{k}</span></div>" for k, v in cards)}</div>
<p class="sub" style="margin-top:14px">{toc}</p>
<section id="breakdown"><h2>Per label, split and vendor</h2>{breakdown}</section>
{body}
<footer>Reproduce: <code>silake report --lake {html.escape(location.root)} --snapshot {info['snapshot']}
{"--interaction " + html.escape(data.interaction) + " " if interaction_asked and data.interaction else ""}--out
report.html</code>. Every number comes from the SQL in silake's <code>sql/report/</code> over the lake's views.
</footer></main></body></html>
"""
    drawn = sum(1 for s in sections if s[2])
    return page, drawn, [s[1] for s in sections if not s[2]]


def build_report(lake: str | LakeLocation, out: str | os.PathLike[str], *, interaction: str | None = None,
                 snapshot: int | None = None, catalog: str | None = None) -> ReportSummary:
    """Write the report of `lake` (at `snapshot`, default the latest) to `out`, atomically: the file appears
    whole or not at all, also when interrupted."""
    from silake.report.data import collect

    location = lake if isinstance(lake, LakeLocation) else open_lake(lake, catalog=catalog)
    con = connect(location, snapshot=snapshot)
    try:
        info = lake_info(con)
        data = collect(con, interaction)
    finally:
        con.close()
    page, drawn, empty = render(location, info, data, interaction is not None)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ReportSummary(str(target), info["snapshot"], data.interaction, drawn, empty, len(page.encode()))
