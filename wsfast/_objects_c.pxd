cpdef object untracked(object obj)
