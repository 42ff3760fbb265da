"""Build script: cythonizes the hot paths unless told not to.

``WSFAST_EXTENSIONS`` (parsed by wsfast/_env.py, the same code the runtime
uses) decides: ``auto`` builds the extensions and falls back to a pure-Python
install when they cannot be built (no compiler, say), ``1`` makes that an
error, ``0`` skips them.
"""

import importlib.util
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_env():
    # By path: importing the wsfast package here would pick up whatever
    # backend is lying around instead of just the parser.
    spec = importlib.util.spec_from_file_location("_wsfast_env", os.path.join(HERE, "wsfast", "_env.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODE = _load_env().extensions_mode()


class OptionalBuildExt(build_ext):
    """Under ``auto`` a failed compile installs the pure-Python backend."""

    failed = False

    def run(self):
        try:
            super().run()
        except Exception as exc:
            self._fallback(exc)

    def build_extension(self, ext):
        if self.failed:
            return  # the backend loads all of its modules or none
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._fallback(exc)

    def _fallback(self, exc):
        if MODE == "1":
            raise
        self.failed = True
        sys.stderr.write(
            "\n*** wsfast: the C extensions could not be built ({}: {}).\n"
            "*** Installing the pure-Python backend: it works the same, only slower.\n"
            "*** Set WSFAST_EXTENSIONS=1 to make this an error.\n\n".format(type(exc).__name__, exc)
        )


def _extensions():
    if MODE == "0":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if MODE == "1":
            raise
        sys.stderr.write("*** wsfast: Cython is not installed; installing the pure-Python backend.\n")
        return []
    if os.name == "nt":
        extra = ["/O2"]
    else:
        # Exported CFLAGS replace distutils' defaults; keep the optimisation.
        extra = ["-O3", "-fno-strict-aliasing"]
    include = [os.path.join("wsfast", "_kernels")]
    extensions = [
        Extension("wsfast._mask_c", ["wsfast/_mask_c.pyx"], include_dirs=include, extra_compile_args=extra),
        Extension("wsfast._utf8_c", ["wsfast/_utf8_c.pyx"], include_dirs=include, extra_compile_args=extra),
        Extension("wsfast._objects_c", ["wsfast/_objects_c.pyx"], extra_compile_args=extra),
        # The frame codec is one Python file, compiled with the types of _codec_c.pxd.
        Extension("wsfast._codec_c", ["wsfast/_codec_py.py"], include_dirs=include, extra_compile_args=extra),
        # aiohttp's reader on the codec's kernels (wsfast.dropin.aiohttp), built the same way.
        Extension("wsfast._aiohttp_c", ["wsfast/_aiohttp_py.py"], extra_compile_args=extra),
        # Drop-in readers: plain Python files compiled with the types of their .pxd.
        Extension("wsfast.dropin._wsproto_c", ["wsfast/dropin/_wsproto_py.py"], extra_compile_args=extra),
        Extension("wsfast.dropin._websockets_c", ["wsfast/dropin/_websockets_py.py"], extra_compile_args=extra),
    ]
    return cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
            # Python syntax: the "c" format prints a keyword-only constructor
            # argument as positional (tests/test_typing.py checks the docs).
            "embedsignature.format": "python",
            "freethreading_compatible": True,
            # No generated __reduce_cython__/__setstate_cython__: with bounds
            # checks off they read junk state past its end. Classes that
            # pickle say how themselves.
            "auto_pickle": False,
            # The .pxd files carry the C types; annotations in the .py stay for type checkers.
            "annotation_typing": False,
        },
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
