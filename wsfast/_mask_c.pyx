# cython: language_level=3, freethreading_compatible=True
# cython: boundscheck=False, wraparound=False, cdivision=True
# cython: always_allow_keywords=False
"""Masking (RFC 6455 §5.3), compiled.

Arguments are read through the raw buffer protocol, with exact ``bytes`` and
``bytearray`` read straight from the object: at 16 bytes a typed memoryview
alone would cost more than the XOR. The XOR itself is a C kernel chosen at
run time for the CPU (see _kernels/mask.h).
"""

cimport cython

from cpython.buffer cimport (
    PyBUF_FULL_RO,
    PyBUF_SIMPLE,
    PyBUF_STRIDES,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyBuffer_ToContiguous,
    PyObject_GetBuffer,
)
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject
from libc.string cimport memcpy

import os

from ._signature import class_signature

cdef extern from "_kernels/mask.h":
    void wsfast_mask(const unsigned char *src, unsigned char *dst, size_t length,
                     const unsigned char *key) nogil
    int wsfast_mask_select(int max_level)
    const char *wsfast_mask_kernel()

cdef extern from "_kernels/cpu.h":
    const bint WSFAST_FREE_THREADED

cdef enum:
    # Calls at least this large release the GIL while the kernel runs.
    NOGIL_FROM = 65536

# The kernel is chosen now, while the import lock keeps every other thread
# out; a later select_kernel() swaps it atomically (see _kernels/cpu.h).
wsfast_mask_select(-1)

cdef bytes _EMPTY = b""


cdef inline int _check_self(object self, type cls, str name) except -1:
    # Methods of compiled classes are reachable unbound (``Masker.reset(x)``)
    # and Cython does not check ``self`` there: a foreign object would be
    # read and written as if it were one of ours.
    if not isinstance(self, cls):
        raise TypeError(
            f"descriptor {name!r} for {cls.__name__!r} objects doesn't apply to a "
            f"{type(self).__name__!r} object"
        )
    return 0


def select_kernel(int max_level=-1):
    """Choose the best kernel at or below ``max_level`` (-1: no cap)."""
    wsfast_mask_select(max_level)
    return wsfast_mask_kernel().decode("ascii")


def kernel():
    return wsfast_mask_kernel().decode("ascii")


cdef inline int _read_key(object mask, unsigned char *key) except -1:
    cdef Py_buffer view
    if type(mask) is bytes:
        if PyBytes_GET_SIZE(mask) != 4:
            raise ValueError(f"mask must be 4 bytes long, not {PyBytes_GET_SIZE(mask)}")
        memcpy(key, PyBytes_AS_STRING(mask), 4)
        return 0
    if isinstance(mask, str) or mask is None:
        raise TypeError(f"mask must be a bytes-like object, not {type(mask).__name__}")
    try:
        PyObject_GetBuffer(mask, &view, PyBUF_FULL_RO)
    except (TypeError, BufferError):
        raise TypeError(f"mask must be a bytes-like object, not {type(mask).__name__}") from None
    try:
        if view.len != 4:
            raise ValueError(f"mask must be 4 bytes long, not {view.len}")
        PyBuffer_ToContiguous(key, &view, 4, b'C')
    finally:
        PyBuffer_Release(&view)
    return 0


cdef inline Py_ssize_t _phase(object offset) except -1:
    if offset is None or isinstance(offset, float):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    return <Py_ssize_t>(offset & 3)


cdef inline void _rotate(const unsigned char *key, Py_ssize_t phase, unsigned char *out) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(4):
        out[i] = key[(i + phase) & 3]


cdef inline void _run(const unsigned char *src, unsigned char *dst, Py_ssize_t n,
                      const unsigned char *key, bint may_release) noexcept:
    if may_release and n >= NOGIL_FROM:
        with nogil:
            wsfast_mask(src, dst, <size_t>n, key)
    else:
        wsfast_mask(src, dst, <size_t>n, key)


