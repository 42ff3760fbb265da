"""Masking: known answers against a byte-by-byte reference, every kernel."""

from __future__ import annotations

import array
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

KEY = bytes.fromhex("37fa213d")


def reference(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """RFC 6455 §5.3 as written: octet i XOR key octet (i + offset) mod 4."""
    return bytes(b ^ key[(i + offset) % 4] for i, b in enumerate(data))


def test_rfc_example(wsk) -> None:
    # RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
    assert wsk.apply_mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")
    assert wsk.apply_mask(bytes.fromhex("7f9f4d5158"), KEY) == b"Hello"


def test_known_answer_vector(wsk) -> None:
    # A masking bug that masks and unmasks with the same mistake cancels in a
    # round trip; these bytes are fixed, computed once from the definition.
    data = bytes(range(20))
    assert wsk.apply_mask(data, b"\x01\x02\x04\x08").hex() == "0103060b0507020f090b0e030d0f0a071113161b"
    assert wsk.apply_mask(data, b"\x01\x02\x04\x08", 1).hex() == "02050a0206010e060a0d020a0e09060e12151a12"


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 5, -1, 2**70 + 3])
def test_every_length_and_offset(wsk, offset: int) -> None:
    rng = random.Random(offset)
    key = bytes(rng.randrange(256) for _ in range(4))
    for n in range(65):
        data = bytes(rng.randrange(256) for _ in range(n))
        expected = reference(data, key, offset % 4)
        assert wsk.apply_mask(data, key, offset) == expected, n
        buf = bytearray(data)
        assert wsk.mask_inplace(buf, key, offset) is None
        assert bytes(buf) == expected, n


@pytest.mark.parametrize("n", [127, 128, 255, 1000, 4095, 4096, 4099, 65536, 65539, 2**20 + 1])
def test_large_lengths(wsk, n: int) -> None:
    data = os.urandom(n)
    expected = reference(data, KEY, 3)
    assert wsk.apply_mask(data, KEY, 3) == expected
    buf = bytearray(data)
    wsk.mask_inplace(buf, KEY, 3)
    assert buf == expected


def test_misaligned_views(wsk) -> None:
    base = bytearray(os.urandom(300))
    for start in range(70):
        for n in (1, 7, 31, 64, 100, 200):
            chunk = bytes(base[start : start + n])
            view = memoryview(base)[start : start + n]
            assert wsk.apply_mask(view, KEY) == reference(chunk, KEY)
            before = bytes(base)
            wsk.mask_inplace(view, KEY)
            assert bytes(base[start : start + n]) == reference(chunk, KEY)
            # Nothing outside the view was touched.
            assert base[:start] == before[:start]
            assert base[start + n :] == before[start + n :]
            wsk.mask_inplace(view, KEY)
            assert bytes(base) == before


def _buffer_kinds(data: bytes):
    yield "bytes", data
    yield "bytearray", bytearray(data)
    yield "memoryview", memoryview(data)
    yield "array", array.array("B", data)
    yield "memoryview-of-bytearray", memoryview(bytearray(data))


def test_buffer_types(wsk) -> None:
    data = os.urandom(77)
    expected = reference(data, KEY, 2)
    for name, obj in _buffer_kinds(data):
        assert wsk.apply_mask(obj, KEY, 2) == expected, name
    for mask in (KEY, bytearray(KEY), memoryview(KEY), array.array("B", KEY)):
        assert wsk.apply_mask(data, mask, 2) == expected


def test_non_contiguous_input(wsk) -> None:
    data = os.urandom(200)
    strided = memoryview(data)[::3]
    assert wsk.apply_mask(strided, KEY) == reference(data[::3], KEY)
    backwards = memoryview(data)[::-1]
    assert wsk.apply_mask(backwards, KEY, 1) == reference(data[::-1], KEY, 1)


