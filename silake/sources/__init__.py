"""Sources: where shards live (fsspec URLs, shard discovery, metadata CSVs) and ranged byte access."""
