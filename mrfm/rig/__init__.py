"""The virtual MRFM rig: physics-backed virtual instruments on 127.0.0.1.

``VirtualRig.from_file(path)`` starts one TCP server per instrument of a rig
file, all backed by one :class:`RigState` (fine and coarse stages, magnet,
cryostat, RF source, lock-in demodulators) and a :class:`SignalModel`;
``mrfm rig serve`` runs it from the command line.
"""

from __future__ import annotations

from mrfm.rig.clock import SimClock
from mrfm.rig.server import VirtualRig
from mrfm.rig.signal import SignalModel
from mrfm.rig.state import RigState
from mrfm.rig.tcp import InstrumentServer
from mrfm.rigdef.rigfile import FaultSpec, InstrumentSpec, RigFile, RigLimits, VirtualSettings, load

__all__ = [
    "FaultSpec", "InstrumentServer", "InstrumentSpec", "RigFile", "RigLimits", "RigState",
    "SignalModel", "SimClock", "VirtualRig", "VirtualSettings", "load",
]
