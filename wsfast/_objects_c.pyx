# cython: language_level=3, freethreading_compatible=True
"""Object helpers for the compiled frame codec (twin: _objects_py.py)."""

cdef extern from "Python.h":
    int PyObject_IS_GC(object obj)
    void PyObject_GC_UnTrack(void *op)


cpdef object untracked(object obj):
    """``obj``, taken out of the cyclic garbage collector's view.

    The codec's events hold only bytes, str, ints and Opcode members, so
    they cannot be part of a cycle. Tracking them costs a collection pass
    every few hundred events, a fifth of the time spent parsing small
    frames. (Cython cannot mark a class compiled from a .py file ``no_gc``.)
    """
    # Classes whose fields cannot hold containers have no GC header at all.
    if PyObject_IS_GC(obj):
        PyObject_GC_UnTrack(<void *>obj)
    return obj
