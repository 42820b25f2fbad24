"""Units as people write them: CGS field units, ångström, µm, pint Quantities of any registry."""

import pint
import pytest

from mrfm.units import UnitError, parse_in_unit, parse_quantity, parse_si

#: the SI value of the gauss for B: 1 G = 1e-4 T exactly
GAUSS = 1e-4


@pytest.mark.parametrize(("text", "dimension", "si"), [
    ("300 gauss", "magnetic_field", 300 * GAUSS),
    ("300 G", "magnetic_field", 300 * GAUSS),
    ("3 kG", "magnetic_field", 3e3 * GAUSS),
    ("2 kilogauss", "magnetic_field", 2e3 * GAUSS),
    ("5 mG", "magnetic_field", 5e-3 * GAUSS),
    ("10 Oe", "magnetic_field", 10 * GAUSS),
    ("3 kOe", "magnetic_field", 3e3 * GAUSS),
    ("40 G/um", "field_gradient", 40 * GAUSS / 1e-6),
    ("5 angstrom", "length", 5e-10),
    ("5 Å", "length", 5e-10),
    ("2 um", "length", 2e-6),
    ("2 µm", "length", 2e-6),
    ("2 μm", "length", 2e-6),
    ("300 mT", "magnetic_field", 0.3),
])
def test_units_as_written(text, dimension, si):
    assert parse_quantity(text, dimension, "f") == pytest.approx(si, rel=1e-12)


def test_gauss_of_wrong_dimension_is_refused():
    with pytest.raises(UnitError, match="f: .*expected length"):
        parse_quantity("3 kG", "length", "f")


def test_quantities_of_any_registry():
    other = pint.UnitRegistry()
    assert parse_quantity(other.Quantity(300, "gauss"), "magnetic_field") == \
        pytest.approx(0.03, rel=1e-12)
    assert parse_quantity(other.Quantity(40, "nm"), "length") == pytest.approx(4e-8, rel=1e-12)
    assert parse_quantity(other.Quantity(110, "uN/m"), "spring_constant") == \
        pytest.approx(1.1e-4, rel=1e-12)
    assert parse_in_unit(other.Quantity(3, "kG"), "mT") == pytest.approx(300.0, rel=1e-12)
    number, dims = parse_si(other.Quantity(5, "angstrom"))
    assert number == pytest.approx(5e-10, rel=1e-12) and dims == "[length]"


@pytest.mark.parametrize(("magnitude", "unit"), [
    (3, "m"), ([1.0, 2.0], "T"), (complex(1, 2), "T"), (float("nan"), "T"),
])
def test_bad_quantities_are_one_line_errors(magnitude, unit):
    # a registry of the caller's own, made in the test: four made at import cost every
    # worker of the suite about a second of its collection
    bad = pint.UnitRegistry().Quantity(magnitude, unit)
    with pytest.raises(UnitError, match=r"^field\.B0: "):
        parse_quantity(bad, "magnetic_field", "field.B0")


def test_config_override_with_a_gauss_quantity():
    from mrfm.config import load

    ureg = pint.UnitRegistry()
    exp = load("configs/cermit.toml", overrides={"field.B0": ureg.Quantity(300, "gauss")})
    assert exp.B0 == pytest.approx(0.03, rel=1e-12)
    exp = load("configs/cermit.toml", overrides={"field.B0": "3 kG"})
    assert exp.B0 == pytest.approx(0.3, rel=1e-12)
