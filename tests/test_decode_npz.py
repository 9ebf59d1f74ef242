"""decode_npz (validation, caps, corruption) and the frames/hypernet batches built from it."""

from __future__ import annotations

import functools
import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pyarrow as pa
import pytest

from silake.decode import Caps, Reject, decode_npz, frames_batch, hypernet_batch
from silake.schemas import tables
from silake.schemas.catalogue import (
    CORE_KEYS,
    FEATURES,
    FEATURES_BY_KEY,
    FRAME_FEATURES,
    HYPERNET_FEATURE,
    MOVEMENT_KEYS,
)
from silake.schemas.ids import parse_file_id

FILE_ID = "V00_S0809_I00000582_P0844A"
KEYS = parse_file_id(FILE_ID)
MEMBER = f"{FILE_ID}.npz"


def make_arrays(n_frames: int, movement: bool = True, hyper_rows: int | None = None,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays for every catalogue key (movement optional), with the catalogue's shapes and dtypes."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for f in FEATURES:
        if f.group == "movement" and not movement:
            continue
        rows = (n_frames // 15 if hyper_rows is None else hyper_rows) if f.rate == "hypernet" else n_frames
        shape = (rows, *f.frame_shape)
        if f.np_dtype == np.bool_:
            out[f.key] = rng.random(shape) < 0.5
        else:
            out[f.key] = rng.standard_normal(shape).astype(f.np_dtype)
    return out


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = True, **extra: object) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays, **extra)
    return buf.getvalue()


def reject_code(data: bytes, caps: Caps | None = None) -> str:
    with pytest.raises(Reject) as info:
        decode_npz(data, member_name=MEMBER, caps=caps or Caps())
    assert info.value.problem.member_name == MEMBER
    return info.value.problem.code


# --- decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [True, False])
def test_round_trip_is_bit_exact(compressed: bool) -> None:
    arrays = make_arrays(47)
    feats = decode_npz(npz_bytes(arrays, compressed), member_name=MEMBER)
    assert feats.n_frames == 47 and feats.has_movement and feats.n_hypernet == 3
    assert set(feats.arrays) == set(arrays)
    for key, arr in arrays.items():
        got = feats.arrays[key]
        assert got.dtype == arr.dtype and got.shape == arr.shape and got.flags.c_contiguous
        assert got.tobytes() == arr.tobytes(), key
    assert feats.nonfinite_values == 0 and feats.nonfinite_by_key == {}


def test_fortran_order_entry_is_read_in_order() -> None:
    arrays = make_arrays(20, movement=False)
    arrays["boxes_and_keypoints:keypoints"] = np.asfortranarray(arrays["boxes_and_keypoints:keypoints"])
    feats = decode_npz(npz_bytes(arrays), member_name=MEMBER)
    np.testing.assert_array_equal(feats.arrays["boxes_and_keypoints:keypoints"],
                                  arrays["boxes_and_keypoints:keypoints"])


def test_nonfinite_values_are_counted_not_rejected() -> None:
    arrays = make_arrays(30)
    arrays["smplh:translation"][3, 1] = np.nan
    arrays["smplh:translation"][4, 0] = np.inf
    arrays["movement:hypernet_features"][1, 7] = -np.inf
    arrays["smplh:body_pose"][:] = 3e38  # sums overflow to inf, yet every value is finite
    feats = decode_npz(npz_bytes(arrays), member_name=MEMBER)
    assert feats.nonfinite_values == 3
    assert feats.nonfinite_by_key == {"smplh:translation": 2, "movement:hypernet_features": 1}


