"""The SQL files generated from the QA registry (`silake.schemas.qa`), in the layer they run in.

`qa_thresholds` and `qa_threshold()`, `qa_flag_definitions` and `file_qa` (its boolean column per flag) are
written from the registry, so a flag or threshold is declared once; the detections stay hand-written SQL
(sql/qa/20-50). `silake.query.views` runs these texts at their names' places among the layer's files.
"""

from __future__ import annotations

import textwrap

from silake.lake.sqltext import sql_literal
from silake.schemas.qa import (
    LIMITATIONS_NOTE,
    QA_FLAGS,
    QA_THRESHOLDS,
    SEVERITY_MEANINGS,
    Limitation,
    QaFlag,
    Severity,
)

#: The first line of every generated file: where its text comes from.
ORIGIN = ("-- Generated from schemas/qa.py (the QA flag registry) by `python -m silake.query.generated --write`:\n"
          "-- edit the registry, then run that; a test fails while this file and the registry disagree.")


def _entry(name: str, text: str) -> str:
    """One column's line of a `-- columns of VIEW:` block (silake.query.comments), wrapped."""
    return textwrap.fill(text, 110, initial_indent=f"--   {name}: ", subsequent_indent="--     ") + "\n"


def _rows(rows: list[str]) -> str:
    return ",\n".join(f"    ({r})" for r in rows)


def thresholds_sql() -> str:
    rows = [f"{sql_literal(t.name)}, {t.value!r}, {sql_literal(t.unit)}, {sql_literal(t.description)}"
            for t in QA_THRESHOLDS]
    return f"""{ORIGIN}
-- =====================================================================================================
-- silake SQL layer 3/3 - QA: the dataset's documented limitations as queryable flags.
-- Needs the base and analytics layers.
-- =====================================================================================================
-- qa_thresholds: every number a QA flag compares against, with its unit and meaning.
--
-- Read them with SELECT * FROM qa_thresholds; and use one in SQL with qa_threshold('name'). To try other
-- values, re-create this view (same columns) before querying: every flag reads its thresholds from here,
-- except translation_sentinel_min, which the ingest applies when it counts sentinel frames (re-ingest).
-- The sample generator plants its defects against the same values (silake/sample/truth.py).
--
-- columns of qa_thresholds:
--   name: the threshold's name, as qa_threshold() and qa_flag_definitions.thresholds name it
--   value: its value, in unit
--   unit: 's' (seconds), 'frames', 'ratio', 'm' (metres) or 'words'
--   description: the flag that reads it, then what it means

CREATE OR REPLACE VIEW qa_thresholds AS
SELECT name, value::DOUBLE AS value, unit, description
FROM (VALUES
{_rows(rows)}
) AS t(name, value, unit, description);

-- The value of one threshold: qa_threshold('vad_ends_early_s') = 1.0.
CREATE OR REPLACE MACRO qa_threshold(threshold_name) AS
    (SELECT value FROM qa_thresholds WHERE name = threshold_name);
"""


def _definition_row(f: QaFlag) -> str:
    names = ", ".join(sql_literal(t) for t in f.thresholds)
    return (f"{sql_literal(f.name)}, {sql_literal(f.severity)}, {sql_literal(f.limitation)}, "
            f"{sql_literal(f.definition)}, [{names}]::VARCHAR[]")


def _comment(text: str) -> str:
    return textwrap.fill(text, 106, initial_indent="-- ", subsequent_indent="-- ") + "\n"


def _listing(values: list[str]) -> str:
    return ", ".join(sql_literal(v) for v in values)


