"""A process that ran a shard keeps freed buffers in its heap for the next sample (glibc), unless told not to."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")

#: Runs one shard of the sample release, then allocates and frees a 16 MiB buffer; glibc's own counters
#: (mallinfo2) tell where the buffer came from and where it went.
PROBE = """
import ctypes, json, sys
from silake.ingest_plan import discover
from silake.settings import current
from silake.shard_job import IngestContext, ingest_shard

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
shard = discover([sys.argv[1]]).shards[0]
ingest_shard(shard, IngestContext(sys.argv[2], "run-1", reads=current().read_limits()))
before = libc.mallinfo2()
buf = bytearray(16 << 20)
held = libc.mallinfo2()
del buf
freed = libc.mallinfo2()
print(json.dumps({"mapped": held.hblkhd - before.hblkhd, "heap_free_after": freed.fordblks,
                  "heap_after_minus_held": freed.arena - held.arena}))
"""


def _probe(release, lake, keep: str | None) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "SILAKE_KEEP_FREED_BYTES"}
    if keep is not None:
        env["SILAKE_KEEP_FREED_BYTES"] = keep
    out = subprocess.run([sys.executable, "-c", PROBE, str(release / "improvised" / "train"), str(lake)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_after_a_shard_a_16_mib_buffer_comes_from_the_heap_and_stays_there_when_freed(sample_release, tmp_path):
    release, _ = sample_release
    seen = _probe(release, tmp_path / "lake", None)
    assert seen["mapped"] == 0  # not a fresh mapping: served from the heap
    assert seen["heap_free_after"] >= 16 << 20  # freed, it stays in the heap for the next sample
    assert seen["heap_after_minus_held"] == 0  # nothing trimmed


def test_keep_freed_bytes_0_leaves_glibcs_defaults(sample_release, tmp_path):
    release, _ = sample_release
    seen = _probe(release, tmp_path / "lake", "0")
    assert seen["mapped"] >= 16 << 20  # glibc's default: a buffer this size is a mapping of its own
    assert seen["heap_free_after"] < 16 << 20  # and goes back to the kernel when freed