@pytest.mark.parametrize("compressed", [True, False])
def test_frames_batch_equals_the_arrays(compressed: bool) -> None:
    n = 47
    arrays = make_arrays(n)
    feats = decode_npz(npz_bytes(arrays, compressed), member_name=MEMBER)
    batch = frames_batch(feats, KEYS, 30000 / 1001)
    assert batch.schema.equals(tables.FRAMES)
    assert batch.num_rows == n
    assert batch.column("file_id").to_pylist() == [FILE_ID] * n
    assert batch.column("participant_id").unique().to_pylist() == ["0844A"]
    assert batch.column("interaction_key").unique().to_pylist() == ["V00_S0809_I00000582"]
    np.testing.assert_array_equal(batch.column("frame_idx").to_numpy(), np.arange(n, dtype=np.int32))
    np.testing.assert_array_equal(batch.column("t_s").to_numpy(), np.arange(n) / (30000 / 1001))

    # nested (T, 21, 3): back to numpy, bit-exact
    body = batch.column("smplh_body_pose")
    assert body.type == pa.list_(pa.list_(pa.float32(), 3), 21)
    back = body.flatten().flatten().to_numpy().reshape(n, 21, 3)
    assert back.tobytes() == arrays["smplh:body_pose"].tobytes()
    # zero-copy: the Arrow values buffer is the decoded numpy buffer
    assert body.values.values.buffers()[1].address == feats.arrays["smplh:body_pose"].ctypes.data
    batch.validate(full=True)

    # (T, 1) is a scalar column
    token = batch.column("movement_fau_token")
    assert token.type == pa.float32()
    assert token.to_numpy().tobytes() == arrays["movement:FAUToken"][:, 0].tobytes()
    # (T,) bool
    assert batch.column("smplh_is_valid").type == pa.bool_()
    np.testing.assert_array_equal(batch.column("smplh_is_valid").to_numpy(zero_copy_only=False),
                                  arrays["smplh:is_valid"])
    # every frame feature column round-trips
    for f in FRAME_FEATURES:
        col = batch.column(f.column)
        while pa.types.is_fixed_size_list(col.type):
            col = col.flatten()
        got = col.to_numpy(zero_copy_only=False).reshape(arrays[f.key].shape)
        np.testing.assert_array_equal(got, arrays[f.key])


def test_no_movement_gives_null_movement_columns_and_no_hypernet_rows() -> None:
    n = 33
    feats = decode_npz(npz_bytes(make_arrays(n, movement=False)), member_name=MEMBER)
    assert not feats.has_movement and feats.n_hypernet == 0
    batch = frames_batch(feats, KEYS, 30.0)
    assert batch.schema.equals(tables.FRAMES)
    batch.validate(full=True)
    assert batch.column("movement_alignment_translation").to_pylist() == [None] * n
    for f in FRAME_FEATURES:
        nulls = batch.column(f.column).null_count
        assert nulls == (n if f.group == "movement" else 0), f.key
    hyper = hypernet_batch(feats, KEYS, 30.0)
    assert hyper.schema.equals(tables.HYPERNET) and hyper.num_rows == 0


@pytest.mark.parametrize(("n_frames", "rows"), [(31, 2), (31, 3), (30, 2), (15, 1), (14, 0), (14, 1)])
def test_hypernet_floor_and_ceil_rows(n_frames: int, rows: int) -> None:
    arrays = make_arrays(n_frames, hyper_rows=rows)
    feats = decode_npz(npz_bytes(arrays), member_name=MEMBER)
    assert feats.n_hypernet == rows
    batch = hypernet_batch(feats, KEYS, 30.0)
    assert batch.schema.equals(tables.HYPERNET)
    assert batch.column("step_idx").to_pylist() == list(range(rows))
    assert batch.column("frame_idx").to_pylist() == [15 * i for i in range(rows)]
    assert batch.column("t_s").to_pylist() == [15 * i / 30.0 for i in range(rows)]
    vectors = batch.column("features").flatten().to_numpy().reshape(rows, 5120)
    assert vectors.tobytes() == arrays[HYPERNET_FEATURE.key].tobytes()


@pytest.mark.parametrize(("n_frames", "rows"), [(31, 1), (31, 4), (30, 3), (0, 1)])
def test_hypernet_rows_outside_floor_ceil_are_rejected(n_frames: int, rows: int) -> None:
    assert reject_code(npz_bytes(make_arrays(n_frames, hyper_rows=rows))) == "npz_bad_shape"


@pytest.mark.parametrize("movement", [True, False])
def test_empty_bundle_decodes_to_zero_rows(movement: bool) -> None:
    feats = decode_npz(npz_bytes(make_arrays(0, movement=movement)), member_name=MEMBER)
    assert feats.n_frames == 0 and feats.n_hypernet == 0 and feats.has_movement is movement
    frames, hyper = frames_batch(feats, KEYS, 30.0), hypernet_batch(feats, KEYS, 30.0)
    assert frames.num_rows == 0 and frames.schema.equals(tables.FRAMES)
    assert hyper.num_rows == 0 and hyper.schema.equals(tables.HYPERNET)


