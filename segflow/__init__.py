"""segflow: declarative customer segmentation for e-commerce, managed as code."""

from importlib.metadata import PackageNotFoundError, version

try:  # one source of truth: [project] version in pyproject.toml, read from the installed metadata
    __version__ = version("segflow")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
