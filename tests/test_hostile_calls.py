"""No callable of the compiled modules can crash the interpreter.

Every function of every compiled module, every method of its classes (bound,
unbound with a foreign ``self``, and on an instance made by ``__new__`` alone)
and the classes themselves are called with hostile arguments: ``None``, huge
and negative offsets, wrong types, empty and released buffers, read-only
buffers where a writable one is expected, pickling hooks with junk state.

Each call must raise a Python exception or give the pure twin's result. The
calls run in a child process, so a crash is a test failure that names the
call and the signal instead of taking the test session down; after a crash
the child is restarted past the call that killed it, so one run lists every
crashing call. Bytes passed in are checked afterwards: nothing may write into
an immutable object.
"""

from __future__ import annotations

import array
import collections.abc
import copy
import importlib
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

# The compiled modules and their pure twins.
MODULES = {
    "wsfast._mask_c": "wsfast._mask_py",
    "wsfast._utf8_c": "wsfast._utf8_py",
    "wsfast._objects_c": "wsfast._objects_py",
    "wsfast._codec_c": "wsfast._codec_py",
}
# The drop-in adapters' compiled modules: swept by their own test below.
ADAPTER_MODULES = {
    "wsfast._aiohttp_c": "wsfast._aiohttp_py",
    "wsfast.dropin._wsproto_c": "wsfast.dropin._wsproto_py",
    "wsfast.dropin._websockets_c": "wsfast.dropin._websockets_py",
}


class BytesSub(bytes):
    pass


class StrSub(str):
    pass


def _released() -> memoryview:
    view = memoryview(bytearray(b"abcdefgh"))
    view.release()
    return view


_KEY = b"\x01\x02\x03\x04"
# A masked client text frame "hello" and an unmasked one, whole.
_MASKED_FRAME = b"\x81\x85" + _KEY + bytes(b ^ _KEY[i % 4] for i, b in enumerate(b"hello"))
_UNMASKED_FRAME = b"\x81\x05hello"

# name -> factory: every call gets fresh objects (a buffer may be mutated,
# a memoryview released).
HOSTILE: List[Tuple[str, Callable[[], Any]]] = [
    ("None", lambda: None),
    ("0", lambda: 0),
    ("-1", lambda: -1),
    ("1<<40", lambda: 1 << 40),
    ("2**63", lambda: 2**63),
    ("-2**63", lambda: -(2**63)),
    ("2**64", lambda: 2**64),
    ("1.5", lambda: 1.5),
    ("nan", lambda: math.nan),
    ("True", lambda: True),
    ("str", lambda: "abcd"),
    ("str-sub", lambda: StrSub("abcd")),
    ("bytes-empty", lambda: b""),
    ("bytes4", lambda: b"\x81\x82\x83\x84"),
    ("bytes-sub", lambda: BytesSub(b"abcd")),
    ("bytes-invalid-utf8", lambda: b"\xed\xa0\x80\xff"),
    ("bytearray", lambda: bytearray(b"abcdefgh")),
    ("bytearray-empty", lambda: bytearray()),
    ("view-readonly", lambda: memoryview(b"abcdefgh")),
    ("view-strided", lambda: memoryview(bytearray(b"abcdefgh"))[::2]),
    ("view-released", _released),
    ("view-2d", lambda: memoryview(bytearray(8)).cast("B", (2, 4))),
    ("array-I", lambda: array.array("I", [1, 2])),
    ("frame-masked", lambda: _MASKED_FRAME),
    ("frame-unmasked", lambda: _UNMASKED_FRAME),
    ("bytes-64k", lambda: b"\xc3" * 65537),
    ("bytearray-64k", lambda: bytearray(b"a" * 65537)),
    ("object", lambda: object()),
    ("tuple", lambda: ()),
    ("tuple-junk", lambda: (None, 1, b"x")),
    ("list", lambda: [1, 2]),
    ("dict", dict),
]
HOSTILE_BY_NAME = dict(HOSTILE)

