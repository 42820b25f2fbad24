"""Rig definitions: rig files, safety limits and the instrument registry.

Neutral ground shared by the real-rig scan path (:mod:`mrfm.scan`, :mod:`mrfm.drivers`)
and the virtual rig (:mod:`mrfm.rig`): importing it loads neither the virtual rig nor
the solver, the time domain or imaging.
"""

from __future__ import annotations

from mrfm.rigdef.registry import REGISTRY, DriverEntry, entry
from mrfm.rigdef.rigfile import (
    FaultSpec,
    InstrumentSpec,
    RigFile,
    RigLimits,
    VirtualSettings,
    load,
    loads,
)

__all__ = [
    "REGISTRY", "DriverEntry", "FaultSpec", "InstrumentSpec", "RigFile", "RigLimits",
    "VirtualSettings", "entry", "load", "loads",
]
