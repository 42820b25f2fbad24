"""Virtual instruments of the rig, one module per model, each speaking its real wire protocol."""

from __future__ import annotations

from mrfm.rig.instruments.ami430 import AMI430
from mrfm.rig.instruments.anc300 import ANC300
from mrfm.rig.instruments.base import VirtualInstrument
from mrfm.rig.instruments.ids3010 import IDS3010
from mrfm.rig.instruments.keysight33500b import Keysight33500B
from mrfm.rig.instruments.lakeshore336 import LakeShore336
from mrfm.rig.instruments.pi_e727 import PIE727
from mrfm.rig.instruments.sg384 import SG384
from mrfm.rig.instruments.sr830 import SR830
from mrfm.rig.instruments.sr865 import SR865

#: driver name (as in rig files) -> virtual instrument class
MODELS: dict[str, type[VirtualInstrument]] = {
    cls.driver: cls
    for cls in (SR830, SR865, SG384, Keysight33500B, ANC300, PIE727, LakeShore336, AMI430, IDS3010)
}

__all__ = [
    "AMI430", "ANC300", "IDS3010", "Keysight33500B", "LakeShore336", "MODELS", "PIE727", "SG384",
    "SR830", "SR865", "VirtualInstrument",
]
