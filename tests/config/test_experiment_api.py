"""Experiment's own methods beyond loading (mrfm.config.experiment)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mrfm.config import load
from mrfm.resources import data_dir


def test_under_polarization_replaces_only_the_protocols_polarization():
    """The demo (CAI, Curie) under statistical polarization: the solver's unit becomes N^2
    and a tip's variance is positive; every other field is the same object; asking for the
    polarization it has returns the experiment itself; anything else is refused."""
    from mrfm.solver import simulate

    exp = load(data_dir("configs") / "demo.toml")
    stat = exp.under_polarization("statistical")
    assert stat.protocol.polarization == "statistical"
    assert dataclasses.replace(stat.protocol, polarization="curie") == exp.protocol
    assert stat.magnet is exp.magnet and stat.sample is exp.sample
    assert stat.source_text == exp.source_text
    assert exp.under_polarization("curie") is exp
    one = dataclasses.replace(stat, scan=dataclasses.replace(
        stat.scan, x=np.array([0.0]), y=np.array([0.0])))
    res = simulate(one, method="direct", progress=False)
    assert res.unit == "N^2" and float(res.signal.ravel()[0]) > 0.0
    with pytest.raises(ValueError, match="polarization"):
        exp.under_polarization("thermal")
