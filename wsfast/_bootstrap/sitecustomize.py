"""Put on PYTHONPATH by ``python -m wsfast run``: patch the WebSocket host
libraries as the interpreter starts, in this process and in every Python
process it spawns (they inherit PYTHONPATH and WSFAST_RUN), log one line
saying what was patched, then run the sitecustomize this one shadows."""

import os
import sys


def _patch() -> None:
    wanted = os.environ.get("WSFAST_RUN")
    if wanted is None:
        return
    try:
        from wsfast._run import patch_and_log

        patch_and_log(wanted)
    except Exception as exc:  # never stop the program over the speed-up
        sys.stderr.write(f"wsfast: nothing patched: {type(exc).__name__}: {exc}\n")


def _chain() -> None:
    """Run the next sitecustomize on sys.path, the one this file hides."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_patch()
_chain()
