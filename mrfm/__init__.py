"""mrfm: magnetic resonance force microscopy simulator, rig controller and dataset generator.

All quantities inside the package are SI (m, s, T, N, J, K, Hz, A/m); units are
converted only at the edges (configuration files, command line, output files).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mrfm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