# Plausible arguments per callable name, so that each hostile value is tried
# at each position of a call that would otherwise succeed.
BASE_ARGS: Dict[str, Tuple[Any, ...]] = {
    "apply_mask": (b"hello", _KEY, 0),
    "mask_inplace": (bytearray(b"hello"), _KEY, 0),
    "unmask_slice": (b"abcdefgh", 0, 8, _KEY, 0, 0),
    "build_frame": (0x81, b"hello", _KEY, 0),
    "build_masked_frame": (0x81, b"hello"),
    "mask_into": (b"abcdefgh", 0, 8, _KEY, 0, bytearray(8), 0),
    "select_kernel": (-1,),
    "validate_utf8": (b"abc",),
    "utf8_feed": (0, b"abcd", 0, 4),
    "decode_utf8": (b"abcd", 0, 4),
    "untracked": (b"x",),
    "encode_frame": (1, b"hi"),
    "encode_close": (1000, "bye"),
    "parse_close": (b"\x03\xe8bye",),
    "accept_key": ("dGhlIHNhbXBsZSBub25jZQ==",),
    "process": (b"abc",),
    "validate": (b"abc",),
    "feed": (_MASKED_FRAME,),
    "__reduce_ex__": (2,),
    "__setstate_cython__": ((),),
    "__setstate__": ((),),
    "__eq__": (None,),
    "__ne__": (None,),
}
# Keyword arguments tried with every hostile value.
BASE_KWARGS: Dict[str, Dict[str, Any]] = {
    "encode_frame": {"fin": True, "rsv1": False, "mask": _KEY},
    "FrameParser": {"client": False, "max_frame_size": 100, "rsv_allowed": 0, "strict": True},
    "MessageReader": {"client": False, "max_message_size": 100, "max_frame_size": None, "strict": True},
}
# How to make an instance of each class, for its bound methods.
CONSTRUCT: Dict[str, Tuple[Any, ...]] = {
    "Masker": (_KEY,),
    "Utf8Validator": (),
    "FrameParser": (),
    "MessageReader": (),
    "_FrameReader": (False, None, 0, True),
    "Frame": (True, False, False, False, 1, b"x"),
    "Message": (1, "x"),
    "Ping": (b"x",),
    "Pong": (b"x",),
    "Close": (1000, "x"),
}
# Positional arguments tried for a callable missing from BASE_ARGS.
PLAUSIBLE = (b"abcdefgh", 0, 8, _KEY, 0, 0, bytearray(8))
# Results that legitimately differ between runs or backends (utf8_feed's
# states are each kernel's own encoding; build_masked_frame draws a random key).
NOT_COMPARED = {"select_kernel", "kernel", "decoder_kernel", "cpu_features", "utf8_feed", "build_masked_frame"}
# object's own slot wrappers check their self; they are not what this test is for.
SKIP_METHODS = {"__new__", "__init_subclass__", "__subclasshook__", "__class__", "__dir__", "__sizeof__",
                "__format__", "__getattribute__", "__setattr__", "__delattr__", "__hash__", "__str__"}

Case = Tuple[str, Callable[[], Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any], Optional[Callable[..., Any]]]]]


def _fresh(value: Any) -> Any:
    """A copy of a plausible argument (bytearrays are mutated by calls)."""
    if isinstance(value, bytearray):
        return bytearray(value)
    return value


def _variants(name: str, base: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Iterator[Tuple[str, Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]]]]:
    """(label, factory of (args, kwargs)) for one callable."""

    def make(args: Tuple[Any, ...], kw: Dict[str, Any], pos: Optional[int] = None, hostile: Optional[str] = None,
             key: Optional[str] = None) -> Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]]:
        def build() -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
            a = [_fresh(x) for x in args]
            k = {n: _fresh(v) for n, v in kw.items()}
            if hostile is not None:
                value = HOSTILE_BY_NAME[hostile]()
                if key is not None:
                    k[key] = value
                else:
                    assert pos is not None
                    a[pos] = value
            return tuple(a), k

        return build

    yield "base", make(base, kwargs)
    yield "no args", make((), {})
    yield "one too many", make(base + (0,), kwargs)
    yield "unknown keyword", make(base, dict(kwargs, bogus=1))
    if base:
        yield "one too few", make(base[:-1], kwargs)
    for pos in range(len(base)):
        for hname, _ in HOSTILE:
            yield f"arg {pos} = {hname}", make(base, kwargs, pos, hname)
    for key in kwargs:
        for hname, _ in HOSTILE:
            yield f"{key}= {hname}", make(base, kwargs, None, hname, key)
    # The same hostile value in every position, at every arity.
    for arity in range(1, len(base) + 2):
        for hname, _ in HOSTILE:
            yield f"{arity} x {hname}", _same_everywhere(arity, hname)


