# The UTF-8 kernel that the compiled frame codec calls directly. Same name and
# arguments as in _utf8_py.py.

cpdef Py_ssize_t utf8_feed(Py_ssize_t state, bytes buf, Py_ssize_t start, Py_ssize_t end) except? -2
cpdef object decode_utf8(bytes buf, Py_ssize_t start, Py_ssize_t end)
