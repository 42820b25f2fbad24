"""Engineering-prefix formatting (:mod:`mrfm.unit_format`) against hand-worked values."""

from __future__ import annotations

import math

import pytest

from mrfm.unit_format import engineering_scale, format_quantity


@pytest.mark.parametrize("value,unit,want", [
    (1.2e-18, "N", "1.2 aN"),
    (-3.4567e-9, "m", "-3.457 nm"),  # 4 significant digits
    (999.9e-6, "T", "999.9 µT"),
    (1e3, "Hz", "1 kHz"),
    (2.5e15, "Hz", "2500 THz"),  # above tera: stays at T
    (5e-27, "N", "0.005 yN"),  # below yocto: stays at y
    (0.0, "N", "0 N"),
    (math.inf, "N", "inf N"),
])
def test_format_quantity(value, unit, want):
    assert format_quantity(value, unit) == want


@pytest.mark.parametrize("max_abs,factor,prefix", [
    (3.2e-9, 1e9, "n"), (1.0, 1.0, ""), (999.0, 1.0, ""), (1000.0, 1e-3, "k"),
    (4.7e-18, 1e18, "a"), (0.0, 1.0, ""), (math.nan, 1.0, ""),
])
def test_engineering_scale_puts_the_maximum_in_1_to_1000(max_abs, factor, prefix):
    got_factor, got_prefix = engineering_scale(max_abs)
    assert got_prefix == prefix and got_factor == pytest.approx(factor, rel=1e-15)
    if max_abs and math.isfinite(max_abs):
        assert 1.0 <= max_abs * got_factor < 1000.0
