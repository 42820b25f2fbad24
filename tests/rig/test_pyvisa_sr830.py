"""A plain pyvisa client (pyvisa-py, raw socket) talks to the virtual SR830.

No mrfm import here: the rig is started by the ``rig`` fixture of conftest.py,
and everything below is what any lab script would do. Formats from the SR830
manual ch. 5 (``*IDN?`` fields, ``SNAP?`` comma-separated, ``OUTP?`` numbered 1-4).
"""

from __future__ import annotations

import math

import pyvisa


def test_sr830_answers_in_its_own_format(rig):
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(rig.resources["lockin"])
    try:
        inst.read_termination = "\n"
        inst.write_termination = "\n"
        inst.timeout = 3000
        idn = inst.query("*IDN?").split(",")
        assert idn[0] == "Stanford_Research_Systems" and idn[1] == "SR830"
        assert idn[2].startswith("s/n") and idn[3].startswith("ver")

        inst.write("FREQ 1234.5")  # set commands are silent
        assert float(inst.query("FREQ?")) == 1234.5
        x = float(inst.query("OUTP? 1"))
        assert math.isfinite(x)
        snap = inst.query("SNAP? 1,2,9").split(",")
        assert len(snap) == 3
        assert float(snap[2]) == 1234.5
        assert all(math.isfinite(float(v)) for v in snap)
        # several queries on one line: one reply each, each with its own terminator
        inst.write("SENS?;OFLT?")
        assert inst.read() == "26"
        assert inst.read() == "8"
        # a malformed command sets the command-error bit and the lock-in keeps answering
        inst.write("FOO 3")
        assert int(inst.query("*ESR?")) & 32
        assert inst.query("*IDN?").startswith("Stanford_Research_Systems,SR830")
    finally:
        inst.close()
        rm.close()