cdef bytes _apply(object data, const unsigned char *key):
    """data XOR key into a new bytes object, for any buffer."""
    cdef Py_buffer view
    cdef bytes out
    cdef Py_ssize_t n
    if type(data) is bytes:
        n = PyBytes_GET_SIZE(data)
        if n == 0:
            return _EMPTY
        out = PyBytes_FromStringAndSize(NULL, n)
        # bytes are immutable: nothing can change them while the GIL is released.
        _run(<const unsigned char *>PyBytes_AS_STRING(data),
             <unsigned char *>PyBytes_AS_STRING(out), n, key, True)
        return out
    if isinstance(data, str) or data is None:
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}")
    # A small bytearray is read straight from the object: with the GIL held
    # and no Python code run in between, nothing can resize it meanwhile.
    # Free-threaded, another thread could: the export below is taken instead.
    if not WSFAST_FREE_THREADED and type(data) is bytearray and PyByteArray_GET_SIZE(data) < NOGIL_FROM:
        n = PyByteArray_GET_SIZE(data)
        out = PyBytes_FromStringAndSize(NULL, n)
        # The allocation may have run a finaliser that resized it.
        if PyByteArray_GET_SIZE(data) == n:
            wsfast_mask(<const unsigned char *>PyByteArray_AS_STRING(data),
                        <unsigned char *>PyBytes_AS_STRING(out), <size_t>n, key)
            return out
    try:
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        return _apply_strided(data, key)
    try:
        n = view.len
        out = PyBytes_FromStringAndSize(NULL, n)
        # The export pins the buffer: it cannot be resized or freed meanwhile.
        _run(<const unsigned char *>view.buf, <unsigned char *>PyBytes_AS_STRING(out), n, key, True)
    finally:
        PyBuffer_Release(&view)
    return out


cdef bytes _apply_strided(object data, const unsigned char *key):
    """Non-contiguous buffers: gather into the result, then XOR in place."""
    cdef Py_buffer view
    cdef bytes out
    try:
        PyObject_GetBuffer(data, &view, PyBUF_FULL_RO)
    except (TypeError, BufferError):
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}") from None
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        PyBuffer_ToContiguous(PyBytes_AS_STRING(out), &view, view.len, b'C')
        _run(<const unsigned char *>PyBytes_AS_STRING(out),
             <unsigned char *>PyBytes_AS_STRING(out), view.len, key, True)
    finally:
        PyBuffer_Release(&view)
    return out


def apply_mask(data, mask, offset=0):
    """Return ``data`` XOR ``mask``, starting at key position ``offset % 4``.

    ``data`` is any bytes-like object, non-contiguous memoryviews included;
    ``mask`` is 4 bytes (``ValueError`` otherwise, ``TypeError`` for ``str``
    or ``None``).
    """
    cdef unsigned char key[4]
    cdef unsigned char turned[4]
    _read_key(mask, key)
    cdef Py_ssize_t phase = 0 if offset is 0 else _phase(offset)
    if phase:
        _rotate(key, phase, turned)
        return _apply(data, turned)
    return _apply(data, key)


def mask_inplace(buf, mask, offset=0):
    """XOR the writable buffer ``buf`` with ``mask`` in place.

    A read-only buffer raises ``TypeError``; a non-contiguous one must be
    one-dimensional with 1-byte items (``ValueError`` otherwise).
    """
    cdef unsigned char key[4]
    cdef unsigned char turned[4]
    cdef Py_buffer view
    cdef Py_ssize_t n, i, stride
    cdef unsigned char *p
    _read_key(mask, key)
    cdef Py_ssize_t phase = 0 if offset is 0 else _phase(offset)
    cdef const unsigned char *k = key
    if phase:
        _rotate(key, phase, turned)
        k = turned
    # As in _apply: straight from a small bytearray only while the GIL
    # guarantees that nothing else touches it.
    if not WSFAST_FREE_THREADED and type(buf) is bytearray:
        n = PyByteArray_GET_SIZE(buf)
        if n < NOGIL_FROM:
            p = <unsigned char *>PyByteArray_AS_STRING(buf)
            wsfast_mask(p, p, <size_t>n, k)
            return None
    if isinstance(buf, str) or buf is None:
        raise TypeError(f"buf must be a writable buffer, not {type(buf).__name__}")
    try:
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
    except (TypeError, BufferError):
        pass
    else:
        try:
            _run(<const unsigned char *>view.buf, <unsigned char *>view.buf, view.len, k, True)
        finally:
            PyBuffer_Release(&view)
        return None
    # Not a plain writable buffer: read-only, not a buffer, or strided.
    try:
        PyObject_GetBuffer(buf, &view, PyBUF_FULL_RO)
    except (TypeError, BufferError):
        raise TypeError(f"buf must be a writable buffer, not {type(buf).__name__}") from None
    try:
        if view.readonly:
            raise TypeError(f"buf must be a writable buffer, not read-only {type(buf).__name__}")
        if view.ndim != 1 or view.itemsize != 1 or view.suboffsets != NULL:
            raise ValueError("buf must be C-contiguous or one-dimensional with 1-byte items")
        n = view.shape[0]
        stride = view.strides[0]
        p = <unsigned char *>view.buf
        for i in range(n):
            p[i * stride] ^= k[i & 3]
    finally:
        PyBuffer_Release(&view)
    return None


