"""`silake sample`: a miniature, format-faithful Seamless Interaction release and its ground truth."""

from .bench_release import BenchProfile
from .truth import QA_FLAGS, FileTruth, ReleaseTruth, ShardTruth
from .writer import write_release

__all__ = ["QA_FLAGS", "BenchProfile", "FileTruth", "ReleaseTruth", "ShardTruth", "write_release"]
