"""Fixtures for the virtual-rig tests."""

from __future__ import annotations

import pytest

from mrfm.rig.clock import SimClock

from .rig_helpers import CLIENT_TIMEOUT, LineClient, make_rig


@pytest.fixture
def rig():
    """Every model, manual clock (time moves only when the test says)."""
    r = make_rig(clock=SimClock(manual=True))
    yield r
    r.stop()


@pytest.fixture
def client(rig):
    """Factory: client(name, term) connected to an instrument of ``rig``."""
    opened = []

    def connect(name: str, term: str = "\n", timeout: float = CLIENT_TIMEOUT) -> LineClient:
        c = LineClient(rig.resources[name], term, timeout)
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()