def test_non_contiguous_inplace(wsk) -> None:
    data = bytearray(os.urandom(100))
    original = bytes(data)
    wsk.mask_inplace(memoryview(data)[1::2], KEY, 1)
    assert bytes(data[0::2]) == original[0::2]
    assert bytes(data[1::2]) == reference(original[1::2], KEY, 1)


def test_multibyte_items(wsk) -> None:
    arr = array.array("I", range(10))
    raw = arr.tobytes()
    assert wsk.apply_mask(arr, KEY) == reference(raw, KEY)
    wsk.mask_inplace(arr, KEY)
    assert arr.tobytes() == reference(raw, KEY)


def test_returns_bytes(wsk) -> None:
    assert type(wsk.apply_mask(bytearray(b"abc"), KEY)) is bytes
    assert wsk.apply_mask(b"", KEY) == b""


@pytest.mark.parametrize("mask", [b"", b"abc", b"abcde", bytearray(8)])
def test_mask_length_is_value_error(wsk, mask) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        wsk.apply_mask(b"data", mask)
    with pytest.raises(ValueError, match="4 bytes"):
        wsk.mask_inplace(bytearray(b"data"), mask)
    with pytest.raises(ValueError, match="4 bytes"):
        wsk.Masker(mask)


@pytest.mark.parametrize("mask", ["abcd", None, 1234, 1.5])
def test_mask_type_is_type_error(wsk, mask) -> None:
    with pytest.raises(TypeError):
        wsk.apply_mask(b"data", mask)
    with pytest.raises(TypeError):
        wsk.mask_inplace(bytearray(b"data"), mask)


@pytest.mark.parametrize("data", ["text", None, 12, 1.0, object()])
def test_data_type_is_type_error(wsk, data) -> None:
    with pytest.raises(TypeError):
        wsk.apply_mask(data, KEY)
    with pytest.raises(TypeError):
        wsk.mask_inplace(data, KEY)
    with pytest.raises(TypeError):
        wsk.Masker(KEY).process(data)


@pytest.mark.parametrize("buf", [b"read-only", memoryview(b"read-only"), memoryview(bytearray(b"x")).toreadonly()])
def test_readonly_buffer_is_type_error(wsk, buf) -> None:
    with pytest.raises(TypeError, match="writable"):
        wsk.mask_inplace(buf, KEY)


def test_offset_type(wsk) -> None:
    with pytest.raises(TypeError):
        wsk.apply_mask(b"data", KEY, 1.0)
    with pytest.raises(TypeError):
        wsk.apply_mask(b"data", KEY, None)


def test_masker_streams(wsk) -> None:
    rng = random.Random(7)
    data = os.urandom(5000)
    masker = wsk.Masker(KEY)
    out = []
    pos = 0
    while pos < len(data):
        step = rng.choice([0, 1, 2, 3, 5, 17, 64, 1000])
        out.append(masker.process(data[pos : pos + step]))
        pos += step
        assert masker.offset == min(pos, len(data))
    assert b"".join(out) == reference(data, KEY)
    masker.reset()
    assert masker.offset == 0
    assert masker.process(b"Hello") == bytes.fromhex("7f9f4d5158")


def test_large_call_releases_nothing_it_should_not(wsk) -> None:
    # 16 MiB through the GIL-free path, checked at both ends and the middle.
    data = bytes(range(256)) * 65536
    out = wsk.apply_mask(data, KEY, 1)
    for i in (0, 1, 2, 3, len(data) // 2 + 1, len(data) - 1):
        assert out[i] == data[i] ^ KEY[(i + 1) % 4]
    assert len(out) == len(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), key=st.binary(min_size=4, max_size=4), offset=st.integers(-10, 10))
def test_matches_reference(ws, data: bytes, key: bytes, offset: int) -> None:
    expected = reference(data, key, offset % 4)
    assert ws.apply_mask(data, key, offset) == expected
    buf = bytearray(data)
    ws.mask_inplace(buf, key, offset)
    assert buf == expected
