"""Users' type checkers and ``inspect`` see the real API of both backends.

mypy --strict checks tests/typing_user.py, a user's module, and every
revealed type must be the real one, not Any (.ci/release runs pyright on the
same module). ``inspect.signature()`` must work on the compiled functions and
classes and give the pure twins' parameters, and the compiled code must
enforce them; signatures embedded in docstrings must say the same.
"""

from __future__ import annotations

import ast
import inspect
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import wsfast
from wsfast import _backend

from .conftest import IN_CI, load_backend

HERE = Path(__file__).parent
SNIPPET = HERE / "typing_user.py"

# What each reveal_type() in typing_user.py must show, in order (mypy's
# spelling, normalised: no "builtins.", unions with "|").
EXPECTED = [
    r"def \(\*, client: bool =, max_frame_size: int \| None =, rsv_allowed: int =, strict: bool =\)"
    r" -> wsfast\._codec_py\.FrameParser",
    r"list\[wsfast\._codec_py\.Frame\]",
    r"bytes",
    r"bool",
    r"list\[wsfast\._codec_py\.Message \| wsfast\._codec_py\.Ping \| wsfast\._codec_py\.Pong"
    r" \| wsfast\._codec_py\.Close\]",
    r"str \| bytes",
    r"int",
    r"str",
    r"bytes",
    r"wsfast\._codec_py\.Pong",
    r"bytes",
    r"None",
    r"bytes",
    r"bool",
    r"tuple\[bool, bool, int, int\]",
    r"bytes",
    r"bytes",
    r"tuple\[int, str\]",
    r"str",
    r"dict\[str, str\]",
    r"str",
    r"str",
    r"int",
]


def _need_mypy() -> None:
    if platform.python_implementation() != "CPython":
        pytest.skip("mypy is run under CPython (the types do not depend on the interpreter)")
    try:
        import mypy  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("mypy is not installed (pip install 'wsfast[unit]'); CI must run the typing test")
        pytest.skip("mypy is not installed: pip install mypy")


def _mypy(path: Path, tmp_path: Path) -> Tuple[int, str]:
    env = dict(os.environ)
    root = Path(wsfast.__file__).resolve().parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        # A source tree (an editable install's finder is invisible to mypy).
        env["MYPYPATH"] = str(root)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--config-file",
            os.devnull,
            str(path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out.returncode, out.stdout + out.stderr


def _normalise(revealed: str) -> str:
    revealed = revealed.replace("builtins.", "")
    # Older mypy spells unions Union[...] and optionals Optional[...].
    while True:
        match = re.search(r"Union\[([^\[\]]*)\]", revealed)
        if not match:
            break
        revealed = revealed[: match.start()] + " | ".join(match.group(1).split(", ")) + revealed[match.end() :]
    revealed = re.sub(r"Optional\[([^\[\]]*)\]", r"\1 | None", revealed)
    return revealed.replace("Tuple[", "tuple[").replace("List[", "list[").replace("Dict[", "dict[")


def test_user_module_sees_real_types(tmp_path: Path) -> None:
    _need_mypy()
    code, output = _mypy(SNIPPET, tmp_path)
    revealed = [_normalise(m) for m in re.findall(r'Revealed type is "(.*)"', output)]
    assert code == 0 and "error" not in output, output
    assert len(revealed) == len(EXPECTED), output
    for got, want in zip(revealed, EXPECTED):
        assert "Any" not in got, got
        assert re.fullmatch(want, got), (got, want)


def test_user_mistakes_are_caught(tmp_path: Path) -> None:
    _need_mypy()
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import wsfast\n"
        "wsfast.FrameParser(True)\n"  # client is keyword-only
        "wsfast.apply_mask('text', b'abcd').decode()\n"  # fine for the checker: data is any buffer
        "x: str = wsfast.encode_frame(1, b'')\n"  # bytes, not str
        "for e in wsfast.MessageReader().feed(b''):\n"
        "    e.data\n",  # only Message has .data
        encoding="utf-8",
    )
    code, output = _mypy(wrong, tmp_path)
    assert code == 1, output
    errors = {int(line) for line in re.findall(r"wrong\.py:(\d+): error", output)}
    assert errors == {2, 4, 6}, output


# -- inspect.signature() -----------------------------------------------------

