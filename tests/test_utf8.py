"""UTF-8 validation: strictness, exact fail-fast positions, every kernel."""

from __future__ import annotations

import importlib
import os
import random
import re
import sys
from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import IN_CI

# --- an independent oracle -------------------------------------------------
# Written from Unicode Table 3-7 code point by code point, not as the DFA the
# package uses, so that the two cannot share a mistake.

_SECOND = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}


def oracle(data: bytes) -> Tuple[int, bool]:
    """(index of the first byte that cannot continue a valid sequence or -1,
    whether the data ends on a code point boundary)."""
    i, n = 0, len(data)
    while i < n:
        lead = data[i]
        if lead < 0x80:
            i += 1
            continue
        if 0xC2 <= lead <= 0xDF:
            need = 1
        elif 0xE0 <= lead <= 0xEF:
            need = 2
        elif 0xF0 <= lead <= 0xF4:
            need = 3
        else:
            return i, False
        low, high = _SECOND.get(lead, (0x80, 0xBF))
        for k in range(1, need + 1):
            if i + k >= n:
                return -1, False
            b = data[i + k]
            if not (low <= b <= high if k == 1 else 0x80 <= b <= 0xBF):
                return i + k, False
        i += need + 1
    return -1, True


def valid(data: bytes) -> bool:
    bad, boundary = oracle(data)
    return bad < 0 and boundary


# --- the answers of DESIGN.md and PEERS.md ---------------------------------

GREEK = bytes.fromhex("cebae1bdb9cf83cebcceb5f4908080")


def test_known_failure_position(wsk) -> None:
    v = wsk.Utf8Validator()
    assert v.validate(GREEK) == (False, False, 12, 12)


def test_known_failure_position_split(wsk) -> None:
    v = wsk.Utf8Validator()
    assert v.validate(GREEK[:11]) == (True, True, 11, 11)
    assert v.validate(GREEK[11:]) == (False, False, 1, 12)


def test_failed_validator_stays_failed(wsk) -> None:
    v = wsk.Utf8Validator()
    assert v.validate(b"ab\xff") == (False, False, 2, 2)
    assert v.validate(b"abc") == (False, False, 0, 2)
    assert v.validate(b"") == (False, False, 0, 2)
    v.reset()
    assert v.validate(b"abc") == (True, True, 3, 3)


def test_truncated_end(wsk) -> None:
    v = wsk.Utf8Validator()
    assert v.validate(b"a\xe2\x82") == (True, False, 3, 3)
    assert v.validate(b"\xac") == (True, True, 1, 4)
    assert wsk.validate_utf8(b"a\xe2\x82") is False
    assert wsk.validate_utf8(b"a\xe2\x82\xac") is True


BOUNDARIES = [
    (0x7F, True), (0x80, True), (0x7FF, True), (0x800, True), (0xFFFF, True), (0x10000, True),
    (0x10FFFF, True), (0xD7FF, True), (0xE000, True), (0xD800, False), (0xDFFF, False),
]


def _encode(cp: int) -> bytes:
    # surrogatepass builds the (invalid) 3-byte form of a surrogate.
    return chr(cp).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("cp, ok", BOUNDARIES, ids=[f"U+{cp:04X}" for cp, _ in BOUNDARIES])
def test_boundary_code_points(wsk, cp: int, ok: bool) -> None:
    data = b"ab" + _encode(cp) + b"cd"
    assert wsk.validate_utf8(data) is ok
    bad, _ = oracle(data)
    result = wsk.Utf8Validator().validate(data)
    assert result[0] is ok
    if not ok:
        assert result[2] == bad == 3  # ED A0/BF: the second byte breaks it


def test_above_max_code_point(wsk) -> None:
    # U+110000 would be F4 90 80 80: F4 90 is the first impossible pair.
    assert wsk.Utf8Validator().validate(b"x\xf4\x90\x80\x80") == (False, False, 2, 2)
    assert wsk.validate_utf8(b"\xf4\x8f\xbf\xbf") is True


@pytest.mark.parametrize(
    "hexdata, index",
    [
        ("c0af", 0), ("c1bf", 0), ("e080af", 1), ("e09fbf", 1), ("f08080af", 1), ("f08fbfbf", 1),
        ("f5808080", 0), ("f8", 0), ("ff", 0), ("fe", 0), ("80", 0), ("bf", 0), ("e141", 1),
        ("eda080", 1), ("edbfbf", 1), ("c2", -1), ("e282", -1), ("f09f98", -1), ("41c241", 2),
    ],
)
def test_overlongs_and_bad_bytes(wsk, hexdata: str, index: int) -> None:
    data = bytes.fromhex(hexdata)
    valid_, boundary, cur, total = wsk.Utf8Validator().validate(data)
    if index < 0:
        assert (valid_, boundary, cur, total) == (True, False, len(data), len(data))
    else:
        assert (valid_, cur, total) == (False, index, index)
    assert oracle(data)[0] == index
    assert wsk.validate_utf8(data) is False


