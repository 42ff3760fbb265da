# Types for compiling _wsproto_py.py as wsfast.dropin._wsproto_c (setup.py
# builds the extension from that same file).

import cython

from wsfast._utf8_c cimport decode_utf8

cdef int MODE_FRAMES, MODE_EVENTS
cdef tuple _OPCODES, _LOCAL_ONLY
cdef object _CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG
cdef object _PROTOCOL_ERROR, _INVALID_DATA, _NO_STATUS
cdef dict _KNOWN_CODES
cdef object _utf8_decode, _new
cdef bytes _EMPTY

cdef object _foreign_self(str method, str owner, object obj)
cdef object _message_event(object cls, object data, bint frame_finished, bint message_finished)
cdef object _payload_event(object cls, bytes payload)


cdef class Reader:
    cdef readonly object pending
    cdef object _apply_mask
    cdef bint _client
    cdef bytes _tail
    cdef list _chunks
    cdef object _error
    cdef bint _done
    cdef bint _in_frame
    cdef bint _fin
    cdef int _opcode
    cdef unsigned long long _length
    cdef unsigned long long _consumed
    cdef bytes _key
    cdef int _message
    cdef bytes _pending

    cpdef bint parse(self, int mode) except -1

    @cython.locals(
        chunks=list, buf=bytes, n=Py_ssize_t, pos=Py_ssize_t, first=int, second=int, opcode=int,
        fin=bint, length="unsigned long long", head=Py_ssize_t, consumed="unsigned long long",
        available=Py_ssize_t, take="unsigned long long", piece=bytes, frame_finished=bint,
    )
    cdef void _parse(self, int mode) except *

    @cython.locals(message=int, finished=bint)
    cdef object _data(self, int opcode, bytes piece, bint frame_finished, int mode)

    cdef object _close(self, bytes payload, int mode)

    @cython.locals(data=bytes, n=Py_ssize_t, cut=Py_ssize_t, i=Py_ssize_t, lead=int, need=int, consumed=Py_ssize_t)
    cdef str _decode_piece(self, bytes piece, bint final)