CLASSES_AND_METHODS: Dict[str, Tuple[str, ...]] = {
    "Masker": ("process", "reset"),
    "Utf8Validator": ("validate", "reset"),
    "FrameParser": ("feed",),
    "MessageReader": ("feed",),
    "Frame": (),
    "Message": (),
    "Ping": (),
    "Pong": (),
    "Close": (),
}


def _public_callables(api: Any) -> List[Tuple[str, Callable[..., Any]]]:
    found = []
    for names in _backend.public_names().values():
        for name in names:
            found.append((name, getattr(api, name)))
            for method in CLASSES_AND_METHODS.get(name, ()):
                found.append((f"{name}.{method}", getattr(getattr(api, name), method)))
    return found


def _shape(signature: inspect.Signature) -> List[Tuple[str, Any, Any]]:
    """Names, kinds and defaults: what a caller sees (annotations aside)."""
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_every_public_callable_is_covered() -> None:
    names = {name for names in _backend.public_names().values() for name in names}
    classes = {name for name in names if inspect.isclass(getattr(wsfast, name))}
    assert classes == set(CLASSES_AND_METHODS)


def test_compiled_signatures_match_the_pure_ones() -> None:
    compiled = dict(_public_callables(load_backend("cython")))
    pure = dict(_public_callables(load_backend("python")))
    assert compiled.keys() == pure.keys()
    for name in pure:
        assert _shape(inspect.signature(compiled[name])) == _shape(inspect.signature(pure[name])), name


# Arguments that build each class, as the signature says: positional where it
# may be, keyword where it must be.
SAMPLES: Dict[str, Tuple[Tuple[Any, ...], Dict[str, Any]]] = {
    "Masker": ((b"abcd",), {}),
    "Utf8Validator": ((), {}),
    "FrameParser": ((), {"client": True, "max_frame_size": 10, "rsv_allowed": 4, "strict": False}),
    "MessageReader": ((), {"client": True, "max_message_size": 10, "max_frame_size": 10, "strict": False, "deflate": None}),
    "Frame": ((True, False, False, False, 1, b"x"), {}),
    "Message": ((1, "x"), {}),
    "Ping": ((b"x",), {}),
    "Pong": ((b"x",), {}),
    "Close": ((1000, "x"), {}),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_compiled_classes_enforce_their_signature(ws: Any, name: str) -> None:
    cls = getattr(ws, name)
    signature = inspect.signature(cls)
    args, kwargs = SAMPLES[name]
    signature.bind(*args, **kwargs)  # the samples fit the signature...
    cls(*args, **kwargs)  # ...and the class takes them
    keyword_only = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    for parameter in keyword_only:
        with pytest.raises(TypeError):
            cls(*args, kwargs[parameter])


def test_keyword_only_and_positional_only_functions(ws: Any) -> None:
    with pytest.raises(TypeError):
        ws.encode_frame(1, b"x", True)  # fin is keyword-only
    with pytest.raises(TypeError):
        ws.validate_utf8(data=b"x")  # data is positional-only
    with pytest.raises(TypeError):
        ws.Masker(b"abcd").process(data=b"x")


def _docstring_signature(name: str, doc: str) -> List[Tuple[str, Any]]:
    head = doc.split("\n", 1)[0]
    text = head[head.index("(") :].rsplit(")", 1)[0] + ")"
    tree = ast.parse(f"def f{text}: pass")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    a = function.args
    P = inspect.Parameter
    shape = [(x.arg, P.POSITIONAL_ONLY) for x in a.posonlyargs]
    shape += [(x.arg, P.POSITIONAL_OR_KEYWORD) for x in a.args]
    if a.vararg:
        shape.append((a.vararg.arg, P.VAR_POSITIONAL))
    shape += [(x.arg, P.KEYWORD_ONLY) for x in a.kwonlyargs]
    if a.kwarg:
        shape.append((a.kwarg.arg, P.VAR_KEYWORD))
    return [item for item in shape if item[0] != "self"]


def test_compiled_docstring_signatures_are_right() -> None:
    checked = 0
    for name, obj in _public_callables(load_backend("cython")):
        doc = obj.__doc__ or ""
        short = name.rsplit(".", 1)[-1]
        if not doc.startswith(f"{short}("):
            continue
        checked += 1
        want = [(p.name, p.kind) for p in inspect.signature(obj).parameters.values() if p.name != "self"]
        assert _docstring_signature(short, doc) == want, (name, doc.split("\n", 1)[0])
    assert checked >= 5  # the module functions and methods carry one
