# cython: language_level=3, freethreading_compatible=True
"""Object helpers for the compiled frame codec (twin: _objects_py.py)."""

from cpython.object cimport PyObject, PyTypeObject

cdef extern from "Python.h":
    int PyObject_IS_GC(object obj)
    void PyObject_GC_UnTrack(void *op)
    PyTypeObject *Py_TYPE(object obj)

# Types found to be the codec's own, so that most calls are a pointer compare.
# Filled as they are met; a slot only ever holds such a type or NULL, so a
# reader that races a writer at worst misses and checks again.
cdef enum:
    KNOWN_MAX = 8
cdef PyTypeObject *_known[KNOWN_MAX]
cdef int _known_count = 0


cdef bint _ours(object obj) noexcept:
    """Whether ``obj`` is an instance of a class of the compiled codec."""
    global _known_count
    cdef PyTypeObject *t = Py_TYPE(obj)
    cdef int i, n = _known_count
    for i in range(n):
        if _known[i] == t:
            return True
    try:
        if type(obj).__module__ != "wsfast._codec_c":
            return False
    except BaseException:
        return False
    if n < KNOWN_MAX:
        _known[n] = t
        _known_count = n + 1
    return True


cpdef object untracked(object obj):
    """``obj``, taken out of the cyclic garbage collector's view.

    The codec's events hold only bytes, str, ints and Opcode members, so
    they cannot be part of a cycle. Tracking them costs a collection pass
    every few hundred events, a fifth of the time spent parsing small
    frames. (Cython cannot mark a class compiled from a .py file ``no_gc``.)

    Only the codec's own classes are untracked; anything else comes back
    as it is. Untracking, say, a memoryview would corrupt the collector's
    lists when it is freed, and this function is importable from Python.
    """
    # Classes whose fields cannot hold containers have no GC header at all.
    if PyObject_IS_GC(obj) and _ours(obj):
        PyObject_GC_UnTrack(<void *>obj)
    return obj
