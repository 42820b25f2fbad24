"""Fixtures of the interoperability tests: one virtual rig per module, driven by the stock
QCoDeS and PyMeasure drivers of the models it serves (imported once per module)."""

from __future__ import annotations

import pytest

from mrfm.rig.clock import SimClock
from tests.rig.rig_helpers import make_rig


@pytest.fixture(scope="module")
def rig():
    """Every model on a manual clock (time moves only when a test advances it)."""
    r = make_rig(clock=SimClock(manual=True))
    yield r
    r.stop()
