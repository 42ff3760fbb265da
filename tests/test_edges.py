"""Both backends behave the same at every edge of the public API.

Every public function and class that comes from a backend (the names of
``wsfast._backend.public_names()``, and ``PerMessageDeflate`` bound to each), and the methods of the stateful classes, are
called with every kind of odd argument in every argument position: bytes
subclasses, bytearray, memoryviews (non-contiguous, released, 2-D),
array.array, mmap, str, None, ints, floats, bools, wrong-length masks,
negative and huge numbers. The compiled and the pure backend must give the
same results, or raise the same exception types with the same messages.

The README's table of what each kind of wrong argument gets is generated
from the same data (``python -m tests.test_edges``), and a test checks that
the README carries it as generated.
"""

from __future__ import annotations

import array
import mmap
import os
import re
import sys
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from wsfast import _backend

from .conftest import load_backend

KEY = b"\x37\xfa\x21\x3d"
HELLO = b"Hello"


class BytesSub(bytes):
    pass


class StrSub(str):
    pass


def _masked(payload: bytes, first: int = 0x81) -> bytes:
    """A client frame: ``payload`` masked with KEY."""
    body = bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    return bytes((first, 0x80 | len(payload))) + KEY + body


def _released(content: bytes) -> memoryview:
    view = memoryview(bytearray(content))
    view.release()
    return view


def _mmap(content: bytes) -> mmap.mmap:
    m = mmap.mmap(-1, max(len(content), 1))
    m.write(content)
    if not content:
        # An mmap cannot be empty; a zero-length view of one stands in.
        return memoryview(m)[:0]  # type: ignore[return-value]
    return m


def _strided(content: bytes) -> memoryview:
    spread = bytearray(2 * len(content))
    spread[::2] = content
    return memoryview(spread)[::2]


# Kinds of argument for a bytes-like slot, made from the content the slot
# would hold when called properly.
BYTES_KINDS: List[Tuple[str, Callable[[bytes], Any]]] = [
    ("bytes", lambda c: bytes(c)),
    ("bytes subclass", lambda c: BytesSub(c)),
    ("bytearray", lambda c: bytearray(c)),
    ("memoryview", lambda c: memoryview(c)),
    ("memoryview, non-contiguous", _strided),
    ("memoryview, released", _released),
    ("memoryview, 2-D", lambda c: memoryview(bytearray(c + c)).cast("B", (2, len(c))) if c else memoryview(b"")),
    ("memoryview of int32", lambda c: memoryview(array.array("i", [1, 2]))),
    ("array.array('B')", lambda c: array.array("B", c)),
    ("mmap", _mmap),
    ("str", lambda c: c.decode("latin-1")),
    ("None", lambda c: None),
    ("int", lambda c: 5),
    ("float", lambda c: 1.5),
    ("list of ints", lambda c: list(c)),
]
# ... for a mask: the same, and the wrong lengths.
MASK_KINDS = BYTES_KINDS + [
    ("3 bytes", lambda c: c[:3]),
    ("5 bytes", lambda c: c + b"!"),
    ("empty", lambda c: b""),
    ("True", lambda c: True),
    ("False", lambda c: False),
]
# Kinds for an int slot, made from a proper value.
INT_KINDS: List[Tuple[str, Callable[[int], Any]]] = [
    ("int", lambda v: v),
    ("negative", lambda v: -1),
    ("huge", lambda v: 2**63),
    ("bool", lambda v: True),
    ("int subclass", lambda v: _IntSub(v)),
    ("float", lambda v: float(v)),
    ("str", lambda v: str(v)),
    ("None", lambda v: None),
    ("bytes", lambda v: b"\x01"),
]
# Kinds for a flag.
BOOL_KINDS: List[Tuple[str, Callable[[bool], Any]]] = [
    ("bool", lambda v: v),
    ("int 1/0", lambda v: int(v)),
    ("None", lambda v: None),
    ("str", lambda v: "yes"),
    ("float", lambda v: 1.0),
    ("object", lambda v: object()),
]
# Kinds for a str slot.
STR_KINDS: List[Tuple[str, Callable[[str], Any]]] = [
    ("str", lambda v: v),
    ("str subclass", lambda v: StrSub(v)),
    ("bytes", lambda v: v.encode()),
    ("None", lambda v: None),
    ("int", lambda v: 5),
]
# Kinds for a limit (an int or None).
LIMIT_KINDS = INT_KINDS
# Kinds for an object argument (the deflate codec), made from a proper one.
OBJECT_KINDS: List[Tuple[str, Callable[[Any], Any]]] = [
    ("the proper object", lambda v: v()),
    ("None", lambda v: None),
    ("int", lambda v: 5),
    ("str", lambda v: "x"),
    ("its class", lambda v: v),
    ("object", lambda v: object()),
]