def _same_everywhere(arity: int, hname: str) -> Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]]:
    def build() -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        return tuple(HOSTILE_BY_NAME[hname]() for _ in range(arity)), {}

    return build


def _own_methods(cls: type) -> List[str]:
    names = []
    for name in sorted(dir(cls)):
        if name in SKIP_METHODS:
            continue
        try:
            attr = getattr(cls, name)
        except Exception:
            continue
        if not callable(attr) or isinstance(attr, type):
            continue
        if getattr(object, name, None) is attr and name != "__reduce_ex__":
            continue
        names.append(name)
    return names


def _classes(module: types.ModuleType) -> List[type]:
    return sorted(
        (v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__),
        key=lambda c: c.__name__,
    )


def _functions(module: types.ModuleType) -> List[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if callable(value) and not isinstance(value, type) and type(value).__name__ in ("builtin_function_or_method", "cython_function_or_method")
    )


def _twin(twin_module: Optional[types.ModuleType], *path: str) -> Optional[Any]:
    obj: Any = twin_module
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _instance(cls: type, how: str) -> Any:
    if how == "new":
        return cls.__new__(cls)  # type: ignore[call-overload]
    return cls(*CONSTRUCT.get(cls.__name__, ()))


def _swept() -> Dict[str, str]:
    if os.environ.get("WSFAST_SWEEP") == "adapters":
        return ADAPTER_MODULES
    return MODULES


def cases() -> Iterator[Case]:
    """Every call the sweep makes, in a fixed order."""
    for mod_name, twin_name in _swept().items():
        try:
            module = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if mod_name in MODULES or (exc.name or "").startswith("wsfast"):
                raise
            continue  # a drop-in adapter whose host library is not installed
        twin_module = importlib.import_module(twin_name)
        for fname in _functions(module):
            func = getattr(module, fname)
            twin = None if fname in NOT_COMPARED else _twin(twin_module, fname)
            base = BASE_ARGS.get(fname, PLAUSIBLE)
            for label, factory in _variants(fname, base, BASE_KWARGS.get(fname, {})):
                yield f"{mod_name}.{fname}: {label}", _call(func, factory, twin)
        for cls in _classes(module):
            twin_cls = _twin(twin_module, cls.__name__)
            # The class itself, as a constructor.
            base = CONSTRUCT.get(cls.__name__, ())
            for label, factory in _variants(cls.__name__, base, BASE_KWARGS.get(cls.__name__, {})):
                yield f"{mod_name}.{cls.__name__}(): {label}", _call(cls, factory, twin_cls)
            foreign_classes = [c for c in _classes(module) if not issubclass(c, cls) and not issubclass(cls, c)]
            for mname in _own_methods(cls):
                base = BASE_ARGS.get(mname, PLAUSIBLE[:2])
                inherited = getattr(object, mname, None) is getattr(cls, mname)
                twin_method = None if mname.startswith("__") else _twin(twin_cls, mname)
                # Bound, on a constructed instance and on one made by __new__ alone.
                for how in ("init", "new"):
                    for label, factory in _variants(mname, base, {}):
                        yield (f"{mod_name}.{cls.__name__}.{mname} bound ({how}): {label}",
                               _bound(cls, how, mname, factory, twin_cls if how == "init" else None, twin_method))
                # Unbound, with a foreign self.
                foreign: List[Tuple[str, Callable[[], Any]]] = [
                    ("None", lambda: None), ("0", lambda: 0), ("b''", lambda: b""), ("object()", object),
                    ("the class", lambda cls=cls: cls),
                ]
                for other in foreign_classes:
                    foreign.append((other.__name__, lambda other=other: _instance(other, "new")))
                for fname_, make_self in [] if inherited else foreign:
                    for label, factory in list(_variants(mname, base, {}))[:6]:
                        yield (f"{mod_name}.{cls.__name__}.{mname}(self={fname_}): {label}",
                               _unbound(getattr(cls, mname), make_self, factory))
            # Pickling and copying whole instances.
            for how in ("init", "new"):
                for op in ("pickle", "copy", "deepcopy"):
                    yield f"{mod_name}.{cls.__name__} {op} ({how})", _whole(cls, how, op)


