"""Inflaters on one bench shard's npz entries: CPU seconds to inflate every deflated entry whole, CRC-32
checked, with zlib, ISA-L (what `silake.decode.npz` uses), zlib-ng and libdeflate. Not a test: it prints the
figures behind the README's choice of inflater.

    make bench-formats   # installs the bench extra's lock (zlib-ng, libdeflate's `deflate`) once
    .venv/bin/python benchmarks/bench_inflate.py bench-data/release-32/improvised/train/0000/0000.tar

Each entry is inflated in one call into an output of its declared size, as `decode_npz` does; the rounds
alternate the inflaters and the medians are reported. An inflater whose package is missing is skipped.
"""

from __future__ import annotations

import io
import statistics
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable

from isal import isal_zlib

Entry = tuple[memoryview, int, int]  # deflated bytes, inflated size, CRC-32


def entries(shard: str) -> list[Entry]:
    """Every deflated entry of every npz in the shard, as the zip's local headers place them."""
    out: list[Entry] = []
    with tarfile.open(shard) as tar:
        for member in tar:
            if not member.name.endswith(".npz"):
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
                if info.compress_type != zipfile.ZIP_DEFLATED:
                    continue
                at = info.header_offset
                start = at + 30 + int.from_bytes(data[at + 26:at + 28], "little") + \
                    int.from_bytes(data[at + 28:at + 30], "little")
                out.append((memoryview(data)[start:start + info.compress_size], info.file_size, info.CRC))
    return out


def _stream(module: object) -> Callable[[list[Entry]], None]:
    """zlib's API (zlib, isal_zlib, zlib_ng): a raw-deflate decompressor bounded one byte past the size."""
    def run(items: list[Entry]) -> None:
        for raw, size, crc in items:
            d = module.decompressobj(-15)  # type: ignore[attr-defined]
            out = d.decompress(raw, size + 1)
            assert len(out) == size and d.eof and module.crc32(out) == crc  # type: ignore[attr-defined]
    return run


def inflaters() -> dict[str, Callable[[list[Entry]], None]]:
    found: dict[str, Callable[[list[Entry]], None]] = {"zlib": _stream(zlib), "ISA-L (isal)": _stream(isal_zlib)}
    try:
        from zlib_ng import zlib_ng

        found["zlib-ng (zlib-ng)"] = _stream(zlib_ng)
    except ImportError:
        print("zlib-ng: not installed, skipped")
    try:
        import deflate

        def libdeflate(items: list[Entry]) -> None:
            for raw, size, crc in items:
                out = deflate.deflate_decompress(raw, size)  # exactly `size` bytes, or an error
                assert deflate.crc32(out) == crc

        found["libdeflate (deflate)"] = libdeflate
    except ImportError:
        print("libdeflate: `deflate` not installed, skipped")
    return found


def main() -> None:
    items = entries(sys.argv[1])
    rounds = 5
    ways = inflaters()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, run in ways.items():
            t0 = time.process_time()
            run(items)
            times[name].append(time.process_time() - t0)
    print(f"\n{len(items)} deflated entries, {sum(len(r) for r, _, _ in items) / 1e6:.1f} MB -> "
          f"{sum(s for _, s, _ in items) / 1e6:.1f} MB; medians of {rounds} alternating rounds\n")
    print("| inflater | CPU | vs zlib |\n|---|---:|---:|")
    base = statistics.median(times["zlib"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} s | {base / med:.2f}x |")


if __name__ == "__main__":
    main()
