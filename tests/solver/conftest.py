"""Solver test set-up: fall back to a dipole magnet kernel while mrfm.physics.magnet_kernels
is being written (numba's cache then goes to a temporary folder so nothing compiled against
the stand-in is reused later)."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile

try:
    importlib.import_module("mrfm.physics.magnet_kernels")
    HAVE_REAL_KERNELS = True
except ImportError:
    HAVE_REAL_KERNELS = False
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="mrfm-solver-numba-")
    import numba.core.config as _cfg

    _cfg.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    sys.path.insert(0, os.path.dirname(__file__))
    import _dipole

    sys.modules["mrfm.physics.magnet_kernels"] = _dipole
