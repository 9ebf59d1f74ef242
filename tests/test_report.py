"""`silake report`: a self-contained HTML file that renders in headless Chromium without errors or requests,
with every plot drawn from the lake's numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import visit

from silake.query.connection import connect
from silake.report import build_report

SECTIONS = ["breakdown", "qa", "durations", "speaking", "turns", "validity", "emotion"]


@pytest.fixture(scope="module")
def report(ingested_lake, tmp_path_factory):
    lake = ingested_lake[0]
    out = tmp_path_factory.mktemp("report") / "report.html"
    return lake, out, build_report(str(lake), out)


def _longest_dyad_with_movement(lake: Path) -> str:
    """The default interaction, found another way: from files rows in Python."""
    con = connect(str(lake))
    rows = con.sql("SELECT interaction_key, participant_id, has_movement, duration_s FROM canonical_files").fetchall()
    con.close()
    by_key: dict[str, list[tuple[str, bool, float]]] = {}
    for key, person, movement, duration in rows:
        by_key.setdefault(key, []).append((person, movement, duration))
    dyads = {k: max(d for _, _, d in v) for k, v in by_key.items()
             if len({p for p, _, _ in v}) == 2 and len(v) == 2 and all(m for _, m, _ in v)}
    return min(dyads, key=lambda k: (-dyads[k], k))


def test_the_report_renders_in_chromium_without_errors_or_requests(report, tmp_path) -> None:
    _, out, summary = report
    seen = visit(out, screenshot=tmp_path / "shot.png")
    assert seen.errors == [] and seen.console == [] and seen.requests == []
    assert seen.svg_count == summary.figures == 6 and summary.empty_sections == []
    assert seen.section_ids == SECTIONS
    assert (tmp_path / "shot.png").stat().st_size > 10_000


def test_the_report_is_self_contained(report) -> None:
    text = report[1].read_text()
    assert "<script" not in text.lower()
    # only in-page anchors and inline data (imshow's heatmap is an embedded PNG)
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#|data:)""", text)
    assert not re.search(r"url\((?!#)", text) and "@import" not in text


def test_the_plots_carry_the_lakes_numbers(report) -> None:
    lake, out, summary = report
    text = out.read_text()
    con = connect(str(lake))
    flags = [r[0] for r in con.sql("SELECT DISTINCT unnest(flags) FROM file_qa ORDER BY 1").fetchall()]
    rels = [r[0] for r in con.sql("SELECT DISTINCT coalesce(relationship, 'unknown') FROM turns "
                                  "JOIN interactions USING (interaction_key) ORDER BY 1").fetchall()]
    files, passing = con.sql("SELECT count(*), count(*) FILTER (WHERE qa_pass) FROM file_qa").fetchone()
    con.close()
    assert len(flags) >= 15
    for flag in flags:  # every flag raised has its row in the QA heatmap (SVG text stays text)
        assert re.search(rf">{flag} \([EWI]\)<", text), flag
    for rel in rels:
        assert f">{rel} (" in text
    assert f"<b>{files}</b><span>files</span>" in text
    assert f"<b>{passing / files:.1%}</b><span>QA pass rate</span>" in text
    assert summary.interaction == _longest_dyad_with_movement(lake)
    assert f"Emotion over time: {summary.interaction}" in text


def test_a_lake_without_dyads_or_movement_gets_notes_instead_of_those_plots(sample_release, tmp_path) -> None:
    from silake.ingest import run as run_ingest

    release = Path(sample_release[0])
    run_ingest([str(release / "improvised/train/0000/0003.tar")], str(tmp_path / "lake"),
               metadata=str(release), workers=1)
    summary = build_report(str(tmp_path / "lake"), tmp_path / "r.html")
    # the shard holds two files of different interactions, neither with movement features
    assert summary.empty_sections == ["Turn-taking by relationship", "Valence and arousal over time"]
    assert summary.figures == 4 and summary.interaction is None
    text = (tmp_path / "r.html").read_text()
    assert "No interaction has movement features on both sides." in text
    assert "No interaction has two participants with voice activity." in text
    assert visit(tmp_path / "r.html").errors == []


def test_the_command_writes_the_file_or_says_why_not(ingested_lake, tmp_path) -> None:
    lake = ingested_lake[0]
    ok = subprocess.run([sys.executable, "-m", "silake.cli", "report", "--lake", str(lake), "--out",
                         str(tmp_path / "r.html"), "--interaction", "V00_S0809_I00000582"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert re.fullmatch(r"wrote \S+r\.html \(\d+ KB, 6 figures, snapshot \d+\)\n", ok.stdout)
    assert "Emotion over time: V00_S0809_I00000582" in (tmp_path / "r.html").read_text()
    bad = subprocess.run([sys.executable, "-m", "silake.cli", "report", "--lake", str(lake), "--out",
                          str(tmp_path / "bad.html"), "--interaction", "V99_S0000_I00000000"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "no interaction 'V99_S0000_I00000000'" in bad.stderr
    assert len(bad.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no partial file left
