"""Metadata CSVs: parse and validate the release's CSVs into lake tables and the join index."""
