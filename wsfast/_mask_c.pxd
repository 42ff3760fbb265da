# Masking kernels that the compiled frame codec calls directly, with no
# Python call in between. Same names and arguments as in _mask_py.py (cpdef:
# the pure-Python import of the twin in _codec_py.py must name them too).

cpdef bytes unmask_slice(bytes buf, Py_ssize_t start, Py_ssize_t end, bytes key, Py_ssize_t key_pos, Py_ssize_t phase)
cpdef void mask_bytearray(bytearray data, bytes key) except *
cpdef bytes frame_header(int first, Py_ssize_t n)
cpdef bytes build_frame(Py_ssize_t first, bytes payload, bytes key_source, Py_ssize_t key_pos)
cpdef bytes build_masked_frame(Py_ssize_t first, bytes payload)

from cpython.object cimport PyObject


cdef class GrowBuffer:
    cdef PyObject *_obj
    cdef readonly Py_ssize_t size, capacity
    cdef public Py_ssize_t limit

    cdef int reserve(self, Py_ssize_t capacity) except -1
    cdef int write(self, bytes src, Py_ssize_t start, Py_ssize_t end, bytes key, Py_ssize_t phase) except -1
    cdef bytes contents(self)
    cdef bytes take(self)
    cdef void clear(self) noexcept


cpdef GrowBuffer new_buffer()
