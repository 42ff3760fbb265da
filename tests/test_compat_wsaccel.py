"""wsfast.compat.wsaccel against the real wsaccel: the same results, states
and errors, chunk by chunk, on both backends."""

from __future__ import annotations

import os
import random
import types
from typing import Any, Callable, Iterator, List

import pytest

from wsfast.compat import wsaccel as compat
from wsfast.compat.wsaccel import utf8validator, xormask

pytest.importorskip("wsaccel")
import wsaccel.utf8validator
import wsaccel.xormask


@pytest.fixture
def api(ws: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.SimpleNamespace]:
    """The compat modules on the backend under test."""
    monkeypatch.setattr(xormask, "Masker", ws.Masker)
    monkeypatch.setattr(utf8validator, "_Validator", ws.Utf8Validator)
    yield ws


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("error", type(exc))


def test_names() -> None:
    assert compat.xormask is xormask and compat.utf8validator is utf8validator
    for name in ("XorMaskerSimple", "XorMaskerNull", "createXorMasker"):
        assert hasattr(xormask, name) and hasattr(wsaccel.xormask, name)
    assert utf8validator.Utf8Validator.UTF8_ACCEPT == wsaccel.utf8validator.Utf8Validator.UTF8_ACCEPT
    assert utf8validator.Utf8Validator.UTF8_REJECT == wsaccel.utf8validator.Utf8Validator.UTF8_REJECT


@pytest.mark.parametrize("sizes", [[0], [1, 2, 3, 4, 5], [125, 3], [4096, 1, 65537], [7] * 20])
def test_masker_same_bytes_and_pointer(api: types.SimpleNamespace, sizes: List[int]) -> None:
    key = os.urandom(4)
    ours, theirs = xormask.XorMaskerSimple(key), wsaccel.xormask.XorMaskerSimple(key)
    for size in sizes:
        for kind in (bytes, bytearray, memoryview):
            data = kind(os.urandom(size))
            mine = ours.process(data)
            assert mine == theirs.process(data) and type(mine) is bytes
            assert ours.pointer() == theirs.pointer()
    ours.reset()
    theirs.reset()
    assert ours.pointer() == theirs.pointer() == 0
    assert ours.process(b"abcdef") == theirs.process(b"abcdef")
    assert xormask.createXorMasker(key, 200).process(b"xyz") == wsaccel.xormask.createXorMasker(key, 200).process(b"xyz")
    assert xormask.createXorMasker(key).process(b"xyz") == wsaccel.xormask.createXorMasker(key).process(b"xyz")


@pytest.mark.parametrize("key", [b"abc", b"abcde", b"", None, "abcd", 1234, bytearray(b"abcd"), memoryview(b"abcd")])
def test_masker_keys(api: types.SimpleNamespace, key: Any) -> None:
    def build(cls: Any) -> Any:
        return cls(key).process(b"payload")

    assert _outcome(build, xormask.XorMaskerSimple) == _outcome(build, wsaccel.xormask.XorMaskerSimple)
    assert _outcome(xormask.createXorMasker, key) [0] == _outcome(wsaccel.xormask.createXorMasker, key)[0]


@pytest.mark.parametrize("data", [None, "str", 5, [1, 2], (1,), b""])
def test_masker_payloads(api: types.SimpleNamespace, data: Any) -> None:
    assert _outcome(xormask.XorMaskerSimple(b"abcd").process, data) == _outcome(
        wsaccel.xormask.XorMaskerSimple(b"abcd").process, data
    )
    for null in (xormask.XorMaskerNull(), xormask.XorMaskerNull(b"abcd")):
        theirs = wsaccel.xormask.XorMaskerNull()
        assert _outcome(null.process, data) == _outcome(theirs.process, data)
        assert null.pointer() == theirs.pointer()


def test_null_masker_returns_its_argument() -> None:
    data = bytearray(b"unchanged")
    null = xormask.XorMaskerNull()
    assert null.process(data) is data and null.pointer() == 9
    null.reset()
    assert null.pointer() == 0


def _feed(validator: Any, chunks: List[bytes]) -> List[Any]:
    out = []
    for chunk in chunks:
        out.append((_outcome(validator.validate, chunk), validator.state, validator.i))
    return out


KNOWN = [
    [bytes.fromhex("cebae1bdb9cf83cebcceb5f4908080")],
    [bytes.fromhex("cebae1bdb9cf83cebcceb5"), bytes.fromhex("f4908080")],
    [b"\xff", b"", b"a", b"", b"\xff"],
    [b"ab\xe2\x82", b"\xac", b"\xff"],
    [b"\xe2", b"a"],
    [b"\xf0", b"\x9f", b"\x98", b"\x80", b"ok"],
    [b"\xed\xa0\x80"],
    [b"\xc0\xaf"],
    [b"\xf4\x90"],
    [b"", b""],
    [("漢字 émoji 👋🏽" * 500).encode()],
    [bytearray(b"caf\xc3"), memoryview(b"\xa9!")],
    ["str"],
    [None],
]


@pytest.mark.parametrize("chunks", KNOWN, ids=range(len(KNOWN)))
def test_validator_known_streams(api: types.SimpleNamespace, chunks: List[Any]) -> None:
    assert _feed(utf8validator.Utf8Validator(), chunks) == _feed(wsaccel.utf8validator.Utf8Validator(), chunks)


def test_validator_random_streams(api: types.SimpleNamespace) -> None:
    """Valid text broken at random points, fed in random chunks."""
    rng = random.Random(6455)
    text = ("ascii é ß 漢字 👋🏽 \u07ff \uffff \U0010ffff " * 40).encode()
    breakers = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82", b"\xf0"]
    for _ in range(300):
        data = bytearray(text[: rng.randrange(len(text))])
        if rng.random() < 0.7:
            spot = rng.randrange(len(data) + 1)
            data[spot:spot] = rng.choice(breakers)
        cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randrange(1, 8))))
        chunks = [bytes(data[a:b]) for a, b in zip([0] + cuts, cuts + [len(data)])]
        assert _feed(utf8validator.Utf8Validator(), chunks) == _feed(wsaccel.utf8validator.Utf8Validator(), chunks)


def test_validator_reset_and_decode(api: types.SimpleNamespace) -> None:
    ours, theirs = utf8validator.Utf8Validator(), wsaccel.utf8validator.Utf8Validator()
    for validator in (ours, theirs):
        validator.validate(b"\xff")
        validator.reset()
    assert (ours.state, ours.i) == (theirs.state, theirs.i) == (0, 0)
    for byte in "€𝄞é".encode() + b"\xff\x80":
        assert ours.decode(byte) == theirs.decode(byte)
        assert (ours.state, ours.codepoint) == (theirs.state, theirs.codepoint)
    # Every two-byte start, step by step.
    for first in range(256):
        for second in (0x00, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0):
            a, b = utf8validator.Utf8Validator(), wsaccel.utf8validator.Utf8Validator()
            assert [a.decode(first), a.decode(second)] == [b.decode(first), b.decode(second)]
            assert a.codepoint == b.codepoint
    # validate() continues from a state left by decode().
    for prefix in (b"\xe2", b"\xf0\x9f", b"\xed"):
        a, b = utf8validator.Utf8Validator(), wsaccel.utf8validator.Utf8Validator()
        for byte in prefix:
            a.decode(byte)
            b.decode(byte)
        for chunk in (b"\x82\xac", b"\x98\x80", b"\x9f\xbf", b"\xa0"):
            assert _feed(a, [chunk]) == _feed(b, [chunk])
