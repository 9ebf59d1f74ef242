"""The export's defaults, shared by `export(...)` and `silake export` (a module cheap to import)."""

FORMATS: tuple[str, ...] = ("webdataset", "parquet")
DEFAULT_MEMBERS = "json,npz,wav,mp4"
DEFAULT_SHARD_SIZE = 1_000_000_000  # bytes per output shard / Parquet part (Hugging Face's usual size)
DEFAULT_JOBS = 4  # output shards written at once