def test_fps_must_be_positive() -> None:
    feats = decode_npz(npz_bytes(make_arrays(3, movement=False)), member_name=MEMBER)
    with pytest.raises(ValueError):
        frames_batch(feats, KEYS, 0.0)


# --- rejects ----------------------------------------------------------------------------------------


def test_object_array_needing_pickle_is_rejected() -> None:
    arrays = make_arrays(5, movement=False)
    arrays["smplh:is_valid"] = np.array([{"a": 1}] * 5, dtype=object)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=True, **arrays)
    assert reject_code(buf.getvalue()) == "npz_pickle"


def test_wrong_dtype() -> None:
    arrays = make_arrays(5)
    arrays["smplh:body_pose"] = arrays["smplh:body_pose"].astype(np.float64)
    assert reject_code(npz_bytes(arrays)) == "npz_bad_dtype"
    arrays = make_arrays(5)
    arrays["smplh:is_valid"] = arrays["smplh:is_valid"].astype(np.uint8)
    assert reject_code(npz_bytes(arrays)) == "npz_bad_dtype"
    arrays = make_arrays(5)
    arrays["smplh:translation"] = arrays["smplh:translation"].astype(">f4")
    assert reject_code(npz_bytes(arrays)) == "npz_bad_dtype"


@pytest.mark.parametrize(("key", "shape"), [
    ("smplh:body_pose", (5, 22, 3)),
    ("smplh:body_pose", (5, 63)),
    ("movement:FAUToken", (5,)),  # (T, 1) must stay (T, 1)
    ("smplh:is_valid", (5, 1)),
    ("movement:hypernet_features", (0, 5119)),
])
def test_wrong_shape(key: str, shape: tuple[int, ...]) -> None:
    arrays = make_arrays(5)
    arrays[key] = np.zeros(shape, dtype=FEATURES_BY_KEY[key].np_dtype)
    assert reject_code(npz_bytes(arrays)) == "npz_bad_shape"


def test_t_mismatch() -> None:
    arrays = make_arrays(30)
    arrays["boxes_and_keypoints:box"] = np.zeros((31, 4), np.float32)
    assert reject_code(npz_bytes(arrays)) == "npz_t_mismatch"
    arrays = make_arrays(30)
    arrays["movement:expression"] = np.zeros((29, 128), np.float32)
    assert reject_code(npz_bytes(arrays)) == "npz_t_mismatch"


@pytest.mark.parametrize("key", CORE_KEYS)
def test_missing_core_key(key: str) -> None:
    arrays = make_arrays(5)
    del arrays[key]
    assert reject_code(npz_bytes(arrays)) == "npz_missing_key"


@pytest.mark.parametrize("key", [MOVEMENT_KEYS[0], "movement:hypernet_features"])
def test_partial_movement(key: str) -> None:
    arrays = make_arrays(30)
    del arrays[key]
    assert reject_code(npz_bytes(arrays)) == "npz_partial_movement"


def test_unknown_key() -> None:
    arrays = make_arrays(5)
    assert reject_code(npz_bytes(arrays, extra_key=np.zeros(5, np.float32))) == "npz_unknown_key"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w") as fh:
                np.lib.format.write_array(fh, arr)
        zf.writestr("README.txt", b"hello")
    assert reject_code(buf.getvalue()) == "npz_unknown_key"


def test_caps_on_frames_entry_total_and_member() -> None:
    data = npz_bytes(make_arrays(40))
    assert reject_code(data, Caps(max_frames=39)) == "npz_too_large"
    assert decode_npz(data, member_name=MEMBER, caps=Caps(max_frames=40)).n_frames == 40
    assert reject_code(data, Caps(max_entry_bytes=5120 * 4)) == "npz_too_large"  # the hypernet entry
    assert reject_code(data, Caps(max_inflated_bytes=100_000)) == "npz_too_large"
    assert reject_code(data, Caps(max_npz_bytes=len(data) - 1)) == "npz_too_large"


