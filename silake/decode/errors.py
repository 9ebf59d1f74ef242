"""Errors of the decoding layer and their stable reason codes.

`Reject` quarantines the whole sample (its `problem` becomes a quarantine row of scope 'sample').
`MediaError` is a malformed wav/mp4 header: the file row keeps null media facts and the caller records a
quarantine row of scope 'member'; the sample itself is kept.
"""

from __future__ import annotations

from silake.schemas.problem import Problem

# Reject codes (sample scope).
NPZ_CORRUPT = "npz_corrupt"  # not a zip, truncated, bad CRC, bad .npy header, unsupported compression
NPZ_PICKLE = "npz_pickle"  # an entry would need pickle (object dtype)
NPZ_MISSING_KEY = "npz_missing_key"  # a core key is absent
NPZ_PARTIAL_MOVEMENT = "npz_partial_movement"  # some but not all movement keys
NPZ_UNKNOWN_KEY = "npz_unknown_key"  # an entry the catalogue does not know
NPZ_BAD_DTYPE = "npz_bad_dtype"  # dtype differs from the catalogue's
NPZ_BAD_SHAPE = "npz_bad_shape"  # per-frame shape differs, or hypernet rows not floor/ceil(T/15)
NPZ_T_MISMATCH = "npz_t_mismatch"  # frame-rate arrays disagree on T
NPZ_TOO_LARGE = "npz_too_large"  # a cap (member bytes, inflated bytes, T) is exceeded
JSON_MALFORMED = "json_malformed"  # not UTF-8 or not JSON
JSON_SCHEMA = "json_schema"  # JSON that does not validate as SampleJson
JSON_ID_MISMATCH = "json_id_mismatch"  # `id` differs from the member's file id
JSON_TOO_LARGE = "json_too_large"  # json member past Caps.max_json_bytes

# Media problem codes (member scope; the sample is kept).
WAV_BAD_HEADER = "wav_bad_header"
WAV_TRUNCATED = "wav_truncated"  # data chunk declares more samples than the member holds
MP4_BAD_HEADER = "mp4_bad_header"



class Reject(Exception):
    """The sample must be quarantined; `problem` says why."""

    def __init__(self, code: str, reason: str, member_name: str | None = None) -> None:
        super().__init__(f"{code}: {reason}" + (f" ({member_name})" if member_name else ""))
        self.problem = Problem(code, reason, member_name)

    @classmethod
    def from_problem(cls, problem: Problem) -> Reject:
        return cls(problem.code, problem.reason, problem.member_name)

    @property
    def code(self) -> str:
        return self.problem.code


class MediaError(ValueError):
    """A wav or mp4 header that cannot be parsed: a fact about the member, not a reason to drop the sample."""
