"""`silake report --lake ROOT --out report.html [--snapshot N] [--interaction KEY]`."""

from __future__ import annotations

import sys
from typing import Any

import duckdb

from silake.lake.catalog import LakeError


def run_report(args: Any) -> int:
    from silake.report import build_report

    try:
        summary = build_report(args.lake, args.out, interaction=args.interaction, snapshot=args.snapshot,
                               catalog=args.catalog)
    except (LakeError, duckdb.Error, OSError, ValueError) as exc:
        print(f"silake report: {exc}", file=sys.stderr)
        return 1
    note = f"; nothing to draw for: {', '.join(summary.empty_sections)}" if summary.empty_sections else ""
    print(f"wrote {summary.path} ({summary.bytes / 1e3:,.0f} KB, {summary.figures} figures, snapshot "
          f"{summary.snapshot}){note}")
    return 0
