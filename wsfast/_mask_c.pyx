# cython: language_level=3, freethreading_compatible=True
# cython: boundscheck=False, wraparound=False, cdivision=True
# cython: always_allow_keywords=False
"""Masking (RFC 6455 §5.3), compiled.

Arguments are read through the raw buffer protocol, with exact ``bytes`` and
``bytearray`` read straight from the object: at 16 bytes a typed memoryview
alone would cost more than the XOR. The XOR itself is a C kernel chosen at
run time for the CPU (see _kernels/mask.h).
"""

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

cdef extern from "_kernels/mask.h":
    void wsfast_mask(const unsigned char *src, unsigned char *dst, size_t length,
                     const unsigned char *key) nogil
    int wsfast_mask_select(int max_level)
    const char *wsfast_mask_kernel()

cdef enum:
    # Calls at least this large release the GIL while the kernel runs.
    NOGIL_FROM = 65536

cdef bytes _EMPTY = b""


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
    if type(data) is bytearray and PyByteArray_GET_SIZE(data) < NOGIL_FROM:
        n = PyByteArray_GET_SIZE(data)
        out = PyBytes_FromStringAndSize(NULL, n)
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
    if type(buf) is bytearray:
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
    """Streaming masker: the key position carries across ``process`` calls."""

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
        cdef unsigned char turned[4]
        _rotate(self._key, self._offset & 3, turned)
        cdef bytes out = _apply(data, turned)
        self._offset += PyBytes_GET_SIZE(out)
        return out

    def reset(self):
        self._offset = 0


cpdef bytes unmask_slice(bytes buf, Py_ssize_t start, Py_ssize_t end, bytes key,
                        Py_ssize_t key_pos, Py_ssize_t phase):
    cdef Py_ssize_t n = end - start
    cdef unsigned char turned[4]
    if n <= 0:
        return _EMPTY
    _rotate(<const unsigned char *>PyBytes_AS_STRING(key) + key_pos, phase & 3, turned)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    _run(<const unsigned char *>PyBytes_AS_STRING(buf) + start,
         <unsigned char *>PyBytes_AS_STRING(out), n, turned, True)
    return out


cpdef bytes build_frame(int first, bytes payload, bytes key_source, Py_ssize_t key_pos):
    """A whole frame in one allocation: header with the shortest length
    encoding, then the payload, masked with the 4 bytes at ``key_pos`` of
    ``key_source`` when that is not None."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
    cdef Py_ssize_t head = 2 if n < 126 else (4 if n < 65536 else 10)
    cdef bint masked = key_source is not None
    cdef const unsigned char *key = NULL
    if masked:
        if key_pos < 0 or key_pos + 4 > PyBytes_GET_SIZE(key_source):
            raise ValueError("key position out of range")
        key = <const unsigned char *>PyBytes_AS_STRING(key_source) + key_pos
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


def cpu_features():
    """CPU features the kernels can use on this machine, space-separated."""
    return wsfast_cpu_features_c().decode("ascii")


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