def _call(func: Callable[..., Any], factory: Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]],
          twin: Optional[Callable[..., Any]]) -> Callable[[], Any]:
    def run() -> Any:
        args, kwargs = factory()
        twin_call = None
        # A fresh random key each time: nothing to compare.
        if twin is not None and kwargs.get("mask") is not True:
            def twin_call() -> Any:
                targs, tkwargs = factory()
                return twin(*targs, **tkwargs)
        return func, args, kwargs, twin_call

    return run


def _bound(cls: type, how: str, mname: str, factory: Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]],
           twin_cls: Optional[type], twin_method: Any) -> Callable[[], Any]:
    def run() -> Any:
        instance = _instance(cls, how)
        args, kwargs = factory()
        twin_call = None
        if twin_cls is not None and twin_method is not None:
            def twin_call() -> Any:
                targs, tkwargs = factory()
                return getattr(_instance(twin_cls, how), mname)(*targs, **tkwargs)
        return getattr(instance, mname), args, kwargs, twin_call

    return run


def _unbound(method: Callable[..., Any], make_self: Callable[[], Any],
             factory: Callable[[], Tuple[Tuple[Any, ...], Dict[str, Any]]]) -> Callable[[], Any]:
    def run() -> Any:
        args, kwargs = factory()
        return method, (make_self(),) + args, kwargs, "must raise"

    return run


def _whole(cls: type, how: str, op: str) -> Callable[[], Any]:
    def run() -> Any:
        instance = _instance(cls, how)

        def act() -> Any:
            if op == "pickle":
                clone = pickle.loads(pickle.dumps(instance))
            elif op == "copy":
                clone = copy.copy(instance)
            else:
                clone = copy.deepcopy(instance)
            # Whatever came back must survive being used and shown.
            repr(clone)
            for name in _own_methods(cls):
                if not name.startswith("__"):
                    try:
                        getattr(clone, name)(*BASE_ARGS.get(name, ()))
                    except Exception:
                        pass
            return None

        return act, (), {}, None

    return run


def _bytes_snapshot(values: Tuple[Any, ...]) -> List[Tuple[bytes, bytes]]:
    return [(v, bytes(bytearray(v))) for v in values if isinstance(v, bytes)]


def _show(value: Any, limit: int = 60) -> str:
    try:
        return repr(value)[:limit]
    except Exception as exc:
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"


def _same(a: Any, b: Any) -> bool:
    if type(a).__eq__ is object.__eq__ or isinstance(a, memoryview):
        # No value to compare (each call made its own argument objects).
        return type(a).__name__ == type(b).__name__
    if isinstance(a, str) and isinstance(b, str):
        a, b = re.sub(r" at 0x[0-9a-f]+", "", a), re.sub(r" at 0x[0-9a-f]+", "", b)
    try:
        if bool(a == b):
            return True
    except Exception:
        pass
    # Fields that equal nothing, not even themselves (nan, bare objects):
    # the same text, object addresses aside.
    return re.sub(r" at 0x[0-9a-f]+", "", _show(a, 10**6)) == re.sub(r" at 0x[0-9a-f]+", "", _show(b, 10**6))