@functools.lru_cache(maxsize=2)
def _bomb(n_zero_bytes: int) -> tuple[bytes, int]:
    """An npz whose box entry is a valid (10, 4) .npy followed by n zero bytes (honest zip sizes).

    Returns the archive and the length of the valid .npy (header + data).
    """
    arrays = make_arrays(10, movement=False)
    npy = io.BytesIO()
    np.lib.format.write_array(npy, arrays["boxes_and_keypoints:box"])
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts = [comp.compress(npy.getvalue())]
    crc = zlib.crc32(npy.getvalue())
    for _ in range(n_zero_bytes // len(chunk)):
        parts.append(comp.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(comp.flush())
    raw = b"".join(parts)
    size = len(npy.getvalue()) + n_zero_bytes
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            if key != "boxes_and_keypoints:box":
                with zf.open(key + ".npy", "w") as fh:
                    np.lib.format.write_array(fh, arr)
    # append the bomb entry by hand (zipfile cannot store a pre-compressed stream)
    body = buf.getvalue()
    eocd = body.rindex(b"PK\x05\x06")
    (n_entries,) = struct.unpack_from("<H", body, eocd + 10)
    (cd_off,) = struct.unpack_from("<I", body, eocd + 16)
    name = b"boxes_and_keypoints:box.npy"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), size, len(name), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(raw), size,
                          len(name), 0, 0, 0, 0, 0, cd_off)
    out = body[:cd_off] + local + name + raw
    cd = body[cd_off:eocd] + central + name
    eocd_rec = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n_entries + 1, n_entries + 1, len(cd),
                           len(out), 0)
    return out + cd + eocd_rec, len(npy.getvalue())


_CD_COMPRESS_SIZE, _CD_FILE_SIZE = 20, 24  # field offsets in a central directory header


