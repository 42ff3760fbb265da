"""``inspect.signature()`` for the classes Cython compiles.

A compiled class's ``__init__`` is a C slot that ``inspect`` cannot read, so
each public class carries ``__signature__ = class_signature("(...)")``, the
text of its constructor's parameters. On the pure-Python class the
descriptor gives None and ``inspect`` reads the real ``__init__``;
tests/test_typing.py checks that the two agree, parameter by parameter, and
that the compiled class enforces what the text says.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Optional

__all__ = ["ClassSignature", "class_signature"]


def class_signature(text: str) -> Any:
    """A ``ClassSignature`` for a class body. Typed Any: what the attribute
    gives (None on the pure class, an ``inspect.Signature`` on the compiled
    one) is for ``inspect``, and stubtest compares it with both backends."""
    return ClassSignature(text)


class ClassSignature:
    """Descriptor: the ``inspect.Signature`` of a compiled class, parsed
    once from ``text`` (defaults are literals or names of the class's
    module)."""

    __slots__ = ("_text", "_parsed")

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed: Any = None

    def __get__(self, obj: object, owner: Optional[type] = None) -> Any:
        if owner is None:
            owner = type(obj)
        if isinstance(getattr(owner, "__init__", None), types.FunctionType):
            return None  # a Python __init__ (the pure class, or a subclass) says it itself
        if self._parsed is None:
            self._parsed = _parse(self._text, owner.__module__)
        return self._parsed

    def __repr__(self) -> str:
        return f"ClassSignature({self._text!r})"


def _parse(text: str, module_name: str) -> Any:
    import ast
    import inspect

    Parameter = inspect.Parameter
    tree = ast.parse(f"def _{text}: pass")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    arguments = function.args
    namespace = vars(sys.modules[module_name]) if module_name in sys.modules else {}

    def value(node: Optional[ast.expr]) -> Any:
        if node is None:
            return Parameter.empty
        return eval(compile(ast.Expression(node), "<signature>", "eval"), dict(namespace))

    parameters = []
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    for index, (arg, default) in enumerate(zip(positional, defaults)):
        kind = Parameter.POSITIONAL_ONLY if index < len(arguments.posonlyargs) else Parameter.POSITIONAL_OR_KEYWORD
        parameters.append(Parameter(arg.arg, kind, default=value(default)))
    if arguments.vararg is not None:
        parameters.append(Parameter(arguments.vararg.arg, Parameter.VAR_POSITIONAL))
    for arg, kw_default in zip(arguments.kwonlyargs, arguments.kw_defaults):
        parameters.append(Parameter(arg.arg, Parameter.KEYWORD_ONLY, default=value(kw_default)))
    if arguments.kwarg is not None:
        parameters.append(Parameter(arguments.kwarg.arg, Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)
