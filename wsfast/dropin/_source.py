"""Where an adapter replaces a host method by a copy of it with one thing
changed, the copy is only right for the source it was made from: adapters
compare the host method's source with the digests they know before they
put a copy in place."""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from typing import Any, Callable, Optional


def source_digest(function: Callable[..., Any]) -> Optional[str]:
    """sha256 of a function's dedented source, None where it is not on disk."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(textwrap.dedent(source).encode()).hexdigest()
