"""silake: the Seamless Interaction lakehouse."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("silake")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
