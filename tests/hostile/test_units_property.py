"""Unit strings under attack: a number and a unit, never an evaluated expression.

Independent truth: issue 16 and API.md ("every bad input is a ConfigError naming the
field"). Property: any text gives a finite float or a UnitError within milliseconds;
valid quantities written in any of the accepted forms give the SI value pint computes
for the same unit (pint is the independent reference for the conversion factors).
"""

from __future__ import annotations

import functools
import math
import time

import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrfm.units import MAX_QUANTITY_CHARS, SI_UNITS, UnitError, parse_quantity

DIMENSIONS = sorted(SI_UNITS)
TOKENS = st.sampled_from(["1", "2.5", "e", "E", "-", "+", ".", " ", "*", "**", "^", "/", "(",
                          ")", "9", "m", "nm", "uN", "N", "T", "K", "Hz", "µ", "s", "'", ";",
                          "__", "import", "inf", "nan", "\x00", "\n", "9**9**9"])


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.lists(TOKENS, max_size=30).map("".join)),
       dimension=st.sampled_from(DIMENSIONS))
def test_any_text_is_a_finite_float_or_a_unit_error_quickly(text, dimension):
    t0 = time.perf_counter()
    try:
        value = parse_quantity(text, dimension, "f.k")
    except UnitError as exc:
        message = str(exc)
        assert message.startswith("f.k") and "\n" not in message
        assert len(message) < 400
    else:
        assert math.isfinite(value)
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("text", [
    "9**9**9 N/m", "9^9^9 N/m", "(9**9)**9 N/m", "1 m**(9**9)", "1 (m)", "1 m^999",
    "2**3 N/m", "1 N/m" + " " * 100, "1 " + "m*" * 40 + "m", "1e-300 N/m", "1e300 N/m",
    "__import__('os') N/m", "1 N/m; x", "nan N/m", "1e400 N/m",
])
def test_hostile_spring_constants_are_refused_at_once(text):
    t0 = time.perf_counter()
    with pytest.raises(UnitError, match=r"cantilever\.k"):
        parse_quantity(text, "spring_constant", "cantilever.k")
    assert time.perf_counter() - t0 < 0.1


def test_long_text_refused_naming_the_limit():
    with pytest.raises(UnitError, match=f"at most {MAX_QUANTITY_CHARS} characters"):
        parse_quantity("1" * 10_000 + " m", "length", "scan.height")


def test_absurd_magnitude_names_the_plausible_range():
    with pytest.raises(UnitError) as info:
        parse_quantity("1e-300 N/m", "spring_constant", "cantilever.k")
    message = str(info.value)
    assert "cantilever.k" in message and "1e-300 N/m" in message and "N/m" in message
    assert "plausible" in message


@functools.lru_cache(maxsize=1)
def _reference_registry() -> pint.UnitRegistry:
    """A registry of its own (not mrfm's), the independent reference."""
    return pint.UnitRegistry()


UNITS = [("nm", "length"), ("um", "length"), ("µm", "length"), ("uN/m", "spring_constant"),
         ("mN / m", "spring_constant"), ("kHz", "frequency"), ("mT", "magnetic_field"),
         ("T/m", "field_gradient"), ("m^-3", "number_density"), ("1/m^3", "number_density"),
         ("m**-3", "number_density"), ("mbar", "pressure"), ("mK", "temperature"),
         ("pm/s", "velocity"), ("aN", "force"), ("uW", "power"), ("N/V", None)]


@settings(max_examples=200, deadline=None)
@given(unit=st.sampled_from([u for u in UNITS if u[1]]),
       mantissa=st.floats(min_value=1.0, max_value=9.99), exponent=st.integers(-3, 3))
def test_valid_quantities_match_pint(unit, mantissa, exponent):
    ureg = _reference_registry()
    text_unit, dimension = unit
    number = float(f"{mantissa:.6g}e{exponent}")
    if text_unit.startswith("1/"):
        text, reference = f"{number:g}/{text_unit[2:]}", ureg.Quantity(number, ureg.m**-3)
    else:
        text = f"{number:g} {text_unit}"
        reference = number * ureg.Quantity(1, text_unit.replace(" ", "").replace("^", "**"))
    expected = reference.to(SI_UNITS[dimension] or "dimensionless").magnitude
    assert parse_quantity(text, dimension, "f") == pytest.approx(expected, rel=1e-12)