def _deflate_codec() -> Any:
    from wsfast import PerMessageDeflate

    return PerMessageDeflate(client=False)


class _IntSub(int):
    pass


# What each case calls. ``make(api, value)`` builds and runs one call with
# ``value`` in the slot under test and returns what is to be compared.


def _run_mask_inplace(api: Any, buf: Any, mask: Any = KEY, offset: Any = 0) -> Any:
    result = api.mask_inplace(buf, mask, offset)
    try:
        after = bytes(memoryview(buf).tobytes())
    except Exception:
        after = None
    return result, after


def _events(events: List[Any]) -> List[str]:
    return [repr(e) for e in events]


def _feed(api: Any, cls: str, data: Any, **kw: Any) -> Any:
    return _events(getattr(api, cls)(**kw).feed(data))


def _after_failure(api: Any, data: Any) -> Any:
    v = api.Utf8Validator()
    assert v.validate(b"\xff")[0] is False
    return v.validate(data)


# (callable, argument, kinds, proper value, run(api, value))
Case = Tuple[str, str, List[Tuple[str, Callable[[Any], Any]]], Any, Callable[[Any, Any], Any]]

CASES: List[Case] = [
    ("apply_mask", "data", BYTES_KINDS, HELLO, lambda api, v: api.apply_mask(v, KEY)),
    ("apply_mask", "mask", MASK_KINDS, KEY, lambda api, v: api.apply_mask(HELLO, v)),
    ("apply_mask", "offset", INT_KINDS, 1, lambda api, v: api.apply_mask(HELLO, KEY, v)),
    ("mask_inplace", "buf", BYTES_KINDS, HELLO, lambda api, v: _run_mask_inplace(api, v)),
    ("mask_inplace", "mask", MASK_KINDS, KEY, lambda api, v: _run_mask_inplace(api, bytearray(HELLO), v)),
    ("mask_inplace", "offset", INT_KINDS, 1, lambda api, v: _run_mask_inplace(api, bytearray(HELLO), KEY, v)),
    ("Masker", "mask", MASK_KINDS, KEY, lambda api, v: api.Masker(v).process(HELLO)),
    ("Masker.process", "data", BYTES_KINDS, HELLO, lambda api, v: api.Masker(KEY).process(v)),
    ("validate_utf8", "data", BYTES_KINDS, "κόσμε".encode(), lambda api, v: api.validate_utf8(v)),
    ("Utf8Validator.validate", "data", BYTES_KINDS, "κόσμε".encode(), lambda api, v: api.Utf8Validator().validate(v)),
    ("Utf8Validator.validate, failed", "data", BYTES_KINDS, b"ok", _after_failure),
    ("Frame", "fin", BOOL_KINDS, True, lambda api, v: repr(api.Frame(v, False, False, False, 1, b"x"))),
    ("Frame", "opcode", INT_KINDS, 1, lambda api, v: repr(api.Frame(True, False, False, False, v, b"x"))),
    ("Frame", "payload", BYTES_KINDS, HELLO, lambda api, v: repr(api.Frame(True, False, False, False, 2, v))),
    ("Message", "data", BYTES_KINDS, HELLO, lambda api, v: repr(api.Message(2, v))),
    ("Ping", "payload", BYTES_KINDS, HELLO, lambda api, v: repr(api.Ping(v))),
    ("Pong", "payload", BYTES_KINDS, HELLO, lambda api, v: repr(api.Pong(v))),
    ("Close", "code", INT_KINDS, 1000, lambda api, v: repr(api.Close(v, "bye"))),
    ("Close", "reason", STR_KINDS, "bye", lambda api, v: repr(api.Close(1000, v))),
    ("FrameParser", "client", BOOL_KINDS, False, lambda api, v: _feed(api, "FrameParser", _masked(HELLO), client=v)),
    ("FrameParser", "max_frame_size", LIMIT_KINDS, 100, lambda api, v: _feed(api, "FrameParser", _masked(HELLO), max_frame_size=v)),
    ("FrameParser", "rsv_allowed", INT_KINDS, 4, lambda api, v: _feed(api, "FrameParser", _masked(HELLO, 0xC1), rsv_allowed=v)),
    ("FrameParser", "strict", BOOL_KINDS, True, lambda api, v: _feed(api, "FrameParser", _masked(HELLO), strict=v)),
    ("FrameParser.feed", "data", BYTES_KINDS, _masked(HELLO), lambda api, v: _feed(api, "FrameParser", v)),
    ("MessageReader", "client", BOOL_KINDS, False, lambda api, v: _feed(api, "MessageReader", _masked(HELLO), client=v)),
    ("MessageReader", "max_message_size", LIMIT_KINDS, 100, lambda api, v: _feed(api, "MessageReader", _masked(HELLO), max_message_size=v)),
    ("MessageReader", "max_frame_size", LIMIT_KINDS, 100, lambda api, v: _feed(api, "MessageReader", _masked(HELLO), max_frame_size=v)),
    ("MessageReader", "strict", BOOL_KINDS, True, lambda api, v: _feed(api, "MessageReader", _masked(HELLO), strict=v)),
    ("MessageReader", "deflate", OBJECT_KINDS, _deflate_codec, lambda api, v: _feed(api, "MessageReader", _masked(HELLO), deflate=v)),
    ("PerMessageDeflate", "client", BOOL_KINDS, True, lambda api, v: repr(api.PerMessageDeflate(client=v).encode(2, HELLO * 20))),
    ("PerMessageDeflate", "server_no_context_takeover", BOOL_KINDS, True, lambda api, v: _deflate_round_trip(api, server_no_context_takeover=v)),
    ("PerMessageDeflate", "server_max_window_bits", INT_KINDS, 10, lambda api, v: _deflate_round_trip(api, server_max_window_bits=v)),
    ("PerMessageDeflate", "threshold", INT_KINDS, 10, lambda api, v: _deflate_round_trip(api, threshold=v)),
    ("PerMessageDeflate", "level", INT_KINDS, 6, lambda api, v: _deflate_round_trip(api, level=v)),
    ("PerMessageDeflate", "library", STR_KINDS, "zlib", lambda api, v: _deflate_round_trip(api, library=v)),
    ("PerMessageDeflate.encode", "payload", BYTES_KINDS, HELLO * 20, lambda api, v: _deflate_round_trip(api, v)),
    ("MessageReader.feed", "data", BYTES_KINDS, _masked(HELLO), lambda api, v: _feed(api, "MessageReader", v)),
    ("encode_frame", "opcode", INT_KINDS, 2, lambda api, v: api.encode_frame(v, HELLO)),
    ("encode_frame", "payload", BYTES_KINDS, HELLO, lambda api, v: api.encode_frame(2, v)),
    ("encode_frame", "fin", BOOL_KINDS, True, lambda api, v: api.encode_frame(2, HELLO, fin=v)),
    ("encode_frame", "rsv1", BOOL_KINDS, False, lambda api, v: api.encode_frame(2, HELLO, rsv1=v)),
    ("encode_frame", "mask", MASK_KINDS, KEY, lambda api, v: _encode_masked(api, v)),
    ("encode_close", "code", INT_KINDS, 1000, lambda api, v: api.encode_close(v, "bye")),
    ("encode_close", "reason", STR_KINDS, "bye", lambda api, v: api.encode_close(1000, v)),
    ("parse_close", "payload", BYTES_KINDS, b"\x03\xe8bye", lambda api, v: api.parse_close(v)),
]


