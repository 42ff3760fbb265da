"""The workloads: the inputs, and every candidate that can run them.

A workload is one measurement question ("mask 64 KiB into new bytes") with
fixed inputs and a list of candidates: wsfast's two backends, each installed
peer that has the operation, and where it helps a baseline that is no
WebSocket library (a bare copy, numpy). ``python -m wsfast bench`` and the
pytest-benchmark files in ``bench/`` both read this module, so they time the
same bytes through the same calls.

Every input is built from fixed seeds, so each run measures identical bytes.
Candidates are zero-argument callables. Each comes with a check that is run
on its first result, before any timing: a candidate that returns the wrong
answer is reported as failed and never gets a number. The checks use their
own reference code (big-integer XOR, a tiny frame decoder), not wsfast's.
"""

from __future__ import annotations

import asyncio
import atexit
import codecs
import functools
import random
import socket
import struct
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .. import _backend, _env
from . import peers

__all__ = [
    "Candidate",
    "Workload",
    "WORKLOADS",
    "FAMILIES",
    "select",
    "get",
    "size_label",
    "reference_mask",
    "utf8_corpus",
]

KiB = 1024
MiB = 1024 * 1024

MASK_KEY = b"\x37\xfa\x21\x3d"
MASK_SIZES = (16, 125, KiB, 64 * KiB, MiB, 16 * MiB)
UTF8_SIZES = (16, 125, KiB, 64 * KiB, MiB)
CORPORA = ("ascii", "latin", "cjk", "emoji")
SMALL_FRAMES = 10_000
LARGE_FRAMES = 100
LARGE_FRAME_SIZE = 64 * KiB
BUILD_PAYLOAD = 100

# Pure-Python peers take seconds per call on the largest inputs and say
# nothing new there; they stop at these sizes.
PURE_MASK_LIMIT = MiB
SMALL_PURE_LIMIT = 64 * KiB

Check = Callable[[Any], None]
Setup = Callable[[Any], Tuple[Callable[[], Any], Check]]


