"""wsaccel's API on wsfast: change ``import wsaccel`` to
``import wsfast.compat.wsaccel as wsaccel`` (or ``from wsfast.compat.wsaccel
import xormask, utf8validator``) and code written for wsaccel (ws4py,
older autobahn) runs on wsfast's kernels with the same results.

``xormask``: ``XorMaskerSimple``, ``XorMaskerNull``, ``createXorMasker``.
``utf8validator``: ``Utf8Validator``.

Checked against wsaccel 0.6.7 (the tests compare both when it is installed).
"""

from . import utf8validator, xormask

__all__ = ["utf8validator", "xormask"]