cdef class Masker:
    """Streaming masker: the key position carries across ``process`` calls.

    An instance holds the stream's key position: it is not to be shared
    between threads (give each connection its own).
    """

    # inspect cannot read a C __init__ (see _signature.py).
    __signature__ = class_signature("(mask)")

    cdef unsigned char _key[4]
    cdef Py_ssize_t _offset

    def __init__(self, mask):
        _read_key(mask, self._key)
        self._offset = 0

    @property
    def offset(self):
        """Bytes processed since creation or the last ``reset()``."""
        return self._offset

    def process(self, data, /):
        _check_self(self, Masker, "process")
        cdef unsigned char turned[4]
        _rotate(self._key, self._offset & 3, turned)
        cdef bytes out = _apply(data, turned)
        self._offset += PyBytes_GET_SIZE(out)
        return out

    def reset(self):
        _check_self(self, Masker, "reset")
        self._offset = 0

    def __reduce__(self):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")


# The codec's kernels. The compiled frame codec calls them directly (through
# _mask_c.pxd), but they are importable from Python too, so they check their
# arguments: a wrong range is a ValueError, not a read or write past a buffer.

cpdef bytes unmask_slice(bytes buf, Py_ssize_t start, Py_ssize_t end, bytes key,
                         Py_ssize_t key_pos, Py_ssize_t phase):
    cdef unsigned char turned[4]
    if buf is None or key is None:
        raise TypeError("unmask_slice() needs bytes, not None")
    # Checked before any arithmetic: end - start could overflow.
    if start < 0 or end < 0 or start > PyBytes_GET_SIZE(buf) or end > PyBytes_GET_SIZE(buf):
        raise ValueError("unmask_slice(): range out of bounds")
    if key_pos < 0 or key_pos > PyBytes_GET_SIZE(key) - 4:
        raise ValueError("unmask_slice(): key position out of range")
    cdef Py_ssize_t n = end - start
    if n <= 0:
        return _EMPTY
    _rotate(<const unsigned char *>PyBytes_AS_STRING(key) + key_pos, phase & 3, turned)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    _run(<const unsigned char *>PyBytes_AS_STRING(buf) + start,
         <unsigned char *>PyBytes_AS_STRING(out), n, turned, True)
    return out


cpdef void mask_bytearray(bytearray data, bytes key) except *:
    """XOR ``data`` in place with the 4 bytes of ``key``, holding the GIL
    (another thread could resize a bytearray under a released one)."""
    if PyBytes_GET_SIZE(key) != 4:
        raise ValueError(f"mask must be 4 bytes long, not {PyBytes_GET_SIZE(key)}")
    cdef unsigned char *buf = <unsigned char *>PyByteArray_AS_STRING(data)
    _run(buf, buf, PyByteArray_GET_SIZE(data), <const unsigned char *>PyBytes_AS_STRING(key), False)


cpdef bytes frame_header(int first, Py_ssize_t n):
    """An unmasked frame's header alone: ``first``, then the shortest
    encoding of the payload length ``n`` (for a payload written apart)."""
    cdef unsigned char head[10]
    cdef Py_ssize_t size, i
    cdef unsigned long long wide
    head[0] = <unsigned char>first
    if n < 0:
        raise ValueError("negative payload length")
    if n < 126:
        head[1] = <unsigned char>n
        size = 2
    elif n < 65536:
        head[1] = 126
        head[2] = <unsigned char>(n >> 8)
        head[3] = <unsigned char>n
        size = 4
    else:
        head[1] = 127
        wide = <unsigned long long>n
        for i in range(8):
            head[2 + i] = <unsigned char>(wide >> (56 - 8 * i))
        size = 10
    return PyBytes_FromStringAndSize(<char *>head, size)


cpdef bytes build_frame(Py_ssize_t first, bytes payload, bytes key_source, Py_ssize_t key_pos):
    """A whole frame in one allocation: header with the shortest length
    encoding, then the payload, masked with the 4 bytes at ``key_pos`` of
    ``key_source`` when that is not None."""
    if payload is None:
        raise TypeError("build_frame() needs a bytes payload, not None")
    if first < 0 or first > 255:
        raise ValueError("build_frame(): the first header byte must be in range(0, 256)")
    if key_source is None:
        return _build(<unsigned char>first, payload, NULL)
    if key_pos < 0 or key_pos > PyBytes_GET_SIZE(key_source) - 4:
        raise ValueError("key position out of range")
    return _build(<unsigned char>first, payload, <const unsigned char *>PyBytes_AS_STRING(key_source) + key_pos)


