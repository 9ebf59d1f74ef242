"""silake: the Seamless Interaction lakehouse.

    import silake
    lake = silake.open("lake")          # see silake.api
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("silake")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from silake.api import Lake, Snapshot, open

__all__ = ["Lake", "Snapshot", "__version__", "open"]


def __getattr__(name: str) -> Any:
    """The API, imported on first use (`import silake` alone stays cheap for the command line)."""
    if name in ("open", "Lake", "Snapshot"):
        from silake import api

        return getattr(api, name)
    raise AttributeError(f"module 'silake' has no attribute {name!r}")
