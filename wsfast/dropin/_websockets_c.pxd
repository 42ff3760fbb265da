# Types for compiling _websockets_py.py as wsfast.dropin._websockets_c
# (setup.py builds the extension from that same file). The unmasking kernel
# is the compiled codec's, called directly.

import cython

from wsfast._mask_c cimport unmask_slice

cdef object _host_parse, _frame_parse, _Frame, _SERVER, _CLOSE, _PING, _PONG, _TEXT, _BINARY, _CONT, _recv_frame
cdef object _ProtocolError, _PayloadTooBig, _CloseCode, _new, _struct, _unpack
cdef tuple _OPCODES
cdef bytes _EMPTY


@cython.locals(n=Py_ssize_t, second=int, length="unsigned long long", head=Py_ssize_t)
cdef bint _complete(bytearray buf) except -1


cdef class _Snapshot:
    cdef bytearray buf
    cdef bytes data
    cdef Py_ssize_t pos
    cdef Py_ssize_t base

    cdef void sync(self) except *
    cdef bint current(self)

    @cython.locals(
        data=bytes, pos=Py_ssize_t, n=Py_ssize_t, first=int, second=int,
        length="unsigned long long", head=Py_ssize_t, start=Py_ssize_t,
    )
    cdef object next_frame(self, bint masked, object max_size)