def size_label(size: int) -> str:
    for unit, scale in (("MiB", MiB), ("KiB", KiB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"


# --------------------------------------------------------------------------
# Reference code for the checks, independent of wsfast.


def reference_mask(data: bytes, key: bytes) -> bytes:
    size = len(data)
    if not size:
        return b""
    stream = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


def encode_reference_frame(opcode: int, payload: bytes, key: Optional[bytes]) -> bytes:
    size = len(payload)
    first = 0x80 | opcode
    mask_bit = 0x80 if key is not None else 0
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if key is None:
        return header + payload
    return header + key + reference_mask(payload, key)


def decode_reference_frame(frame: Any, masked: bool) -> Tuple[int, bytes]:
    """``(opcode, payload)`` of one complete final frame; AssertionError
    when anything about it is off (mask bit, length encoding, extra bytes)."""
    data = bytes(frame)
    assert len(data) >= 2, f"frame of {len(data)} bytes"
    first, second = data[0], data[1]
    assert first & 0x80, "FIN not set"
    assert not first & 0x70, "RSV bits set"
    assert bool(second & 0x80) == masked, f"mask bit is {bool(second & 0x80)}, expected {masked}"
    size = second & 0x7F
    pos = 2
    if size == 126:
        (size,) = struct.unpack_from("!H", data, pos)
        assert size >= 126, "non-minimal 16-bit length"
        pos += 2
    elif size == 127:
        (size,) = struct.unpack_from("!Q", data, pos)
        assert size >= 65536, "non-minimal 64-bit length"
        pos += 8
    key = None
    if masked:
        key = data[pos : pos + 4]
        pos += 4
    payload = data[pos:]
    assert len(payload) == size, f"payload is {len(payload)} bytes, header says {size}"
    if key is not None:
        payload = reference_mask(payload, key)
    return first & 0x0F, payload


# --------------------------------------------------------------------------
# Inputs.


@functools.lru_cache(maxsize=2)
def random_bytes(size: int, seed: int = 6455) -> bytes:
    return random.Random(seed * 1_000_003 + size).randbytes(size)


_ASCII = "etaoinshrdlucmfwypvbgkjqxz"
_ASCII_WEIGHTS = (12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1)
_LATIN = "àáâäãåæçèéêëìíîïñòóôöõøùúûüýÿßœłńśźżčřšžğışÀÉÖÜÑŁŚŽ"


def _ascii_chars(rng: random.Random, count: int) -> List[str]:
    chars = rng.choices(_ASCII, _ASCII_WEIGHTS, k=count)
    for index in range(count):
        pick = rng.random()
        if pick < 0.17:
            chars[index] = " "
        elif pick < 0.20:
            chars[index] = rng.choice(",.;:!?'\"-()0123456789\n")
        elif pick < 0.22:
            chars[index] = chars[index].upper()
    return chars


def _codepoints(rng: random.Random, ranges: Sequence[Tuple[int, int]], count: int) -> List[str]:
    return [chr(rng.randint(*rng.choice(ranges))) for _ in range(count)]


def _pool(kind: str) -> List[str]:
    """4096 characters in the proportions of corpus ``kind``; the corpus is
    then drawn from this pool at C speed."""
    rng = random.Random(CORPORA.index(kind) + 8259)
    size = 4096
    if kind == "ascii":
        return _ascii_chars(rng, size)
    if kind == "latin":
        # Mostly ASCII with 2-byte accented letters, the odd 3-byte symbol.
        pool = _ascii_chars(rng, size)
        for index in range(size):
            pick = rng.random()
            if pick < 0.15:
                pool[index] = rng.choice(_LATIN)
            elif pick < 0.16:
                pool[index] = rng.choice("€’“”–…")
        return pool
    if kind == "cjk":
        pool = _codepoints(rng, [(0x4E00, 0x9FFF)], size)
        for index in range(size):
            pick = rng.random()
            if pick < 0.05:
                pool[index] = chr(rng.randint(0x3041, 0x3096))
            elif pick < 0.10:
                pool[index] = rng.choice("、。「」『』（）！？：")
            elif pick < 0.15:
                pool[index] = rng.choice(" 0123456789abcdefXYZ")
        return pool
    if kind == "emoji":
        emoji = [(0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF)]
        pool = _ascii_chars(rng, size)
        for index in range(size):
            pick = rng.random()
            if pick < 0.50:
                pool[index] = chr(rng.randint(*rng.choice(emoji)))
            elif pick < 0.55:
                pool[index] = rng.choice("\u200d\ufe0f\u2764\u2600\u00a9")
        return pool
    raise ValueError(f"unknown corpus {kind!r}")


def cut_at_codepoint(data: bytes, limit: int) -> bytes:
    """The longest prefix of ``data`` of at most ``limit`` bytes that ends on
    a code point boundary."""
    if len(data) <= limit:
        return data
    end = limit
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


@functools.lru_cache(maxsize=None)
def _corpus_master(kind: str) -> bytes:
    rng = random.Random(CORPORA.index(kind) + 6455)
    pool = _pool(kind)
    parts: List[bytes] = []
    total = 0
    while total < max(UTF8_SIZES) + 16:
        chunk = "".join(rng.choices(pool, k=64 * KiB)).encode("utf-8")
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def utf8_corpus(kind: str, size: int) -> bytes:
    """Valid UTF-8 of corpus ``kind``, at most ``size`` bytes, whole code points."""
    return cut_at_codepoint(_corpus_master(kind), size)


def _broken(data: bytes) -> bytes:
    """``data`` with a UTF-16 surrogate (ED A0 80) spliced in at a code point
    boundary halfway through: invalid UTF-8 that only a strict validator sees."""
    middle = len(cut_at_codepoint(data, len(data) // 2))
    return data[:middle] + b"\xed\xa0\x80" + data[middle:]


class Inputs:
    bytes_per_call: int = 0
    items_per_call: int = 1


class MaskInputs(Inputs):
    def __init__(self, size: int) -> None:
        self.data = random_bytes(size)
        self.expected = reference_mask(self.data, MASK_KEY)
        self.bytes_per_call = size


class Utf8Inputs(Inputs):
    def __init__(self, kind: str, size: int) -> None:
        self.data = utf8_corpus(kind, size)
        self.bad = _broken(self.data)
        self.text = self.data.decode("utf-8")
        self.bytes_per_call = len(self.data)


class StreamInputs(Inputs):
    """A buffer of masked client frames and the (opcode, payload) of each."""

    def __init__(self, frames: List[Tuple[int, bytes]], seed: int) -> None:
        rng = random.Random(seed)
        self.expected = frames
        self.buffer = b"".join(
            encode_reference_frame(op, payload, rng.randbytes(4)) for op, payload in frames
        )
        self.bytes_per_call = len(self.buffer)
        self.items_per_call = len(frames)
        self.has_text = any(op == 1 for op, _ in frames)


def small_frames() -> List[Tuple[int, bytes]]:
    """10,000 frames as a chatty client sends them: mostly 0-125 bytes, one
    in ten 126-1000, half text and half binary, 2 % pings."""
    rng = random.Random(10_000)
    text = utf8_corpus("latin", 64 * KiB)
    frames: List[Tuple[int, bytes]] = []
    for _ in range(SMALL_FRAMES):
        if rng.random() < 0.02:
            frames.append((9, rng.randbytes(rng.randint(0, 16))))
            continue
        size = rng.randint(0, 125) if rng.random() < 0.9 else rng.randint(126, 1000)
        if rng.random() < 0.5:
            start = rng.randrange(len(text) - 1100)
            while (text[start] & 0xC0) == 0x80:
                start += 1
            frames.append((1, cut_at_codepoint(text[start : start + size + 4], size)))
        else:
            frames.append((2, rng.randbytes(size)))
    return frames


def large_frames() -> List[Tuple[int, bytes]]:
    rng = random.Random(LARGE_FRAME_SIZE)
    return [(2, rng.randbytes(LARGE_FRAME_SIZE)) for _ in range(LARGE_FRAMES)]


class BuildInputs(Inputs):
    def __init__(self, masked: bool) -> None:
        self.payload = random_bytes(BUILD_PAYLOAD, seed=100)
        self.masked = masked
        self.bytes_per_call = BUILD_PAYLOAD + (6 if masked else 2)


# --------------------------------------------------------------------------
# Candidates and workloads.


class Candidate:
    """One way to run a workload.

    ``setup(inputs)`` returns the zero-argument callable to time and the
    check for its first result. ``kind`` is ``"wsfast"``, ``"peer"`` or
    ``"baseline"`` (a yardstick that is no WebSocket library: the bare copy,
    numpy; shown with its ratio, never counted as the best peer).
    ``limit`` skips the candidate on workloads larger than that many bytes.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        setup: Setup,
        *,
        peer: Optional[str] = None,
        requires: Sequence[str] = (),
        probe: Optional[Callable[[], Optional[str]]] = None,
        limit: Optional[int] = None,
        note: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.setup = setup
        self.peer = peer
        self.requires = tuple(requires)
        self.probe = probe
        self.limit = limit
        self.note = note

    def skip_reason(self, workload: "Workload") -> Optional[str]:
        if self.limit is not None and workload.size > self.limit:
            return f"runs up to {size_label(self.limit)} only (pure Python)"
        if self.peer is not None:
            reason = peers.unavailable(self.peer, *self.requires)
            if reason is not None:
                return reason
        if self.probe is not None:
            return self.probe()
        return None

    def __repr__(self) -> str:
        return f"Candidate({self.name!r}, {self.kind!r})"


class Workload:
    """``family`` is what ``--only`` matches on; ``unit`` says how throughput
    is shown: ``"bytes"`` (GB/s) or ``"frames"`` (M frames/s)."""

    def __init__(
        self,
        name: str,
        family: str,
        description: str,
        unit: str,
        size: int,
        inputs: Callable[[], Inputs],
        candidates: Callable[["Workload"], List[Candidate]],
    ) -> None:
        self.name = name
        self.family = family
        self.description = description
        self.unit = unit
        self.size = size
        self._make_inputs = inputs
        self._make_candidates = candidates
        self._inputs: Optional[Inputs] = None
        self._candidates: Optional[List[Candidate]] = None

    def inputs(self) -> Inputs:
        if self._inputs is None:
            self._inputs = self._make_inputs()
        return self._inputs

    def candidates(self) -> List[Candidate]:
        if self._candidates is None:
            self._candidates = self._make_candidates(self)
        return self._candidates

    def candidate(self, name: str) -> Candidate:
        for candidate in self.candidates():
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no candidate {name!r}")

    def plan(self) -> List[Tuple[Candidate, Optional[str]]]:
        """Each candidate with the reason it is skipped here (None: it runs)."""
        return [(candidate, candidate.skip_reason(self)) for candidate in self.candidates()]

    def release(self) -> None:
        """Drop the inputs (up to tens of MiB) once the workload has run."""
        self._inputs = None

    def __repr__(self) -> str:
        return f"Workload({self.name!r})"


def _wsfast(implementation: str) -> types.SimpleNamespace:
    return _backend.load(implementation)


def _wsfast_probe(implementation: str) -> Callable[[], Optional[str]]:
    def probe() -> Optional[str]:
        if implementation == "cython" and _env.extensions_mode() == "0":
            return "WSFAST_EXTENSIONS=0: pure Python only"
        try:
            _wsfast(implementation)
        except ImportError as exc:
            return f"backend not available: {exc}"
        return None

    return probe


def _wsfast_candidate(
    implementation: str,
    setup: Callable[[types.SimpleNamespace, Any], Tuple[Callable[[], Any], Check]],
    suffix: str = "",
) -> Candidate:
    name = f"wsfast-{implementation}" + (f" {suffix}" if suffix else "")
    return Candidate(
        name,
        "wsfast",
        lambda inputs: setup(_wsfast(implementation), inputs),
        probe=_wsfast_probe(implementation),
    )


def _attr(key: str, module: str, name: str) -> Any:
    return getattr(peers.module(key, module), name)


# ---- masking into new bytes ----------------------------------------------


def _expect_bytes(expected: bytes, exact_type: bool = True) -> Check:
    def check(result: Any) -> None:
        if exact_type:
            assert isinstance(result, bytes), f"returned {type(result).__name__}, not bytes"
        assert len(result) == len(expected), f"returned {len(result)} bytes, expected {len(expected)}"
        assert bytes(result) == expected, "wrong bytes"

    return check


def _probe_c_extension(peer: str, module: str) -> Callable[[], Optional[str]]:
    """A probe that says why a peer's C extension is missing, or None."""

    def probe() -> Optional[str]:
        try:
            peers.module(peer, module)
        except peers.PeerUnavailable as exc:
            return f"C extension not built ({exc})"
        return None

    return probe


def _autobahn_uses_nvx() -> bool:
    return bool(getattr(peers.module("autobahn", "autobahn.websocket"), "USES_NVX", False))


def _probe_autobahn_nvx() -> Optional[str]:
    if not _autobahn_uses_nvx():
        return "NVX (CFFI) extension not in use: AUTOBAHN_USE_NVX=0 or not built"
    return None


def _probe_numpy_inplace(workload: Workload) -> Callable[[], Optional[str]]:
    def probe() -> Optional[str]:
        if workload.size % 4:
            return "needs a size that is a multiple of 4 (uint32 view)"
        return None

    return probe


def _mask_candidates(workload: Workload) -> List[Candidate]:
    def wsfast_setup(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        return functools.partial(api.apply_mask, inputs.data, MASK_KEY), _expect_bytes(inputs.expected)

    def websockets_c(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        apply_mask = _attr("websockets", "websockets.speedups", "apply_mask")
        return functools.partial(apply_mask, inputs.data, MASK_KEY), _expect_bytes(inputs.expected)

    def websockets_py(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        apply_mask = _attr("websockets", "websockets.utils", "apply_mask")
        return functools.partial(apply_mask, inputs.data, MASK_KEY), _expect_bytes(inputs.expected)

    def wsaccel(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        masker = _attr("wsaccel", "wsaccel.xormask", "XorMaskerSimple")
        data = inputs.data
        # A masker per frame, as its users create them: the key position
        # carries across calls, so a shared one would drift on odd sizes.
        return (lambda: masker(MASK_KEY).process(data)), _expect_bytes(inputs.expected)

    def tornado(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        mask = _attr("tornado", "tornado.speedups", "websocket_mask")
        return functools.partial(mask, MASK_KEY, inputs.data), _expect_bytes(inputs.expected)

    def wsproto(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        masker = _attr("wsproto", "wsproto.frame_protocol", "XorMaskerSimple")
        data = inputs.data
        return (lambda: masker(MASK_KEY).process(data)), _expect_bytes(inputs.expected, exact_type=False)

    def autobahn(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        create = _attr("autobahn", "autobahn.websocket.xormasker", "create_xor_masker")
        data, size = inputs.data, len(inputs.data)
        return (lambda: create(MASK_KEY, size).process(data)), _expect_bytes(inputs.expected)

    def websocket_client(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        abnf = _attr("websocket-client", "websocket._abnf", "ABNF")
        return functools.partial(abnf.mask, MASK_KEY, inputs.data), _expect_bytes(inputs.expected)

    def copy_floor(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        # bytes(b) of a bytes object returns b itself; a bytearray forces the
        # allocation and copy that every "new bytes" candidate has to pay.
        source = bytearray(inputs.data)
        return functools.partial(bytes, source), _expect_bytes(inputs.data)

    autobahn_nvx = True
    try:
        autobahn_nvx = _autobahn_uses_nvx()
    except peers.PeerUnavailable:
        pass
    return [
        _wsfast_candidate("cython", wsfast_setup),
        _wsfast_candidate("python", wsfast_setup),
        Candidate(
            "websockets-c",
            "peer",
            websockets_c,
            peer="websockets",
            probe=_probe_c_extension("websockets", "websockets.speedups"),
        ),
        Candidate(
            "websockets-py",
            "peer",
            websockets_py,
            peer="websockets",
            requires=["websockets.utils"],
            limit=PURE_MASK_LIMIT,
        ),
        Candidate("wsaccel", "peer", wsaccel, peer="wsaccel", requires=["wsaccel.xormask"]),
        Candidate("tornado", "peer", tornado, peer="tornado", probe=_probe_c_extension("tornado", "tornado.speedups")),
        Candidate(
            "wsproto",
            "peer",
            wsproto,
            peer="wsproto",
            requires=["wsproto.frame_protocol"],
            limit=SMALL_PURE_LIMIT,
        ),
        Candidate(
            "autobahn-nvx" if autobahn_nvx else "autobahn-py",
            "peer",
            autobahn,
            peer="autobahn",
            requires=["autobahn.websocket.xormasker"],
            limit=None if autobahn_nvx else SMALL_PURE_LIMIT,
        ),
        Candidate(
            "websocket-client",
            "peer",
            websocket_client,
            peer="websocket-client",
            requires=["websocket._abnf"],
            limit=PURE_MASK_LIMIT,
            note="ABNF.mask: wsaccel when installed, else big-integer XOR",
        ),
        Candidate("copy floor", "baseline", copy_floor, note="bytes(bytearray): allocation + memcpy"),
    ]


# ---- masking in place -----------------------------------------------------


def _expect_buffer(buffer: bytearray, expected: bytes) -> Check:
    def check(result: Any) -> None:
        assert len(buffer) == len(expected), "buffer changed size"
        assert bytes(buffer) == expected, "buffer holds the wrong bytes after one call"

    return check


def _mask_inplace_candidates(workload: Workload) -> List[Candidate]:
    # Every candidate XORs its own copy; the buffer flips between masked and
    # clear on successive calls, which costs the same either way.
    def wsfast_setup(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        buffer = bytearray(inputs.data)
        return functools.partial(api.mask_inplace, buffer, MASK_KEY), _expect_buffer(buffer, inputs.expected)

    def aiohttp_c(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        mask = _attr("aiohttp", "aiohttp._websocket.mask", "_websocket_mask_cython")
        buffer = bytearray(inputs.data)
        return functools.partial(mask, MASK_KEY, buffer), _expect_buffer(buffer, inputs.expected)

    def aiohttp_py(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        mask = _attr("aiohttp", "aiohttp._websocket.helpers", "_websocket_mask_python")
        buffer = bytearray(inputs.data)
        return functools.partial(mask, MASK_KEY, buffer), _expect_buffer(buffer, inputs.expected)

    def numpy_xor(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        np = peers.module("numpy")
        buffer = bytearray(inputs.data)
        # Both views use the machine's byte order, so the key lines up.
        words = np.frombuffer(buffer, dtype=np.uint32)
        key = np.frombuffer(MASK_KEY, dtype=np.uint32)
        return functools.partial(np.bitwise_xor, words, key, out=words), _expect_buffer(
            buffer, inputs.expected
        )

    def probe_aiohttp_c() -> Optional[str]:
        try:
            peers.module("aiohttp", "aiohttp._websocket.mask")
        except peers.PeerUnavailable as exc:
            return f"compiled mask not built ({exc})"
        return None

    return [
        _wsfast_candidate("cython", wsfast_setup),
        _wsfast_candidate("python", wsfast_setup),
        Candidate("aiohttp-cython", "peer", aiohttp_c, peer="aiohttp", probe=probe_aiohttp_c),
        Candidate(
            "aiohttp-py",
            "peer",
            aiohttp_py,
            peer="aiohttp",
            requires=["aiohttp._websocket.helpers"],
            limit=SMALL_PURE_LIMIT,
        ),
        Candidate(
            "numpy",
            "baseline",
            numpy_xor,
            peer="numpy",
            probe=_probe_numpy_inplace(workload),
            note="np.bitwise_xor on a uint32 view, out= in place",
        ),
    ]


# ---- UTF-8 validation -----------------------------------------------------


def _utf8_check(
    call: Callable[[bytes], Any], verdict: Callable[[Any], bool], inputs: Any, first: Callable[[Any], None]
) -> Check:
    """Check the timed result, then that the same code path rejects the
    corpus with a surrogate spliced in."""

    def check(result: Any) -> None:
        first(result)
        try:
            rejected = not verdict(call(inputs.bad))
        except UnicodeDecodeError:
            rejected = True
        assert rejected, "accepted invalid UTF-8 (a surrogate)"

    return check


def _validator_first(size: int) -> Callable[[Any], None]:
    def first(result: Any) -> None:
        assert tuple(result) == (
            True,
            True,
            size,
            size,
        ), f"returned {result!r}, expected (True, True, {size}, {size})"

    return first


def _utf8_candidates(workload: Workload) -> List[Candidate]:
    def wsfast_function(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        def first(result: Any) -> None:
            assert result is True, f"returned {result!r} for valid UTF-8"

        validate = api.validate_utf8
        return functools.partial(validate, inputs.data), _utf8_check(validate, bool, inputs, first)

    def validator_setup(factory: Callable[[], Any]) -> Callable[[Any], Tuple[Callable[[], Any], Check]]:
        def setup(inputs: Any) -> Tuple[Callable[[], Any], Check]:
            # One validator across calls, as on a connection: each corpus
            # ends on a code point, so every call starts a fresh sequence.
            validator = factory()
            fresh = lambda data: factory().validate(data)  # noqa: E731
            return (
                functools.partial(validator.validate, inputs.data),
                _utf8_check(fresh, lambda r: bool(r[0]), inputs, _validator_first(len(inputs.data))),
            )

        return setup

    def wsfast_validator(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        return validator_setup(api.Utf8Validator)(inputs)

    def decode_first(inputs: Any) -> Callable[[Any], None]:
        def first(result: Any) -> None:
            assert isinstance(result, str) and result == inputs.text, "decoded to the wrong text"

        return first

    def bytes_decode(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        call = lambda data: data.decode("utf-8")  # noqa: E731
        return functools.partial(inputs.data.decode, "utf-8"), _utf8_check(
            call, lambda r: True, inputs, decode_first(inputs)
        )

    def incremental(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        factory = codecs.getincrementaldecoder("utf-8")
        decoder = factory()
        call = lambda data: factory().decode(data, True)  # noqa: E731
        # final=True resets the decoder, so one instance serves every call.
        return functools.partial(decoder.decode, inputs.data, True), _utf8_check(
            call, lambda r: True, inputs, decode_first(inputs)
        )

    def wsaccel(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        return validator_setup(_attr("wsaccel", "wsaccel.utf8validator", "Utf8Validator"))(inputs)

    def autobahn(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        return validator_setup(_attr("autobahn", "autobahn.websocket.utf8validator", "Utf8Validator"))(inputs)

    autobahn_name = "autobahn"
    autobahn_limit: Optional[int] = None
    try:
        validator = _attr("autobahn", "autobahn.websocket.utf8validator", "Utf8Validator")
        if validator.__module__.startswith("autobahn.nvx"):
            autobahn_name = "autobahn-nvx"
        else:
            autobahn_name, autobahn_limit = "autobahn-py", SMALL_PURE_LIMIT
    except peers.PeerUnavailable:
        pass
    return [
        _wsfast_candidate("cython", wsfast_function),
        _wsfast_candidate("python", wsfast_function),
        _wsfast_candidate("cython", wsfast_validator, "Utf8Validator"),
        _wsfast_candidate("python", wsfast_validator, "Utf8Validator"),
        Candidate("bytes.decode", "peer", bytes_decode, note="what websockets, aiohttp and picows call"),
        Candidate(
            "codecs incremental",
            "peer",
            incremental,
            note="getincrementaldecoder('utf-8'), as wsproto and websockets use",
        ),
        Candidate("wsaccel", "peer", wsaccel, peer="wsaccel", requires=["wsaccel.utf8validator"]),
        Candidate(
            autobahn_name,
            "peer",
            autobahn,
            peer="autobahn",
            requires=["autobahn.websocket.utf8validator"],
            limit=autobahn_limit,
        ),
    ]


# ---- parsing --------------------------------------------------------------


def _expect_events(
    expected: List[Tuple[int, bytes]], text_as_str: bool
) -> Callable[[List[Tuple[int, Any]]], None]:
    def check(got: List[Tuple[int, Any]]) -> None:
        assert len(got) == len(expected), f"{len(got)} frames out, {len(expected)} in"
        for index, ((opcode, data), (want_op, want_data)) in enumerate(zip(got, expected)):
            assert opcode == want_op, f"frame {index}: opcode {opcode}, expected {want_op}"
            if text_as_str and want_op == 1:
                assert isinstance(data, str), f"frame {index}: text came out as {type(data).__name__}"
                assert data == want_data.decode("utf-8"), f"frame {index}: wrong text"
            else:
                if isinstance(data, str):
                    data = data.encode("utf-8")
                assert bytes(data) == want_data, f"frame {index}: wrong payload"

    return check


def _mapped(
    check: Callable[[List[Tuple[int, Any]]], None], convert: Callable[[Any], List[Tuple[int, Any]]]
) -> Check:
    return lambda result: check(convert(result))


class _FakeAiohttpProtocol:
    _reading_paused = False

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        self._reading_paused = False


class _SinkTransport:
    """A transport that keeps the last write: enough for the writers under
    test, and what they write is checked from ``last``."""

    def __init__(self) -> None:
        self.last: Any = b""
        self._socket: Optional[socket.socket] = None

    def write(self, data: Any) -> None:
        self.last = data

    def writelines(self, items: Any) -> None:
        self.last = b"".join(bytes(item) for item in items)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        # Non-zero keeps picows from calling send() on its socket.
        return 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            if self._socket is None:
                # Unconnected: picows only reads its fileno and sets options.
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                _sockets.append(self._socket)
            return self._socket
        if name in ("peername", "sockname"):
            return ("127.0.0.1", 0)
        return default

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


_sockets: List[socket.socket] = []
_loop: List[asyncio.AbstractEventLoop] = []


def _event_loop() -> asyncio.AbstractEventLoop:
    if not _loop:
        _loop.append(asyncio.new_event_loop())
    return _loop[0]


@atexit.register
def _cleanup() -> None:
    for sock in _sockets:
        sock.close()
    _sockets.clear()
    for loop in _loop:
        loop.close()
    _loop.clear()


_UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _picows_server() -> Tuple[Callable[[bytes], None], List[Any]]:
    """A server-side picows protocol past its HTTP upgrade, fed the way the
    event loop does (get_buffer / buffer_updated); frames land in the list."""
    picows = peers.module("picows")
    impl = peers.module("picows", "picows.picows")
    received: List[Any] = [[]]

    class Listener(picows.WSListener):  # type: ignore[misc,name-defined]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            # The frame is a view into picows' read buffer; an application
            # has to copy the payload out before the next read, so we do too.
            received[0].append((int(frame.msg_type), frame.get_payload_as_bytes()))

    listener = Listener()

    async def build() -> Any:
        return impl.WSProtocol(
            None,
            None,
            False,
            lambda request: listener,
            _quiet_logger("picows"),
            True,
            None,
            False,
            10.0,
            10.0,
            picows.WSAutoPingStrategy.PING_WHEN_IDLE,
            False,
            1 << 30,
            None,
            64 * KiB,
        )

    protocol = _event_loop().run_until_complete(build())
    protocol.connection_made(_SinkTransport())

    def feed(data: bytes) -> None:
        view = memoryview(data)
        position, size = 0, len(data)
        while position < size:
            target = protocol.get_buffer(-1)
            count = min(len(target), size - position)
            target[:count] = view[position : position + count]
            protocol.buffer_updated(count)
            position += count

    feed(_UPGRADE)
    return feed, received


def _quiet_logger(name: str) -> Any:
    import logging

    logger = logging.getLogger(f"wsfast.bench.{name}")
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    return logger


def _parse_candidates(workload: Workload) -> List[Candidate]:
    text = workload.name.startswith("parse/small")

    def frame_parser(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        parser = api.FrameParser(max_frame_size=None)
        convert = lambda frames: [(f.opcode, f.payload) for f in frames]  # noqa: E731
        return functools.partial(parser.feed, inputs.buffer), _mapped(
            _expect_events(inputs.expected, False), convert
        )

    def message_reader(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        reader = api.MessageReader(max_message_size=None)
        ping, message = api.Ping, api.Message

        def convert(events: List[Any]) -> List[Tuple[int, Any]]:
            out: List[Tuple[int, Any]] = []
            for event in events:
                if isinstance(event, ping):
                    out.append((9, event.payload))
                else:
                    assert isinstance(event, message), f"unexpected event {event!r}"
                    out.append((int(event.opcode), event.data))
            return out

        return functools.partial(reader.feed, inputs.buffer), _mapped(
            _expect_events(inputs.expected, True), convert
        )

    def aiohttp_reader(decode_text: bool) -> Setup:
        def setup(inputs: Any) -> Tuple[Callable[[], Any], Check]:
            queue_type = _attr("aiohttp", "aiohttp._websocket.reader_c", "WebSocketDataQueue")
            reader_type = _attr("aiohttp", "aiohttp._websocket.reader_c", "WebSocketReader")
            state: List[Any] = []

            def connect() -> None:
                queue = queue_type(_FakeAiohttpProtocol(), 2**31 - 1, loop=None)
                reader = reader_type(queue, 64 * MiB, compress=False, decode_text=decode_text)
                state[:] = [queue, reader.feed_data, queue._buffer]

            connect()
            data = inputs.buffer

            def run() -> List[Any]:
                queue, feed, buffer = state
                feed(data)
                messages = list(buffer)
                buffer.clear()
                # The queue's byte count only falls through read(); start a
                # fresh one long before it would pause the reader.
                if queue._size > 1 << 30:
                    connect()
                return messages

            def convert(messages: List[Any]) -> List[Tuple[int, Any]]:
                assert state[0].exception() is None, f"reader failed: {state[0].exception()!r}"
                return [(int(m.type), m.data) for m, _ in messages]

            return run, _mapped(_expect_events(inputs.expected, decode_text), convert)

        return setup

    def websockets_protocol(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        protocol_module = peers.module("websockets", "websockets.protocol")
        protocol = protocol_module.Protocol(
            protocol_module.Side.SERVER,
            state=protocol_module.State.OPEN,
            max_size=None,
            logger=_quiet_logger("websockets"),
        )
        data = inputs.buffer

        def run() -> List[Any]:
            protocol.receive_data(data)
            events = protocol.events_received()
            protocol.data_to_send()  # the pongs it queued for the pings
            return events  # type: ignore[no-any-return]

        convert = lambda events: [(int(e.opcode), e.data) for e in events]  # noqa: E731
        return run, _mapped(_expect_events(inputs.expected, False), convert)

    def websockets_frame_parse(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        # The frame layer alone: the fastest pure-Python parser's own loop
        # (its unmasking is its C apply_mask when that is built).
        frames = peers.module("websockets", "websockets.frames")
        streams = peers.module("websockets", "websockets.streams")
        parse, reader_type = frames.Frame.parse, streams.StreamReader
        data, count = inputs.buffer, inputs.items_per_call

        def run() -> List[Any]:
            reader = reader_type()
            reader.feed_data(data)
            out = []
            for _ in range(count):
                gen = parse(reader.read_exact, mask=True)
                try:
                    next(gen)
                except StopIteration as done:
                    out.append(done.value)
            return out

        convert = lambda frames: [(int(f.opcode), f.data) for f in frames]  # noqa: E731
        return run, _mapped(_expect_events(inputs.expected, False), convert)

    def wsproto_protocol(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        protocol = _attr("wsproto", "wsproto.frame_protocol", "FrameProtocol")(client=False, extensions=[])
        data = inputs.buffer

        def run() -> List[Any]:
            protocol.receive_bytes(data)
            return list(protocol.received_frames())

        convert = lambda frames: [(int(f.opcode), f.payload) for f in frames]  # noqa: E731
        return run, _mapped(_expect_events(inputs.expected, True), convert)

    def picows_protocol(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        feed, received = _picows_server()
        data = inputs.buffer

        def run() -> List[Any]:
            feed(data)
            frames: List[Any] = received[0]
            received[0] = []
            return frames

        return run, _mapped(_expect_events(inputs.expected, False), lambda frames: frames)

    def probe_aiohttp_reader() -> Optional[str]:
        try:
            peers.module("aiohttp", "aiohttp._websocket.reader_c")
        except peers.PeerUnavailable as exc:
            return f"compiled reader not built ({exc})"
        return None

    candidates = [
        _wsfast_candidate("cython", frame_parser),
        _wsfast_candidate("python", frame_parser),
        _wsfast_candidate("cython", message_reader, "MessageReader"),
        _wsfast_candidate("python", message_reader, "MessageReader"),
        Candidate(
            "aiohttp reader_c",
            "peer",
            aiohttp_reader(False),
            peer="aiohttp",
            probe=probe_aiohttp_reader,
            note="WebSocketReader, decode_text=False",
        ),
    ]
    if text:
        candidates.append(
            Candidate(
                "aiohttp reader_c +text",
                "peer",
                aiohttp_reader(True),
                peer="aiohttp",
                probe=probe_aiohttp_reader,
                note="WebSocketReader, decode_text=True",
            )
        )
    candidates += [
        Candidate(
            "websockets Protocol",
            "peer",
            websockets_protocol,
            peer="websockets",
            requires=["websockets.protocol"],
            note="receive_data + events_received",
        ),
        Candidate(
            "websockets Frame.parse",
            "peer",
            websockets_frame_parse,
            peer="websockets",
            requires=["websockets.frames", "websockets.streams"],
            note="Frame.parse over a StreamReader, frame by frame",
        ),
        Candidate(
            "wsproto FrameProtocol",
            "peer",
            wsproto_protocol,
            peer="wsproto",
            requires=["wsproto.frame_protocol"],
            note="receive_bytes + received_frames; decodes text",
        ),
        Candidate(
            "picows",
            "peer",
            picows_protocol,
            peer="picows",
            requires=["picows.picows"],
            note="WSProtocol via get_buffer/buffer_updated; payloads copied to bytes",
        ),
    ]
    return candidates


# ---- building -------------------------------------------------------------


def _expect_frame(
    payload: bytes, masked: bool, convert: Callable[[Any], Any] = lambda result: result
) -> Check:
    def check(result: Any) -> None:
        opcode, got = decode_reference_frame(convert(result), masked)
        assert opcode == 2, f"opcode {opcode}, expected 2 (binary)"
        assert got == payload, "wrong payload"

    return check


def _build_candidates(workload: Workload) -> List[Candidate]:
    masked = workload.name.endswith("-masked")

    def wsfast_setup(api: types.SimpleNamespace, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        encode, payload = api.encode_frame, inputs.payload
        sink = _SinkTransport()
        write = sink.write
        # Every candidate hands its frame to a transport, as picows and
        # aiohttp cannot help doing, so that all pay the same write call.
        if masked:
            call: Callable[[], Any] = lambda: write(encode(2, payload, mask=True))  # noqa: E731
        else:
            call = lambda: write(encode(2, payload))  # noqa: E731
        return call, _expect_frame(inputs.payload, masked, lambda _: sink.last)

    def websockets_frame(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        frames = peers.module("websockets", "websockets.frames")
        frame_type, binary, payload = frames.Frame, frames.Opcode.BINARY, inputs.payload
        sink = _SinkTransport()
        write = sink.write
        return (lambda: write(frame_type(binary, payload).serialize(mask=masked))), _expect_frame(
            payload, masked, lambda _: sink.last
        )

    def aiohttp_writer(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        writer_type = _attr("aiohttp", "aiohttp._websocket.writer", "WebSocketWriter")
        transport = _SinkTransport()
        writer = writer_type(_FakeAiohttpProtocol(), transport, use_mask=masked)
        write_frame, payload = writer._write_websocket_frame, inputs.payload
        return (lambda: write_frame(payload, 2, 0)), _expect_frame(payload, masked, lambda _: transport.last)

    def wsproto_frame(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        protocol = _attr("wsproto", "wsproto.frame_protocol", "FrameProtocol")(client=masked, extensions=[])
        send, payload = protocol.send_data, inputs.payload
        sink = _SinkTransport()
        write = sink.write
        return (lambda: write(send(payload, True))), _expect_frame(payload, masked, lambda _: sink.last)

    def picows_transport(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        picows = peers.module("picows")
        transport = _SinkTransport()
        ws = picows.WSTransport(masked, transport, _quiet_logger("picows"), _event_loop())
        send, binary, payload = ws.send, picows.WSMsgType.BINARY, inputs.payload
        # A lambda like every other candidate's, so that all pay one Python frame.
        return (lambda: send(binary, payload)), _expect_frame(payload, masked, lambda _: transport.last)

    def websocket_client(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        abnf = _attr("websocket-client", "websocket._abnf", "ABNF")
        payload, opcode, mask_value = inputs.payload, abnf.OPCODE_BINARY, 1 if masked else 0
        sink = _SinkTransport()
        write = sink.write
        return (lambda: write(abnf(1, 0, 0, 0, opcode, mask_value, payload).format())), _expect_frame(
            payload, masked, lambda _: sink.last
        )

    return [
        _wsfast_candidate("cython", wsfast_setup),
        _wsfast_candidate("python", wsfast_setup),
        Candidate(
            "websockets",
            "peer",
            websockets_frame,
            peer="websockets",
            requires=["websockets.frames"],
            note="Frame(...).serialize",
        ),
        Candidate(
            "aiohttp WebSocketWriter",
            "peer",
            aiohttp_writer,
            peer="aiohttp",
            requires=["aiohttp._websocket.writer"],
            note="_write_websocket_frame to a stand-in transport",
        ),
        Candidate(
            "wsproto",
            "peer",
            wsproto_frame,
            peer="wsproto",
            requires=["wsproto.frame_protocol"],
            note="FrameProtocol.send_data",
        ),
        Candidate(
            "picows", "peer", picows_transport, peer="picows", note="WSTransport.send to a stand-in transport"
        ),
        Candidate(
            "websocket-client",
            "peer",
            websocket_client,
            peer="websocket-client",
            requires=["websocket._abnf"],
            note="ABNF(...).format",
        ),
    ]


# --------------------------------------------------------------------------
# The registry.


def _all_workloads() -> List[Workload]:
    workloads: List[Workload] = []
    for size in MASK_SIZES:
        workloads.append(
            Workload(
                f"mask/{size_label(size)}",
                "mask",
                f"XOR {size_label(size)} with a 4-byte key into new bytes",
                "bytes",
                size,
                functools.partial(MaskInputs, size),
                _mask_candidates,
            )
        )
    for size in MASK_SIZES:
        workloads.append(
            Workload(
                f"mask-inplace/{size_label(size)}",
                "mask-inplace",
                f"XOR {size_label(size)} with a 4-byte key in place (bytearray)",
                "bytes",
                size,
                functools.partial(MaskInputs, size),
                _mask_inplace_candidates,
            )
        )
    for kind in CORPORA:
        for size in UTF8_SIZES:
            workloads.append(
                Workload(
                    f"utf8/{kind}/{size_label(size)}",
                    "utf8",
                    f"validate {size_label(size)} of {kind} UTF-8 (cut at a code point)",
                    "bytes",
                    size,
                    functools.partial(Utf8Inputs, kind, size),
                    _utf8_candidates,
                )
            )
    workloads.append(
        Workload(
            "parse/small-10k",
            "parse",
            f"{SMALL_FRAMES:,} small masked client frames (text, binary, pings) fed at once",
            "frames",
            SMALL_FRAMES * 100,
            lambda: StreamInputs(small_frames(), 1),
            _parse_candidates,
        )
    )
    workloads.append(
        Workload(
            "parse/64KiB-100",
            "parse",
            f"{LARGE_FRAMES} masked binary frames of 64 KiB fed at once, GB/s of wire data",
            "bytes",
            LARGE_FRAMES * LARGE_FRAME_SIZE,
            lambda: StreamInputs(large_frames(), 2),
            _parse_candidates,
        )
    )
    for masked in (True, False):
        suffix = "masked" if masked else "unmasked"
        workloads.append(
            Workload(
                f"build/100B-{suffix}",
                "build",
                f"build one {BUILD_PAYLOAD}-byte binary frame, {suffix}",
                "frames",
                BUILD_PAYLOAD,
                functools.partial(BuildInputs, masked),
                _build_candidates,
            )
        )
    from .deflate import deflate_workloads  # it builds on this module's pieces

    workloads += deflate_workloads()
    return workloads


WORKLOADS: List[Workload] = _all_workloads()
FAMILIES: Tuple[str, ...] = tuple(dict.fromkeys(w.family for w in WORKLOADS))


def get(name: str) -> Workload:
    for workload in WORKLOADS:
        if workload.name == name:
            return workload
    raise KeyError(name)


def select(patterns: Optional[Sequence[str]] = None) -> List[Workload]:
    """The workloads whose name starts with one of ``patterns`` (all when
    empty): ``mask`` takes both mask families, ``mask/`` only the first,
    ``utf8/cjk`` one corpus. ValueError names the choices when one matches
    nothing."""
    if not patterns:
        return list(WORKLOADS)
    chosen: Dict[str, Workload] = {}
    for pattern in patterns:
        matched = [w for w in WORKLOADS if w.name.startswith(pattern) or w.family == pattern]
        if not matched:
            raise ValueError(f"--only {pattern!r} matches no workload; families: {', '.join(FAMILIES)}")
        for workload in matched:
            chosen[workload.name] = workload
    return [w for w in WORKLOADS if w.name in chosen]


def cases(families: Sequence[str]) -> Iterator[Tuple[Workload, Candidate]]:
    """Every (workload, candidate) pair of ``families``, for parametrizing."""
    for workload in WORKLOADS:
        if workload.family in families:
            for candidate in workload.candidates():
                yield workload, candidate
