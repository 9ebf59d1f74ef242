"""Decoding: one sample's member bytes → validated, vectorised Arrow batches and the `files` media facts."""

from silake.schemas.limits import Caps

from .errors import MediaError, Reject
from .features import feature_column, frames_batch, hypernet_batch
from .mp4 import Mp4Info, probe_mp4
from .npz import NpzFeatures, decode_npz
from .sample import DecodedSample, decode_sample
from .sample_json import decode_json, json_batches, json_facts
from .wav import WavInfo, parse_wav_header

__all__ = [
    "Caps",
    "DecodedSample",
    "MediaError",
    "Mp4Info",
    "NpzFeatures",
    "Reject",
    "WavInfo",
    "decode_json",
    "decode_npz",
    "decode_sample",
    "feature_column",
    "frames_batch",
    "hypernet_batch",
    "json_batches",
    "json_facts",
    "parse_wav_header",
    "probe_mp4",
]
