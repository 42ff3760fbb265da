# cython: language_level=3, freethreading_compatible=True
# cython: boundscheck=False, wraparound=False, cdivision=True
# cython: always_allow_keywords=False
"""Strict UTF-8 validation (RFC 3629), compiled.

The kernel (see _kernels/utf8.h) is a vectorised validator chosen at run time
for the CPU, with a scalar DFA that pins down exact failure positions.
"""

from cpython.buffer cimport PyBUF_FULL_RO, PyBUF_SIMPLE, PyBuffer_Release, PyBuffer_ToContiguous, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from libc.stdint cimport uint32_t
from libc.stddef cimport ptrdiff_t
from cpython.unicode cimport PyUnicode_DecodeUTF8

from ._signature import class_signature

cdef extern from "_kernels/utf8.h":
    const uint32_t WSFAST_UTF8_ACCEPT
    const uint32_t WSFAST_UTF8_REJECT
    ptrdiff_t wsfast_utf8_validate(const unsigned char *p, size_t length, uint32_t *state) nogil
    int wsfast_utf8_select(int max_level)
    const char *wsfast_utf8_kernel()

cdef enum:
    # Calls at least this large release the GIL while the kernel runs.
    NOGIL_FROM = 65536


cdef extern from "_kernels/utf8_decode.h":
    object wsfast_decode_valid_utf8(const unsigned char *p, size_t n)
    int wsfast_decode_select(int max_level)
    int wsfast_decode_wide()
    const char *wsfast_decode_kernel()

cdef extern from "_kernels/cpu.h":
    const bint WSFAST_FREE_THREADED

# Below AVX2 the decoder's vector paths lose to CPython's own from about
# 1 KiB (measured); there, validated text goes to PyUnicode_DecodeUTF8.
cdef enum:
    DECODE_NARROW_UP_TO = 512

# Kernels chosen now, while the import lock keeps every other thread out;
# a later select_kernel() swaps them atomically (see _kernels/cpu.h).
wsfast_utf8_select(-1)
wsfast_decode_select(-1)


def select_kernel(int max_level=-1):
    """Choose the best kernels at or below ``max_level`` (-1: no cap)."""
    wsfast_utf8_select(max_level)
    wsfast_decode_select(max_level)
    return wsfast_utf8_kernel().decode("ascii")


def decoder_kernel():
    return wsfast_decode_kernel().decode("ascii")


def kernel():
    return wsfast_utf8_kernel().decode("ascii")


cdef inline ptrdiff_t _run(const unsigned char *p, Py_ssize_t n, uint32_t *state, bint may_release) noexcept:
    cdef ptrdiff_t bad
    if may_release and n >= NOGIL_FROM:
        with nogil:
            bad = wsfast_utf8_validate(p, <size_t>n, state)
        return bad
    return wsfast_utf8_validate(p, <size_t>n, state)


cdef ptrdiff_t _validate_object(object data, uint32_t *state, Py_ssize_t *length=NULL) except -2:
    """Validate any bytes-like object: -1 when valid, else the bad index.
    The object's size in bytes goes to ``length`` when given."""
    cdef Py_buffer view
    cdef bytes copy
    if type(data) is bytes:
        if length != NULL:
            length[0] = PyBytes_GET_SIZE(data)
        return _run(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), state, True)
    if isinstance(data, str) or data is None:
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}")
    # With the GIL held and no Python code run in between, nothing can resize
    # a small bytearray while it is read; free-threaded, only an export can.
    if not WSFAST_FREE_THREADED and type(data) is bytearray and PyByteArray_GET_SIZE(data) < NOGIL_FROM:
        if length != NULL:
            length[0] = PyByteArray_GET_SIZE(data)
        return _run(<const unsigned char *>PyByteArray_AS_STRING(data), PyByteArray_GET_SIZE(data), state, False)
    try:
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        pass
    else:
        try:
            if length != NULL:
                length[0] = view.len
            return _run(<const unsigned char *>view.buf, view.len, state, True)
        finally:
            PyBuffer_Release(&view)
    try:
        PyObject_GetBuffer(data, &view, PyBUF_FULL_RO)
    except (TypeError, BufferError):
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}") from None
    try:
        copy = PyBytes_FromStringAndSize(NULL, view.len)
        PyBuffer_ToContiguous(PyBytes_AS_STRING(copy), &view, view.len, b'C')
    finally:
        PyBuffer_Release(&view)
    if length != NULL:
        length[0] = PyBytes_GET_SIZE(copy)
    return _run(<const unsigned char *>PyBytes_AS_STRING(copy), PyBytes_GET_SIZE(copy), state, True)


def validate_utf8(data, /):
    """True when ``data`` is complete, strictly valid UTF-8."""
    cdef uint32_t state = WSFAST_UTF8_ACCEPT
    return _validate_object(data, &state) < 0 and state == WSFAST_UTF8_ACCEPT


