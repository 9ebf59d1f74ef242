"""Micro-benchmark of the decoding layer: `decode_npz` + `frames_batch` (+ `hypernet_batch`).

A synthetic 5-minute, 30 fps file with movement (T = 9000, 600 hypernet rows, every catalogue key) is
written with `np.savez_compressed` as the release does, then decoded repeatedly. Two data flavours:
`noise` (i.i.d. normal float32: nearly incompressible, the worst case for bytes read) and `smooth`
(random walks on a coarse grid with zero-filled invalid blocks: compresses like pose tracks). Reported:
frames/s and inflated MB/s (best of --repeat runs) of the whole decode, with `np.load` of the same bytes
as a baseline (it checks nothing: no catalogue, no caps, no bounded inflation).

    .venv/bin/python benchmarks/bench_decode.py [--seconds 300] [--fps 30] [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import numpy as np

from silake.decode import decode_npz, frames_batch, hypernet_batch
from silake.schemas.catalogue import FEATURES, hypernet_rows_allowed
from silake.schemas.ids import parse_file_id

KEYS = parse_file_id("V00_S0809_I00000582_P0947")


def synthetic(n_frames: int, flavour: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_hyper = hypernet_rows_allowed(n_frames)[-1]
    out: dict[str, np.ndarray] = {}
    for f in FEATURES:
        shape = (n_hyper if f.rate == "hypernet" else n_frames, *f.frame_shape)
        if f.np_dtype == np.bool_:
            out[f.key] = rng.random(shape) < 0.9
        elif flavour == "noise":
            out[f.key] = rng.standard_normal(shape, dtype=np.float32)
        else:
            walk = np.cumsum(rng.standard_normal(shape, dtype=np.float32) * 0.01, axis=0)
            walk = np.round(walk * 1024) / 1024  # a coarse grid, like the quantised release values
            walk[: shape[0] // 10] = 0  # zero-filled invalid block
            out[f.key] = walk.astype(np.float32)
    return out


def timeit(fn: Callable[[], object], repeat: int) -> float:
    """Best of `repeat` runs (the least disturbed by other processes on a shared machine)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n_frames = round(args.seconds * args.fps)

    for flavour in ("noise", "smooth"):
        arrays = synthetic(n_frames, flavour)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        data = buf.getvalue()
        raw_mb = sum(a.nbytes for a in arrays.values()) / 1e6

        feats = decode_npz(data, member_name="bench.npz")

        def full(data: bytes = data) -> None:
            f = decode_npz(data, member_name="bench.npz")
            frames_batch(f, KEYS, args.fps)
            hypernet_batch(f, KEYS, args.fps)

        def baseline(data: bytes = data) -> None:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                for k in z.files:
                    z[k]

        t_npz = timeit(lambda data=data: decode_npz(data, member_name="bench.npz"), args.repeat)
        t_frames = timeit(lambda feats=feats: frames_batch(feats, KEYS, args.fps), args.repeat)
        t_hyper = timeit(lambda feats=feats: hypernet_batch(feats, KEYS, args.fps), args.repeat)
        t_full = timeit(full, args.repeat)
        t_np = timeit(baseline, args.repeat)

        print(f"[{flavour}] T={n_frames} frames, npz {len(data) / 1e6:.1f} MB -> {raw_mb:.1f} MB inflated "
              f"(ratio {raw_mb * 1e6 / len(data):.2f})")
        print(f"  decode_npz       {t_npz * 1e3:8.1f} ms  {n_frames / t_npz:12,.0f} frames/s  "
              f"{raw_mb / t_npz:7.0f} MB/s")
        print(f"  frames_batch     {t_frames * 1e3:8.1f} ms  {n_frames / t_frames:12,.0f} frames/s")
        print(f"  hypernet_batch   {t_hyper * 1e3:8.1f} ms")
        print(f"  decode + batches {t_full * 1e3:8.1f} ms  {n_frames / t_full:12,.0f} frames/s  "
              f"{raw_mb / t_full:7.0f} MB/s")
        print(f"  np.load baseline {t_np * 1e3:8.1f} ms  {n_frames / t_np:12,.0f} frames/s  "
              f"{raw_mb / t_np:7.0f} MB/s")


if __name__ == "__main__":
    main()
