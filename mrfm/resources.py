"""Locate the data folders shipped with mrfm (catalogue, presets, instrument files).

In a source checkout (or an editable install) they are the top-level folders
``models/``, ``configs/`` and ``instruments/``; in an installed wheel they are
packaged under ``mrfm/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``"models"``, ``"configs"`` or ``"instruments"``).

    Raises FileNotFoundError when neither the wheel copy nor the checkout copy exists.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mrfm data folder {name!r} not found (broken installation?)")
