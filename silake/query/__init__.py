"""The SQL layer over the lake: DuckDB views (the `.sql` files of `sql/`, package data `silake.sql`).

connection - open DuckDB on a lake root, local or s3:// (httpfs from the pip package, S3 secret from env)
views      - the view script: base, analytics and QA layers, empty views for tables a lake lacks
catalog    - ROOT/lake.duckdb: every view, no data, for the plain DuckDB CLI
cli        - `silake query`, `silake sql`, `silake qa`
render     - results as a terminal table, CSV or JSON
"""