SAMPLES = [
    "ascii only, nothing else".encode(),
    "Grüße, Jürgen! Ça coûte 5 €".encode(),
    "日本語のテキスト、中文文本".encode(),
    "emoji 😀🎉👍🏽 and 𝄞 music".encode(),
    "κόσμε".encode(),
    "".join(chr(c) for c in (0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF, 0xD7FF, 0xE000)).encode(),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=range(len(SAMPLES)))
def test_every_split_point(wsk, sample: bytes) -> None:
    for cut in range(len(sample) + 1):
        v = wsk.Utf8Validator()
        a = v.validate(sample[:cut])
        b = v.validate(sample[cut:])
        assert a[0] and b[0], cut
        assert a[1] == oracle(sample[:cut])[1], cut
        assert b[1] is True and b[3] == len(sample)


@pytest.mark.parametrize("sample", SAMPLES[1:], ids=range(1, len(SAMPLES)))
def test_every_split_with_corruption(wsk, sample: bytes) -> None:
    rng = random.Random(len(sample))
    for _ in range(30):
        data = bytearray(sample)
        data[rng.randrange(len(data))] = rng.choice([0x80, 0xBF, 0xC0, 0xE0, 0xED, 0xF4, 0xF5, 0xFF, 0x41])
        data = bytes(data)
        bad, boundary = oracle(data)
        for cut in range(len(data) + 1):
            v = wsk.Utf8Validator()
            a = v.validate(data[:cut])
            if not a[0]:
                assert a[3] == bad and a[2] == bad, cut
                continue
            b = v.validate(data[cut:])
            if bad < 0:
                assert b[0] and b[1] == boundary
            else:
                assert not b[0] and b[3] == bad and b[2] == bad - cut, cut


def test_byte_at_a_time(wsk) -> None:
    data = b"".join(SAMPLES) + b"\xed\xa0\x80tail"
    bad, _ = oracle(data)
    v = wsk.Utf8Validator()
    for i in range(len(data)):
        result = v.validate(data[i : i + 1])
        if i < bad:
            assert result[0], i
        else:
            assert result == (False, False, 0, bad)
            break