def _patch_central(data: bytes, name: bytes, field: int, value: int) -> bytes:
    """Rewrite one 32-bit size field of an entry's central directory header (a lying zip)."""
    out = bytearray(data)
    eocd = out.rindex(b"PK\x05\x06")
    (pos,) = struct.unpack_from("<I", out, eocd + 16)
    while out[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", out, pos + 28)
        if bytes(out[pos + 46:pos + 46 + n]) == name:
            struct.pack_into("<I", out, pos + field, value)
            return bytes(out)
        pos += 46 + n + m + k
    raise AssertionError(f"{name!r} not in the central directory")


def test_zip_bomb_is_refused_before_inflating() -> None:
    data, _ = _bomb(64 << 20)  # 64 MiB of zeros in ~64 KiB
    assert len(data) < 1 << 20
    tracemalloc.start()
    t0 = time.perf_counter()
    code = reject_code(data, Caps(max_entry_bytes=1 << 20))
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == "npz_too_large"
    assert peak < 4 << 20 and elapsed < 0.5  # inflating 64 MiB would take both


def test_lying_declared_size_stops_one_byte_past_it() -> None:
    data, npy_len = _bomb(64 << 20)
    lying = _patch_central(data, b"boxes_and_keypoints:box.npy", _CD_FILE_SIZE, npy_len)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(Reject) as info:
        decode_npz(lying, member_name=MEMBER)  # default caps: only the bounded inflater can catch it
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert info.value.problem.code == "npz_corrupt"
    assert "inflates past" in info.value.problem.reason
    assert peak < 4 << 20 and elapsed < 0.5


def test_npy_header_shape_past_the_cap_is_too_large_even_if_the_zip_lies() -> None:
    arrays = make_arrays(10, movement=False)
    npy = io.BytesIO()
    np.lib.format.write_array(npy, arrays["boxes_and_keypoints:box"])
    huge = npy.getvalue().replace(b"(10, 4)", b"(10000000000, 4)")
    header_len = huge.index(b"\n") + 1
    fixed = huge[:8] + struct.pack("<H", header_len - 10) + huge[10:]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w") as fh:
                if key == "boxes_and_keypoints:box":
                    fh.write(fixed)
                else:
                    np.lib.format.write_array(fh, arr)
    assert reject_code(buf.getvalue()) == "npz_too_large"


def test_npy_header_disagreeing_with_zip_size() -> None:
    data, _ = _bomb(1 << 20)
    assert reject_code(data) == "npz_corrupt"  # the .npy header says 288 bytes, the zip says 1 MiB more


@pytest.mark.parametrize("damage", ["truncated", "not_a_zip", "empty", "bad_crc", "cut_stream"])
def test_corrupt_archives(damage: str) -> None:
    arrays = make_arrays(12)
    if damage == "truncated":
        data = npz_bytes(arrays)[:-100]
    elif damage == "not_a_zip":
        data = b"this is not a zip file at all" * 10
    elif damage == "empty":
        data = b""
    elif damage == "bad_crc":
        stored = bytearray(npz_bytes(arrays, compressed=False))
        at = stored.index(arrays["smplh:translation"].tobytes()[:16])
        stored[at + 3] ^= 0xFF
        data = bytes(stored)
    else:  # the deflate stream of one entry ends early while the zip sizes stay plausible
        data = npz_bytes(arrays)
        info = zipfile.ZipFile(io.BytesIO(data)).getinfo("smplh:translation.npy")
        data = _patch_central(data, b"smplh:translation.npy", _CD_COMPRESS_SIZE, info.compress_size // 2)
    assert reject_code(data) == "npz_corrupt"


def test_frames_with_and_without_movement_round_trip_through_the_lakes_parquet_options() -> None:
    """Null fixed-size-list rows (movement of files without movement) read back with pyarrow < 26 too:
    the lake writes frames without the Arrow schema (apache/arrow#35692)."""
    import pyarrow.parquet as pq

    from silake.lake.parquet import writer_options

    with_movement = frames_batch(decode_npz(npz_bytes(make_arrays(20)), member_name=MEMBER), KEYS, 30.0)
    without = frames_batch(decode_npz(npz_bytes(make_arrays(10, movement=False)), member_name=MEMBER),
                           KEYS, 30.0)
    table = pa.Table.from_batches([with_movement, without])
    buf = io.BytesIO()
    pq.write_table(table, buf, **writer_options(table.schema, nullable_fixed_size_lists=True))
    back = pq.read_table(io.BytesIO(buf.getvalue()))
    assert back.column("movement_expression").null_count == 10
    assert back.column("smplh_body_pose").to_pylist() == table.column("smplh_body_pose").to_pylist()


def test_every_float_leaf_of_frames_is_byte_stream_split_and_reads_back_in_duckdb(tmp_path) -> None:
    """The option names leaves (`keypoints.list.element.list.element`): named by the field, pyarrow would
    silently leave a nested column plain."""
    import duckdb
    import pyarrow.parquet as pq

    from silake.lake.parquet import float_columns, writer_options

    table = pa.Table.from_batches([
        frames_batch(decode_npz(npz_bytes(make_arrays(20)), member_name=MEMBER), KEYS, 30.0),
        frames_batch(decode_npz(npz_bytes(make_arrays(10, movement=False)), member_name=MEMBER), KEYS, 30.0)])
    path = tmp_path / "frames.parquet"
    pq.write_table(table, path, **writer_options(table.schema, nullable_fixed_size_lists=True))
    meta = pq.ParquetFile(path).metadata
    chunks = {meta.schema.column(i).path: (meta.schema.column(i).physical_type, meta.row_group(0).column(i))
              for i in range(meta.num_columns)}
    floats = {p for p, (kind, _) in chunks.items() if kind in ("FLOAT", "DOUBLE")}
    assert floats == set(float_columns(table.schema)) and len(floats) == 22
    assert "keypoints.list.element.list.element" in floats
    for p, (_, chunk) in chunks.items():
        assert ("BYTE_STREAM_SPLIT" in chunk.encodings) == (p in floats), p
        assert chunk.compression == "ZSTD"
    con = duckdb.connect()
    got = con.execute(f"SELECT keypoints, keypoints[12][2], movement_expression, t_s FROM '{path}'").fetchall()
    assert [r[0] for r in got] == table.column("keypoints").to_pylist()
    assert [r[1] for r in got] == [k[11][1] for k in table.column("keypoints").to_pylist()]
    assert [r[2] for r in got] == table.column("movement_expression").to_pylist()
    assert [r[3] for r in got] == table.column("t_s").to_pylist()