def definitions_sql() -> str:
    width = max(len(s) for s in Severity) + 2
    severities = "".join(f"--   {sql_literal(s):{width}} {SEVERITY_MEANINGS[s]}\n" for s in Severity)
    columns = (_entry("flag", "the flag's name, as qa_flags.flag and file_qa's column name it")
               + _entry("severity", _listing(list(Severity)))
               + _entry("limitation", "the known limitation it maps to: " + _listing(list(Limitation)))
               + _entry("definition", "what the flag finds")
               + _entry("thresholds", "the names of the qa_thresholds it compares against"))
    return f"""{ORIGIN}
-- qa_flag_definitions: one row per QA flag - its severity, the known limitation of the release it maps to,
-- its definition and its thresholds.
--
-- Severities, worst first (file_qa.qa_pass is true when a file has no error and no warning):
{severities}--
{_comment(LIMITATIONS_NOTE)}--
-- columns of qa_flag_definitions:
{columns}
CREATE OR REPLACE VIEW qa_flag_definitions AS
SELECT * FROM (VALUES
{_rows([_definition_row(f) for f in QA_FLAGS])}
) AS t(flag, severity, limitation, definition, thresholds);
"""


def file_qa_sql() -> str:
    columns = "".join(f"    coalesce(bool_or(q.flag = {sql_literal(f.name)}), false) AS {f.name},\n"
                      for f in QA_FLAGS)
    docs = "".join(_entry(f.name, f"QA flag {f.name} ({f.severity}): {f.definition}") for f in QA_FLAGS)
    worst = "".join(f"        WHEN bool_or(q.severity = {sql_literal(s)}) THEN {sql_literal(s)}\n" for s in Severity)
    failing = ", ".join(sql_literal(s) for s in Severity if s.fails)
    return f"""{ORIGIN}
-- file_qa: one row per file (file_id, label, split) of the files table: a boolean column per QA flag,
-- n_flags (how many flags fire), flags (their names), worst_severity ('error' > 'warning' > 'info', null
-- when clean) and qa_pass = no 'error' and no 'warning' finding ('info' findings do not fail a file).
-- Typical use: SELECT ... FROM files JOIN file_qa USING (file_id, label, split) WHERE qa_pass.
--
-- columns of file_qa:
--   file_id, label, split, vendor_id, interaction_key, participant_id: as in files
{docs}--   n_flags: how many QA flags the file has
--   flags: the names of the file's QA flags, sorted
--   worst_severity: the worst severity of its flags ('error' > 'warning' > 'info'), null when clean
--   qa_pass: no 'error' and no 'warning' finding ('info' findings do not fail a file)

CREATE OR REPLACE VIEW file_qa AS
SELECT
    f.file_id,
    f.label,
    f.split,
    f.vendor_id,
    f.interaction_key,
    f.participant_id,
{columns}    count(q.flag) AS n_flags,
    coalesce(list(q.flag ORDER BY q.flag) FILTER (WHERE q.flag IS NOT NULL), []) AS flags,
    CASE
{worst}    END AS worst_severity,
    NOT coalesce(bool_or(q.severity IN ({failing})), false) AS qa_pass
FROM files AS f
LEFT JOIN qa_flags AS q USING (file_id, label, split)
GROUP BY f.file_id, f.label, f.split, f.vendor_id, f.interaction_key, f.participant_id;
"""


def generated_files(layer: str) -> list[tuple[str, str]]:
    """(file name, SQL text) of the files generated into `layer`."""
    if layer != "qa":
        return []
    return [("00_qa_thresholds.sql", thresholds_sql()), ("10_qa_flag_definitions.sql", definitions_sql()),
            ("90_file_qa.sql", file_qa_sql())]


def main(argv: list[str] | None = None) -> int:
    """`--write`: (re)write the generated files into the checkout's sql/; `--check`: exit 1 if any is stale."""
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m silake.query.generated", description=main.__doc__)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    root = Path(__file__).resolve().parents[2] / "sql"
    stale = []
    for layer in ("base", "analytics", "qa"):
        for name, text in generated_files(layer):
            path = root / layer / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
                if args.write:
                    path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'wrote' if args.write else 'stale'}: {path}")
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    raise SystemExit(main())
