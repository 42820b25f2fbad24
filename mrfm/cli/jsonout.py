"""Strict JSON for ``--json`` output: non-finite numbers become ``null`` (never bare NaN)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain and NaN/inf replaced by None."""
    import numpy as np  # here, not at the top: ``mrfm --help`` loads this module

    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def dumps(value: Any) -> str:
    """Strict JSON text of ``value`` (see :func:`clean`)."""
    return json.dumps(clean(value), allow_nan=False, default=str)


def print_json(value: Any) -> None:
    """Print ``value`` as one line of strict JSON on stdout."""
    print(dumps(value), file=sys.stdout, flush=True)


__all__ = ["clean", "dumps", "print_json"]
