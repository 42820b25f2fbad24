"""Inputs shared by the hostile-input tests (tests/hostile, tests/cli/test_hostile_cli.py):
a small valid experiment to attack with overrides and options, and paths that are not
regular files."""

from __future__ import annotations

import os
from pathlib import Path

_CANTILEVER = """[cantilever]
k = "110 uN/m"
f0 = "5 kHz"
Q = 2e4
"""

_REST = """[magnet]
shape = "sphere"
radius = "50 nm"
polarization = "1.8 T"
[field]
B0 = "200 mT"
[rf]
frequency = "11 GHz"
B1 = "0.2 mT"
fm_depth = "4 mT"
[sample]
species = "electron"
shape = "slab"
size = ["40 nm", "40 nm"]
thickness = "12 nm"
density = "1e25 m^-3"
voxel = "4 nm"
[protocol]
name = "CAI"
[scan]
x = ["-20 nm", "20 nm", 6]
y = ["-20 nm", "20 nm", 6]
height = "20 nm"
"""


def small_experiment(*, name: str | None = None, temperature: str | None = None) -> str:
    """TOML text of a small CAI experiment: electrons in a 40 nm x 40 nm x 12 nm slab
    (4 nm voxels) under a 50 nm sphere magnet, 6 x 6 tip positions.

    ``name`` adds a ``name`` key, ``temperature`` a ``[stage]`` section with it.
    """
    head = f'\nname = "{name}"\n' if name is not None else "\n"
    stage = f'[stage]\ntemperature = "{temperature}"\n' if temperature is not None else ""
    return head + _CANTILEVER + stage + _REST


def special_file(folder: Path, special: str, name: str) -> Path:
    """A path that is not a regular file.

    ``"fifo"``: a named pipe ``folder/name`` (created); ``"dir"``: ``folder`` itself;
    anything else is taken as a path (``"/dev/zero"``: a character device).
    """
    if special == "fifo":
        target = folder / name
        os.mkfifo(target)
        return target
    if special == "dir":
        return folder
    return Path(special)