def test_long_inputs_every_kernel_path(wsk) -> None:
    # Long enough for every vector width, with the bad byte at every position
    # of a 64-byte block and beyond.
    text = ("Ünïcödé ✓ 日本 😀 plain ascii stretch " * 40).encode()
    assert wsk.validate_utf8(text)
    for pos in list(range(130)) + [len(text) - 1, len(text) // 2]:
        data = bytearray(text)
        data[pos] = 0xFF
        data = bytes(data)
        expected = oracle(data)[0]
        assert wsk.Utf8Validator().validate(data)[2] == expected, pos
        assert wsk.validate_utf8(data) is False


def test_large_ascii_and_multibyte(wsk) -> None:
    for unit in ("a", "é", "日", "😀"):
        data = (unit * (2**20 // len(unit.encode()))).encode()
        assert wsk.validate_utf8(data)
        assert wsk.validate_utf8(data + b"\x80") is False
        assert wsk.validate_utf8(b"\x80" + data) is False


def test_buffer_types(wsk) -> None:
    data = "héllo wörld".encode()
    for obj in (data, bytearray(data), memoryview(data), memoryview(data * 2)[::2]):
        expected = valid(bytes(memoryview(obj).tobytes()))
        assert wsk.validate_utf8(obj) is expected
        assert wsk.Utf8Validator().validate(obj)[0] is (oracle(memoryview(obj).tobytes())[0] < 0)


@pytest.mark.parametrize("data", ["text", None, 5])
def test_type_errors(wsk, data) -> None:
    with pytest.raises(TypeError):
        wsk.validate_utf8(data)
    with pytest.raises(TypeError):
        wsk.Utf8Validator().validate(data)


# --- Markus Kuhn's UTF-8 decoder capability and stress test --------------

KUHN = "/usr/share/doc/yudit/examples/UTF-8-test.txt"
# Cases whose quoted bytes are valid UTF-8 under RFC 3629: section 2 but for
# the 5- and 6-byte forms and those above U+10FFFF, and 5.3 (noncharacters).
_KUHN_INVALID_IN_2 = {"2.1.5", "2.1.6", "2.2.4", "2.2.5", "2.2.6", "2.3.5"}


def _kuhn_cases() -> List[Tuple[str, bytes]]:
    with open(KUHN, "rb") as f:
        lines = f.read().split(b"\n")
    cases = []
    for line in lines:
        m = re.match(rb"^(\d+\.\d+\.\d+)\s.*?\"(.*)\"", line)
        if m:
            cases.append((m.group(1).decode(), m.group(2)))
    return cases


def _kuhn_expected(case: str) -> bool:
    if case.startswith("2."):
        return case not in _KUHN_INVALID_IN_2
    return case.startswith("5.3")


@pytest.fixture(scope="module")
def kuhn_cases() -> List[Tuple[str, bytes]]:
    if not os.path.exists(KUHN):
        reason = f"{KUHN} not found (Debian package yudit-doc)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return _kuhn_cases()


def test_kuhn_stress_test(wsk, kuhn_cases) -> None:
    assert len(kuhn_cases) >= 70
    for case, data in kuhn_cases:
        assert wsk.validate_utf8(data) is _kuhn_expected(case), case
        result = wsk.Utf8Validator().validate(data)
        bad, _boundary = oracle(data)
        assert result[0] is (bad < 0), case
        if bad >= 0:
            assert result[2] == bad, case


def test_kuhn_whole_file(wsk, kuhn_cases) -> None:
    with open(KUHN, "rb") as f:
        data = f.read()
    bad, _ = oracle(data)
    assert wsk.Utf8Validator().validate(data)[2] == bad
    lines = data.split(b"\n")
    v = wsk.Utf8Validator()
    total = 0
    for line in lines:
        result = v.validate(line + b"\n")
        if not result[0]:
            assert result[3] == bad
            break
        total += len(line) + 1


# --- property tests: compiled, pure and the oracle agree --------------------

_code_points = st.one_of(
    st.integers(0, 0x7F), st.integers(0x80, 0x7FF), st.integers(0x800, 0xD7FF),
    st.integers(0xE000, 0xFFFF), st.integers(0x10000, 0x10FFFF),
)
_texts = st.lists(_code_points, max_size=80).map(lambda cps: "".join(map(chr, cps)).encode())
_noisy = st.tuples(_texts, st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3)).map(
    lambda t: _corrupt(*t)
)


def _corrupt(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(_texts, _noisy, st.binary(max_size=200)), cuts=st.lists(st.integers(0, 400), max_size=4))
def test_agrees_with_oracle(ws, data: bytes, cuts: List[int]) -> None:
    bad, boundary = oracle(data)
    assert ws.validate_utf8(data) is (bad < 0 and boundary)
    v = ws.Utf8Validator()
    points = sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]
    start = 0
    for point in points:
        result = v.validate(data[start:point])
        if not result[0]:
            assert result[3] == bad
            assert result[2] == bad - start
            return
        start = point
    assert bad < 0
    assert result[1] is boundary


# --- building str from validated text (the message reader's decoder) -------


def _decoder(api):
    module = "wsfast._utf8_c" if api.IMPLEMENTATION == "cython" else "wsfast._utf8_py"
    return importlib.import_module(module).decode_utf8


def _same_str(got: str, expected: str) -> None:
    # Equal, and in the same canonical representation: CPython compares the
    # kinds before the characters, so a str stored wider than its largest
    # code point needs compares unequal to the right one.
    assert got == expected
    assert hash(got) == hash(expected)
    assert got.isascii() == expected.isascii()
    # The kind shows in the size too, except for CPython's one-character
    # singletons, which carry a cached UTF-8 copy from 3.12 on.
    if sys.implementation.name == "cpython" and len(expected) > 1:
        assert sys.getsizeof(got) == sys.getsizeof(expected)


DECODE_UNITS = ["a", "é", "ÿ", "Ā", "€", "日", "\uffff", "😀", "\U0010ffff", "\x7f", "\x80", "߿", "ࠀ"]


def test_decode_every_width_and_size(wsk) -> None:
    decode = _decoder(wsk)
    rng = random.Random(5)
    for n in list(range(70)) + [127, 128, 129, 255, 256, 1000, 4099, 70000]:
        for mix in (DECODE_UNITS[:1], DECODE_UNITS[:3], DECODE_UNITS[:6], DECODE_UNITS):
            text = "".join(rng.choice(mix) for _ in range(n))
            data = b"xx" + text.encode() + b"yy"
            _same_str(decode(data, 2, len(data) - 2), text)


def test_decode_boundaries(wsk) -> None:
    decode = _decoder(wsk)
    for cp in (0x7F, 0x80, 0xFF, 0x100, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF):
        for pad in range(0, 70, 7):
            text = "a" * pad + chr(cp) + "b" * (pad // 2)
            data = text.encode()
            _same_str(decode(data, 0, len(data)), text)


def test_decode_rejects_invalid(wsk) -> None:
    decode = _decoder(wsk)
    for bad in (b"\xff", b"abc\xe2\x82", b"\xed\xa0\x80", b"x" * 100 + b"\xc0\xaf"):
        assert decode(bad, 0, len(bad)) is None
    assert decode(b"abc", 1, 1) == ""


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_decode_matches_python(ws, text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    expected = None
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    got = _decoder(ws)(data, 0, len(data))
    if expected is None:
        assert got is None
    else:
        _same_str(got, expected)