cdef inline int _check_self(object self, type cls, str name) except -1:
    # Methods of compiled classes are reachable unbound
    # (``Utf8Validator.reset(x)``) and Cython does not check ``self`` there:
    # a foreign object would be written as if it were one of ours.
    if not isinstance(self, cls):
        raise TypeError(
            f"descriptor {name!r} for {cls.__name__!r} objects doesn't apply to a "
            f"{type(self).__name__!r} object"
        )
    return 0


cdef int _check_bytes_like(object data) except -1:
    """TypeError unless ``data`` is a bytes-like object, as _validate_object
    would raise, without validating it."""
    cdef Py_buffer view
    if type(data) is bytes or type(data) is bytearray:
        return 0
    if isinstance(data, str) or data is None:
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}")
    try:
        PyObject_GetBuffer(data, &view, PyBUF_FULL_RO)
    except (TypeError, BufferError):
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}") from None
    PyBuffer_Release(&view)
    return 0


cdef class Utf8Validator:
    """Incremental validator with the result tuple of wsaccel and autobahn.

    ``validate(chunk)`` returns ``(valid, ends_on_codepoint, current_index,
    total_index)``. On failure both indexes point at the first byte that
    cannot continue a valid sequence (within the chunk, and within the whole
    stream), on the very chunk that makes the stream invalid. A failed
    validator stays failed until ``reset()``.

    An instance holds one stream's state: it is not to be shared between
    threads (give each stream its own).
    """

    # inspect cannot read a C __init__ (see _signature.py).
    __signature__ = class_signature("()")

    cdef uint32_t _state
    cdef bint _failed
    cdef Py_ssize_t _index

    def __init__(self):
        self._state = WSFAST_UTF8_ACCEPT
        self._failed = False
        self._index = 0

    def reset(self):
        _check_self(self, Utf8Validator, "reset")
        self._state = WSFAST_UTF8_ACCEPT
        self._failed = False
        self._index = 0

    def validate(self, data, /):
        _check_self(self, Utf8Validator, "validate")
        cdef ptrdiff_t bad
        cdef Py_ssize_t n
        if self._failed:
            # The same argument check as on a live stream, like the pure twin.
            _check_bytes_like(data)
            return False, False, 0, self._index
        bad = _validate_object(data, &self._state, &n)
        if bad >= 0:
            self._failed = True
            self._index += bad
            return False, False, bad, self._index
        self._index += n
        return True, self._state == WSFAST_UTF8_ACCEPT, n, self._index

    def __reduce__(self):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")


cpdef Py_ssize_t utf8_feed(Py_ssize_t state, bytes buf, Py_ssize_t start, Py_ssize_t end) except? -2:
    """The frame codec's incremental step: the new state, or ``-1 - i`` for
    the first invalid byte ``i``. States are this kernel's own encoding
    (the pure twin numbers them differently). Importable from Python too,
    so its arguments are checked: nothing outside ``buf`` is ever read."""
    if buf is None:
        raise TypeError("utf8_feed() needs bytes, not None")
    if state < 0 or state > 63:
        raise ValueError(f"utf8_feed(): invalid state {state}")
    if start < 0 or end < 0 or start > PyBytes_GET_SIZE(buf) or end > PyBytes_GET_SIZE(buf):
        raise ValueError("utf8_feed(): range out of bounds")
    cdef uint32_t s = <uint32_t>state
    if end <= start:
        return state
    cdef ptrdiff_t bad = _run(<const unsigned char *>PyBytes_AS_STRING(buf) + start, end - start, &s, True)
    if bad >= 0:
        return -1 - bad
    return s


cpdef object decode_utf8(bytes buf, Py_ssize_t start, Py_ssize_t end):
    """``buf[start:end]`` as a str, or None when it is not valid UTF-8.

    The vectorised validator decides, then the string is built in one
    allocation at its final width (_kernels/utf8_decode.h): two to four
    times faster than ``bytes.decode`` on text that is not pure ASCII.
    ``start`` and ``end`` must lie within ``buf`` (``ValueError``).
    """
    cdef uint32_t state = WSFAST_UTF8_ACCEPT
    if buf is None:
        raise TypeError("decode_utf8() needs bytes, not None")
    if start < 0 or end < 0 or start > PyBytes_GET_SIZE(buf) or end > PyBytes_GET_SIZE(buf):
        raise ValueError("decode_utf8(): range out of bounds")
    cdef Py_ssize_t n = end - start
    if n <= 0:
        return ""
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(buf) + start
    if _run(p, n, &state, True) >= 0 or state != WSFAST_UTF8_ACCEPT:
        return None
    if n > DECODE_NARROW_UP_TO and not wsfast_decode_wide():
        return PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
    return wsfast_decode_valid_utf8(p, <size_t>n)