def child(start: int, progress: str) -> int:
    """Run the cases from ``start``; print the problems found as JSON."""
    problems: List[str] = []
    fd = os.open(progress, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    for index, (label, prepare) in enumerate(cases()):
        if index < start:
            continue
        os.write(fd, f"{index}\t{label}\n".encode())
        try:
            func, args, kwargs, twin_call = prepare()
        except Exception:
            continue  # no instance to call it on (a constructor that needs arguments)
        snapshot = _bytes_snapshot(args + tuple(kwargs.values()))
        try:
            result = func(*args, **kwargs)
        except Exception:
            raised = True
        except BaseException as exc:  # pragma: no cover - reported, not expected
            problems.append(f"{label}: raised {type(exc).__name__}, not an Exception")
            continue
        else:
            raised = False
        for obj, before in snapshot:
            if bytes(bytearray(obj)) != before:
                problems.append(f"{label}: wrote into an immutable bytes argument")
        if raised:
            continue
        if twin_call == "must raise":
            if isinstance(result, collections.abc.Coroutine):
                # A coroutine method, as in CPython, fails when first run.
                try:
                    result.send(None)
                except StopIteration:
                    pass
                except Exception:
                    continue
                else:
                    result.close()
                problems.append(f"{label}: returned a coroutine that ran for a foreign self instead of raising")
                continue
            problems.append(f"{label}: returned {_show(result)} for a foreign self instead of raising")
        elif twin_call is not None:
            try:
                expected = twin_call()
            except Exception as exc:
                problems.append(f"{label}: returned {_show(result)} where the pure twin raised {type(exc).__name__}: {exc}")
            else:
                if not _same(result, expected):
                    problems.append(f"{label}: returned {_show(result)}, the pure twin {_show(expected)}")
    os.write(fd, b"done\n")
    os.close(fd)
    print(json.dumps(problems))
    return 0


def sweep(timeout: float = 600.0, which: str = "codec") -> Tuple[List[str], List[str], int]:
    """Run the whole sweep: (crashes, problems, number of cases)."""
    crashes: List[str] = []
    problems: List[str] = []
    start = 0
    with tempfile.TemporaryDirectory() as tmp:
        progress = os.path.join(tmp, "progress")
        while True:
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", str(start), progress],
                capture_output=True, text=True, timeout=timeout,
                env=dict(os.environ, PYTHONFAULTHANDLER="", WSFAST_SWEEP=which),
            )
            with open(progress) as f:
                lines = f.read().splitlines()
            if proc.returncode == 0 and lines and lines[-1] == "done":
                problems.extend(json.loads(proc.stdout.splitlines()[-1]))
                return crashes, problems, int(lines[-2].split("\t")[0]) + 1 if len(lines) > 1 else start
            if not lines or "\t" not in lines[-1]:
                raise AssertionError(f"the sweep died before its first call: {proc.returncode}\n{proc.stderr[-2000:]}")
            index, label = lines[-1].split("\t", 1)
            code = proc.returncode
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            crashes.append(f"{label}: {how}")
            if len(crashes) >= 400:
                return crashes, problems, int(index) + 1
            start = int(index) + 1


def test_no_call_crashes_or_disagrees() -> None:
    from .conftest import load_backend

    load_backend("cython")  # skips, or fails under WSFAST_EXTENSIONS=1, when not built
    crashes, problems, count = sweep()
    assert count > 5000, f"only {count} calls made: the enumeration lost its way"
    report = [f"crash: {c}" for c in crashes] + problems
    assert not report, f"{len(crashes)} crash(es), {len(problems)} other problem(s) in {count} calls:\n" + "\n".join(report[:80])


def test_adapter_modules_survive_the_sweep() -> None:
    from .conftest import load_backend

    load_backend("cython")
    crashes, problems, count = sweep(which="adapters")
    report = [f"crash: {c}" for c in crashes] + problems
    assert not report, f"{len(crashes)} crash(es), {len(problems)} other problem(s) in {count} calls:\n" + "\n".join(report[:80])


# --- the defects the sweep found, one by one, on both backends -------------


def test_unbound_methods_check_their_self(ws) -> None:
    import pytest

    for call in (
        lambda: ws.FrameParser.feed(None, b""),
        lambda: ws.MessageReader.feed(object(), b""),
        lambda: ws.Utf8Validator.reset(None),
        lambda: ws.Utf8Validator.validate(ws.Masker(_KEY), b"a"),
        lambda: ws.Masker.process(ws.Utf8Validator(), b"a"),
        lambda: ws.Masker.reset(None),
        lambda: ws.Frame.__reduce__(ws.Ping(b"")),
    ):
        with pytest.raises((TypeError, AttributeError)):
            call()
    if ws.IMPLEMENTATION == "cython":
        with pytest.raises(TypeError, match="doesn't apply to a 'NoneType' object"):
            ws.FrameParser.feed(None, b"")