def _deflate_round_trip(api: Any, payload: Any = HELLO * 20, **kw: Any) -> Any:
    """Compress with the backend's codec, read it back with its reader."""
    kw.setdefault("client", False)
    codec = api.PerMessageDeflate(**kw)
    frame = codec.encode(2, payload)
    peer = api.PerMessageDeflate(client=not kw["client"])
    reader = api.MessageReader(client=not kw["client"], deflate=peer)
    if not kw["client"]:
        return frame, _events(reader.feed(frame))
    return frame[:2], _events(reader.feed(frame))


def _encode_masked(api: Any, mask: Any) -> Any:
    frame = api.encode_frame(2, HELLO, mask=mask)
    if mask is True:
        # A fresh random key: compare the frame's shape and that it unmasks.
        key = frame[2:6]
        return frame[:2], api.apply_mask(frame[6:], key)
    return frame


# Rows known to differ between the backends, with the reason (none today).
PENDING: Dict[Tuple[str, str, str], str] = {}


def outcome(api: Any, kind_factory: Callable[[Any], Any], proper: Any,
            run: Callable[[Any, Any], Any]) -> Tuple[str, Any]:
    """("ok", result) or ("raise", "Type: message")."""
    try:
        value = kind_factory(proper)
        result = run(api, value)
    except Exception as exc:
        return "raise", f"{type(exc).__name__}: {exc}"
    if isinstance(result, str):
        # Reprs of objects stored as they came (Message data): no addresses.
        result = re.sub(r" at 0x[0-9a-f]+", "", result)
    return "ok", result


