"""``ClassSignature``: the constructor text a compiled class carries, parsed
into an ``inspect.Signature``. A class whose ``__init__`` is a C slot (as
every compiled class's is) stands in for one here, so the parsing is tested
on every interpreter, the pure-Python run included."""

from __future__ import annotations

import inspect
import platform

import pytest

from wsfast._signature import ClassSignature

# On PyPy object.__init__ is not a slot wrapper, so the stand-in below cannot
# play a compiled class (and there is no compiled class to describe there).
pytestmark = pytest.mark.skipif(
    platform.python_implementation() != "CPython", reason="needs CPython's slot wrappers"
)

LIMIT = 1 << 20


class SlotInit:
    # object.__init__ is a slot wrapper, not a Python function.
    __signature__ = ClassSignature("(key, /, size=16, *more, client=False, limit=LIMIT, name='x', **options)")


class PythonInit:
    __signature__ = ClassSignature("(self, anything)")

    def __init__(self, real: int) -> None:
        self.real = real


def test_text_becomes_the_signature() -> None:
    sig = inspect.signature(SlotInit)
    P = inspect.Parameter
    assert [(p.name, p.kind, p.default) for p in sig.parameters.values()] == [
        ("key", P.POSITIONAL_ONLY, P.empty),
        ("size", P.POSITIONAL_OR_KEYWORD, 16),
        ("more", P.VAR_POSITIONAL, P.empty),
        ("client", P.KEYWORD_ONLY, False),
        ("limit", P.KEYWORD_ONLY, LIMIT),  # a name of the class's module
        ("name", P.KEYWORD_ONLY, "x"),
        ("options", P.VAR_KEYWORD, P.empty),
    ]
    assert str(sig) == "(key, /, size=16, *more, client=False, limit=1048576, name='x', **options)"
    # Parsed once, then kept.
    assert SlotInit.__signature__ is SlotInit.__signature__
    assert SlotInit().__signature__ is SlotInit.__signature__


def test_a_python_init_speaks_for_itself() -> None:
    assert PythonInit.__signature__ is None
    assert str(inspect.signature(PythonInit)) == "(real: 'int') -> 'None'"


def test_repr_and_bad_text() -> None:
    assert repr(ClassSignature("(a)")) == "ClassSignature('(a)')"

    class Broken:
        __signature__ = ClassSignature("(a, b=UNDEFINED_NAME)")

    with pytest.raises(NameError):
        inspect.signature(Broken)