# Fresh masking keys (RFC 6455 §5.3: unpredictable, one per frame) come from
# a pool of os.urandom bytes: one system call per frame would cost more than
# building the frame. The pool is shared by every thread; two frames must
# never get the same four bytes. With the GIL, taking a key runs no Python
# code between reading the position and advancing it, so the GIL alone makes
# it atomic and no lock is taken there. Free-threaded, a
# PyMutex guards it. The pool is refilled outside any lock, os.urandom being
# a system call, and checked again before it is replaced.
cdef enum:
    KEY_BATCH = 4096
cdef cython.pymutex _key_lock
cdef bytes _key_pool = _EMPTY
cdef Py_ssize_t _key_pos = 0


cdef inline bint _copy_key(unsigned char *key) noexcept:
    """Copy the next key out of the pool; False when it is used up."""
    global _key_pos
    if _key_pos + 4 > PyBytes_GET_SIZE(_key_pool):
        return False
    memcpy(key, PyBytes_AS_STRING(_key_pool) + _key_pos, 4)
    _key_pos += 4
    return True


cdef inline void _refill(bytes fresh) noexcept:
    global _key_pool, _key_pos
    # Another thread may have refilled it first: keep what is left.
    if _key_pos + 4 > PyBytes_GET_SIZE(_key_pool):
        _key_pool = fresh
        _key_pos = 0


cdef int _take_key(unsigned char *key) except -1:
    cdef bint taken
    cdef bytes fresh
    while True:
        if WSFAST_FREE_THREADED:
            with _key_lock:
                taken = _copy_key(key)
        else:
            taken = _copy_key(key)
        if taken:
            return 0
        fresh = os.urandom(KEY_BATCH)
        if WSFAST_FREE_THREADED:
            with _key_lock:
                _refill(fresh)
        else:
            _refill(fresh)


cpdef bytes build_masked_frame(Py_ssize_t first, bytes payload):
    """``build_frame`` masked with a fresh unpredictable key: what a client
    sends. Thread-safe: concurrent calls never share a key."""
    cdef unsigned char key[4]
    if payload is None:
        raise TypeError("build_masked_frame() needs a bytes payload, not None")
    if first < 0 or first > 255:
        raise ValueError("build_masked_frame(): the first header byte must be in range(0, 256)")
    _take_key(key)
    return _build(<unsigned char>first, payload, key)


