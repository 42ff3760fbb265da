# The compiled module has the API of its pure twin (stubtest checks it).
from ._objects_py import untracked as untracked
