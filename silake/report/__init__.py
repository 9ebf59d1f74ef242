"""`silake report`: one self-contained HTML file (inline SVG plots, no script, no CDN) about a lake.

    data.py   the report's numbers: the queries of sql/report/, run on a lake connection (small rows only)
    plots.py  matplotlib figures (Agg, SVG with text kept as text), one function per plot
    page.py   the HTML page: the lake's facts, then one section per plot with what it shows
    cli.py    the command
"""

from __future__ import annotations

from silake.report.page import build_report

__all__ = ["build_report"]
