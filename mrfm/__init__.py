"""mrfm: magnetic resonance force microscopy simulator, rig controller and dataset generator.

All quantities inside the package are SI (m, s, T, N, J, K, Hz, A/m); units are
converted only at the edges (configuration files, command line, output files).
"""

from __future__ import annotations

import functools

__all__ = ["__version__"]


@functools.cache
def _installed_version() -> str:
    # importlib.metadata costs ~40 ms to import, a tenth of a CLI start that never asks
    # for the version; it is imported when ``mrfm.__version__`` is first read (PEP 562)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mrfm")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'mrfm' has no attribute {name!r}")