def test_adapter_methods_check_their_self(ws) -> None:
    """The drop-in adapters' methods, unbound with a foreign self: the error a
    method descriptor gives (the coroutine ``read``: when first run)."""
    import pytest

    suffix = "c" if ws.IMPLEMENTATION == "cython" else "py"
    for mod_name, calls in (
        (f"wsfast._aiohttp_{suffix}", (
            ("WebSocketDataQueue", "feed_data", (b"x", 1)),
            ("WebSocketDataQueue", "feed_eof", ()),
            ("WebSocketDataQueue", "set_exception", (ValueError(),)),
            ("WebSocketDataQueue", "exception", ()),
            ("WebSocketDataQueue", "is_eof", ()),
            ("WebSocketDataQueue", "read", ()),
            ("WebSocketReader", "feed_data", (b"\x81\x00",)),
            ("WebSocketReader", "_feed_data", (b"\x81\x00",)),
            ("WebSocketReader", "_handle_frame", (True, 1, b"", 0)),
            ("WebSocketReader", "feed_eof", ()),
        )),
        (f"wsfast.dropin._wsproto_{suffix}", (("Reader", "feed", (b"x",)), ("Reader", "parse", (0,)))),
    ):
        module = pytest.importorskip(mod_name)
        for cls_name, method, args in calls:
            for foreign in (None, object(), b""):
                message = (f"descriptor '{method}' for '{cls_name}' objects doesn't apply to a "
                           f"'{type(foreign).__name__}' object")
                with pytest.raises(TypeError, match=re.escape(message)):
                    result = getattr(getattr(module, cls_name), method)(foreign, *args)
                    if method == "read":  # a coroutine method: it fails when first run
                        result.send(None)


def test_events_pickle_and_copy(ws) -> None:
    events = [
        ws.Frame(True, False, False, False, 1, b"x"),
        ws.Message(2, b"data"),
        ws.Message(1, "text"),
        ws.Ping(b"p"),
        ws.Pong(b""),
        ws.Close(1000, "bye"),
    ]
    for event in events:
        for clone in (pickle.loads(pickle.dumps(event)), copy.copy(event), copy.deepcopy(event)):
            assert type(clone) is type(event)
            assert clone == event


def test_stream_state_does_not_pickle(ws) -> None:
    import pytest

    for obj in (ws.Masker(_KEY), ws.Utf8Validator(), ws.FrameParser(), ws.MessageReader()):
        with pytest.raises(TypeError, match=f"cannot pickle '{type(obj).__name__}' object"):
            pickle.dumps(obj)
        with pytest.raises(TypeError):
            copy.copy(obj)


def test_no_generated_pickling_hooks() -> None:
    from .conftest import load_backend

    load_backend("cython")
    for name in MODULES:
        module = importlib.import_module(name)
        assert not [n for n in vars(module) if n.startswith("__pyx_unpickle")], name
        for cls in _classes(module):
            assert not hasattr(cls, "__setstate_cython__"), cls


def test_kernels_check_their_ranges() -> None:
    import pytest

    from .conftest import load_backend

    load_backend("cython")
    mask = importlib.import_module("wsfast._mask_c")
    utf8 = importlib.import_module("wsfast._utf8_c")
    with pytest.raises(ValueError):
        mask.unmask_slice(b"ab", 1 << 40, 1 << 41, _KEY, 0, 0)
    with pytest.raises(ValueError):
        mask.unmask_slice(b"abcd", 0, 4, _KEY, 1, 0)
    with pytest.raises(TypeError):
        mask.unmask_slice(None, 0, 0, _KEY, 0, 0)
    with pytest.raises(TypeError):
        mask.build_frame(0x81, None, None, 0)
    with pytest.raises(ValueError):
        mask.build_frame(0x81, b"", b"ab", 0)
    with pytest.raises(ValueError):
        utf8.utf8_feed(0, b"ab", 1 << 40, 1 << 41)
    with pytest.raises(TypeError):
        utf8.utf8_feed(0, None, 0, 0)
    with pytest.raises(ValueError):
        utf8.decode_utf8(b"ab", 0, 1 << 40)
    with pytest.raises(TypeError):
        utf8.decode_utf8(None, 0, 0)
    # In range, they still work.
    assert mask.unmask_slice(b"\x00" * 4, 0, 4, _KEY, 0, 0) == _KEY
    assert utf8.decode_utf8(b"xh\xc3\xa9x", 1, 4) == "h\u00e9"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(child(int(sys.argv[2]), sys.argv[3]))
    crashes, problems, count = sweep()
    for line in crashes:
        print("crash:", line)
    for line in problems:
        print(line)
    print(f"{count} calls, {len(crashes)} crashes, {len(problems)} problems")
