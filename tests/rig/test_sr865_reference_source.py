"""The virtual SR865 answers RSRC as the SR86x manual says (0 internal ... 3 chop)."""

from __future__ import annotations

from mrfm.drivers.srs.sr865 import SR865
from mrfm.rig.server import VirtualRig
from mrfm.rigdef import rigfile

RIG = 'name = "sr865 only"\n[instruments.lockin]\ndriver = "srs.sr865"\nport = 0\n'


def test_reference_source_round_trips_through_the_driver():
    with VirtualRig(rigfile.loads(RIG)) as rig, SR865(rig.resources["lockin"]) as lockin:
        assert lockin.reference_source == "internal"
        for source in ("external", "dual", "chop", "internal"):
            lockin.reference_source = source
            assert lockin.reference_source == source
