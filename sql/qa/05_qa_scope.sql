-- qa_scope_files, qa_scope_filelist: the files the QA families compute findings for.
--
-- QA findings are stored in the lake (table qa_findings), computed by the commit that changes their inputs
-- and in the same transaction, so reading qa_flags never recomputes anything and every snapshot has the
-- findings of its own data. A commit narrows these two views to the files it touches and everything QA of
-- those files depends on - their interactions (partners) and their participants' digit stems (id
-- variants, splits, duplicates) - then stores what qa_findings_live finds for them. In a session they are
-- every file, so qa_findings_live and qa_flags_live recompute the whole lake from the current thresholds
-- (for trying other thresholds: re-create qa_thresholds, then query qa_flags_live).
--
-- columns of qa_scope_files: as in files
-- columns of qa_scope_filelist: as in filelist

CREATE OR REPLACE VIEW qa_scope_files AS SELECT * FROM files;

CREATE OR REPLACE VIEW qa_scope_filelist AS SELECT * FROM filelist;