cdef inline bytes _build(unsigned char first, bytes payload, const unsigned char *key):
    """The frame, masked with ``key`` unless it is NULL."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
    cdef Py_ssize_t head = 2 if n < 126 else (4 if n < 65536 else 10)
    cdef bint masked = key != NULL
    cdef unsigned char mask_bit = 0x80 if masked else 0
    cdef Py_ssize_t i
    cdef unsigned long long wide
    if masked:
        head += 4
    cdef bytes out = PyBytes_FromStringAndSize(NULL, head + n)
    cdef unsigned char *dst = <unsigned char *>PyBytes_AS_STRING(out)
    dst[0] = <unsigned char>first
    if n < 126:
        dst[1] = mask_bit | <unsigned char>n
    elif n < 65536:
        dst[1] = mask_bit | 126
        dst[2] = <unsigned char>(n >> 8)
        dst[3] = <unsigned char>n
    else:
        dst[1] = mask_bit | 127
        wide = <unsigned long long>n
        for i in range(8):
            dst[2 + i] = <unsigned char>(wide >> (56 - 8 * i))
    if masked:
        memcpy(dst + head - 4, key, 4)
        _run(<const unsigned char *>PyBytes_AS_STRING(payload), dst + head, n, key, True)
    else:
        memcpy(dst + head, PyBytes_AS_STRING(payload), n)
    return out


cdef extern from "_kernels/cpu.h":
    const char *wsfast_cpu_features_c "wsfast_cpu_features"()
    const char *wsfast_cpu_checks_c "wsfast_cpu_checks"()


def cpu_features():
    """CPU features the kernels can use on this machine, space-separated."""
    return wsfast_cpu_features_c().decode("ascii")


def cpu_checks():
    """Every CPU feature a kernel checks, in the order checked: name -> found."""
    pairs = wsfast_cpu_checks_c().decode("ascii").split()
    return {name: flag == "1" for name, flag in (pair.split("=") for pair in pairs)}


# ---------------------------------------------------------------------------
# Unmasking straight into a growable buffer (the frame codec's assembly).

cdef extern from "Python.h":
    int _PyBytes_Resize(PyObject **bytes, Py_ssize_t newsize)
    void Py_XDECREF(PyObject *o)
    void Py_INCREF(object o)

cdef enum:
    # Room a buffer grows by at least once its reservation is used up.
    GROW_MIN = 256


cdef inline void mask_into(const unsigned char *src, Py_ssize_t n, unsigned char *dst,
                           const unsigned char *key, Py_ssize_t phase) noexcept:
    """``n`` bytes from ``src`` to ``dst``, XOR ``key`` turned by ``phase``
    (``key`` NULL: a plain copy). The caller holds the ranges valid."""
    cdef unsigned char turned[4]
    if key == NULL:
        memcpy(dst, src, <size_t>n)
        return
    _rotate(key, phase & 3, turned)
    wsfast_mask(src, dst, <size_t>n, turned)


cdef class GrowBuffer:
    """One growable buffer for a payload that arrives in pieces.

    The storage is a bytes object that only this buffer refers to, sized
    from ``reserve`` (the frame headers) and resized in place, so ``take()``
    hands it over without a copy. Not to be shared between threads.
    """

    # No __cinit__: the allocation zeroes every field, and the codec sets
    # ``limit`` (0 until then: growth to exactly what is asked).

    def __init__(self):
        pass  # no arguments, as the pure twin takes none

    def __dealloc__(self):
        Py_XDECREF(self._obj)
        self._obj = NULL

    def __reduce__(self):
        raise TypeError("GrowBuffer cannot be pickled")

    cdef int reserve(self, Py_ssize_t capacity) except -1:
        """Room for ``capacity`` bytes in all. Growing, it takes at least a
        quarter more (never past ``limit``), so that many small reservations
        cost amortised constant time."""
        cdef object fresh
        cdef Py_ssize_t grown
        if capacity <= self.capacity:
            return 0
        if self._obj == NULL:
            # Never 0 bytes: the empty bytes object is a shared singleton.
            fresh = PyBytes_FromStringAndSize(NULL, capacity)
            Py_INCREF(fresh)
            self._obj = <PyObject *>fresh
            self.capacity = capacity
            return 0
        grown = self.capacity + (self.capacity >> 2)
        if grown < self.capacity + GROW_MIN:
            grown = self.capacity + GROW_MIN
        if self.limit >= 0 and grown > self.limit:
            grown = self.limit
        if grown > capacity:
            capacity = grown
        if _PyBytes_Resize(&self._obj, capacity) < 0:
            # The storage is gone (freed by _PyBytes_Resize), and the payload with it.
            self.size = 0
            self.capacity = 0
            return -1
        self.capacity = capacity
        return 0

    cdef int write(self, bytes src, Py_ssize_t start, Py_ssize_t end, bytes key,
                   Py_ssize_t phase) except -1:
        cdef Py_ssize_t n = end - start
        cdef Py_ssize_t need
        cdef const unsigned char *k = NULL
        if src is None or start < 0 or n < 0 or end > PyBytes_GET_SIZE(src):
            raise ValueError("source range out of bounds")
        if key is not None:
            if PyBytes_GET_SIZE(key) != 4:
                raise ValueError("mask must be 4 bytes long")
            k = <const unsigned char *>PyBytes_AS_STRING(key)
        if n == 0:
            return 0
        need = self.size + n
        if need > self.capacity:
            self.reserve(need)
        mask_into(<const unsigned char *>PyBytes_AS_STRING(src) + start, n,
                  <unsigned char *>PyBytes_AS_STRING(<object>self._obj) + self.size, k, phase)
        self.size = need
        return 0

    cdef bytes contents(self):
        """The storage, valid in ``[0, size)``; drop it before the next write."""
        if self._obj == NULL:
            return _EMPTY
        return <bytes>self._obj

    cdef bytes take(self):
        cdef bytes out
        if self.size == 0:
            self.clear()
            return _EMPTY
        if self.size != self.capacity and _PyBytes_Resize(&self._obj, self.size) < 0:
            self.size = 0
            self.capacity = 0
            raise MemoryError()
        out = <bytes>self._obj
        Py_XDECREF(self._obj)  # the reference moves to `out`
        self._obj = NULL
        self.size = 0
        self.capacity = 0
        return out

    cdef void clear(self) noexcept:
        Py_XDECREF(self._obj)
        self._obj = NULL
        self.size = 0
        self.capacity = 0


cpdef GrowBuffer new_buffer():
    return GrowBuffer.__new__(GrowBuffer)