def _params() -> Iterator[Any]:
    for name, arg, kinds, proper, run in CASES:
        for kind, factory in kinds:
            marks = []
            reason = PENDING.get((name, arg, kind))
            if reason is not None:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            yield pytest.param(name, arg, kind, factory, proper, run, id=f"{name}-{arg}-{kind}", marks=marks)


@pytest.mark.parametrize("name, arg, kind, factory, proper, run", list(_params()))
def test_backends_agree(name: str, arg: str, kind: str, factory: Callable[[Any], Any], proper: Any,
                        run: Callable[[Any, Any], Any]) -> None:
    compiled = load_backend("cython")
    pure = load_backend("python")
    got = outcome(compiled, factory, proper, run)
    expected = outcome(pure, factory, proper, run)
    assert got == expected, f"{name}({arg}={kind}): compiled {got!r}, pure {expected!r}"


def test_every_public_backend_name_is_covered() -> None:
    api = _backend.load("python")
    names = {name for names in _backend.public_names().values() for name in names if callable(getattr(api, name))}
    names.add("PerMessageDeflate")
    covered = {case[0].split(".")[0].split(",")[0] for case in CASES}
    assert names <= covered, f"no edge cases for {sorted(names - covered)}"


def test_codec_star_import_works() -> None:
    load_backend("cython")
    for module in ("wsfast._codec_c", "wsfast._codec_py", "wsfast._mask_c", "wsfast._utf8_c"):
        namespace: Dict[str, Any] = {}
        exec(f"from {module} import *", namespace)
        if hasattr(sys.modules[module], "__all__"):
            assert set(sys.modules[module].__all__) <= set(namespace)


def test_event_fields_are_normalised(ws: types.SimpleNamespace) -> None:
    frame = ws.Frame(1, 0, 0, 0, 1, bytearray(b"x"))
    assert frame.fin is True and frame.rsv1 is False
    assert type(frame.payload) is bytes
    assert type(ws.Ping(BytesSub(b"p")).payload) is bytes
    assert type(ws.Close(1000, StrSub("r")).reason) is str


# --- the README's table -------------------------------------------------------

def _cell(result: Tuple[str, Any]) -> str:
    status, detail = result
    if status == "ok":
        return "ok"
    return detail.split(":", 1)[0]


def table(api: Optional[Any] = None) -> str:
    """The README tables: for each public callable and argument, what each
    kind of argument gets, one table per kind of argument. From the pure
    backend (test_backends_agree proves the compiled one gives the same)."""
    api = api or _backend.load("python")
    groups = [
        ("Bytes-like arguments", BYTES_KINDS),
        ("Masking keys", MASK_KINDS),
        ("Integer arguments", INT_KINDS),
        ("Flags", BOOL_KINDS),
        ("Text arguments", STR_KINDS),
        ("Objects", OBJECT_KINDS),
    ]
    out = []
    for title, kinds in groups:
        out.append(f"{title}:")
        out.append("")
        out.append("| callable | argument | " + " | ".join(k for k, _ in kinds) + " |")
        out.append("|---|---|" + "---|" * len(kinds))
        for name, arg, case_kinds, proper, run in CASES:
            if case_kinds is not kinds:
                continue
            cells = [_cell(outcome(api, factory, proper, run)) for _, factory in kinds]
            out.append(f"| `{name}` | `{arg}` | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n")


README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BEGIN = "<!-- edges table: generated by `python -m tests.test_edges`, do not edit -->"
END = "<!-- end of edges table -->"


def readme_table() -> Optional[str]:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    match = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else None


@pytest.mark.skipif(not os.path.exists(README), reason="README.md is not beside the tests (installed copy)")
def test_readme_table_is_generated() -> None:
    assert readme_table() == table(), "README's edges table is stale: run `python -m tests.test_edges --write`"


def write_readme() -> None:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    block = f"{BEGIN}\n{table()}\n{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        raise SystemExit(f"README.md has no {BEGIN!r} marker")
    with open(README, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_readme()
    else:
        print(table())
