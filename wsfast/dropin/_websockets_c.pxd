# Types for compiling _websockets_py.py as wsfast.dropin._websockets_c
# (setup.py builds the extension from that same file).

import cython

cdef object _host_parse, _frame_parse, _Frame, _SERVER, _apply_mask
cdef object _ProtocolError, _PayloadTooBig, _CloseCode, _new, _struct, _unpack
cdef tuple _OPCODES

@cython.locals(
    n=Py_ssize_t, first=int, second=int, length="unsigned long long", head=Py_ssize_t,
    end="unsigned long long",
)
cdef object _complete_frame(bytearray buf, bint masked, object max_size)
