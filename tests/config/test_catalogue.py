"""The catalogue (models/*.toml): verification status and the numbers that can be checked.

Independent truth:
- Rugar et al., Nature 430, 329 (2004), Fig. 1 caption and the text after it (read in a
  third-party OCR copy, see models/cantilevers.toml): 2.96 GHz microwaves, resonance at
  B0 = 106 mT, tip ~140 nm from the surface, typical G ~ 2e5 T/m and x_pk ~ 20 nm giving a
  4 mT modulation, iOSCAR interruption every 64 cycles at f_sig ~ 43 Hz for setup 2;
- Marohn-Group/mrfmsim-marohn tests/test_experiment/test_cermitesr.py (units nN/m, mHz, nm, mT,
  nm^-3 from mrfmsim_marohn/units.yaml): k_c = 7.8e5, f_c = 4.975e6, Ni spheres of radius 3300
  and 1850 with mu0_Ms = 440, spin density 0.0241;
- CODATA constants from scipy.constants (not mrfm's own), lattice constant and molar masses
  written out here.
"""

from __future__ import annotations

import math
import re

import pytest
from scipy import constants as sc

from mrfm.config.catalogue import CATALOGUE_FILES, catalogue
from mrfm.units import parse_quantity

STATUS = re.compile(r"\b(verified|recalled|assumed|computed|consistent)\b", re.IGNORECASE)


def _all_entries():
    for section in CATALOGUE_FILES:
        for name, entry in catalogue(section).items():
            yield section, name, entry


@pytest.mark.parametrize(("section", "name", "entry"), list(_all_entries()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_entry_records_its_verification_status(section, name, entry):
    source = entry.get("source", "").strip()
    notes = entry.get("notes", "").strip()
    assert source, f"{section} {name}: no source"
    assert notes, f"{section} {name}: no notes (verification status)"
    assert STATUS.search(notes) or source.lower().startswith("assumed"), (
        f"{section} {name}: notes must say what is verified / recalled / assumed / computed"
    )


def test_ibm2004_f0_matches_the_iOSCAR_timing_of_setup_2():
    # Fig. 1B caption: setup 2 interrupts the microwaves every 64 cycles, f_sig ~ 43 Hz; the
    # shift changes sign at every interruption, so f_sig = f0 / (2 * 64).
    f0 = parse_quantity(catalogue("cantilever")["ibm-2004"]["f0"], "frequency")
    assert f0 / (2 * 64) == pytest.approx(43.0, abs=1.0)


def test_rugar2004_resonance_field_and_tip_numbers():
    gamma_e = sc.physical_constants["electron gyromag. ratio"][0]  # rad s^-1 T^-1
    b_res = 2 * math.pi * 2.96e9 / gamma_e
    assert b_res == pytest.approx(0.106, abs=0.5e-3)  # "B0 = 106 mT" (Fig. 1A caption)

    tip = catalogue("magnet")["smco-rugar-2004"]
    g = parse_quantity(tip["gradient_reported"], "field_gradient")
    assert g == pytest.approx(2e5)
    assert g * 20e-9 == pytest.approx(4e-3)  # "x_pk ~ 20 nm ... Delta B = 4 mT"
    assert parse_quantity(tip["spacing_reported"], "length") == pytest.approx(140e-9)


def test_values_taken_from_the_marohn_group_simulator_tests():
    lever = catalogue("cantilever")["cornell-cermit"]
    assert parse_quantity(lever["k"], "spring_constant") == pytest.approx(7.8e5 * 1e-9)  # nN/m
    assert parse_quantity(lever["f0"], "frequency") == pytest.approx(4.975e6 * 1e-3)  # mHz

    tips = catalogue("magnet")
    for name, radius_nm in (("ni-isaac-2016", 3300.0), ("ni-moore-2009", 1850.0)):
        assert parse_quantity(tips[name]["radius"], "length") == pytest.approx(radius_nm * 1e-9)
        assert parse_quantity(tips[name]["polarization"], "magnetic_field") == pytest.approx(0.44)

    tempo = catalogue("sample")["ps-tempo-40mM"]
    n = parse_quantity(tempo["density"], "number_density")
    assert n == pytest.approx(0.0241e27, rel=1e-3)  # 0.0241 nm^-3
    assert n == pytest.approx(0.040 * 1e3 * sc.N_A, rel=1e-3)  # 40 mM


@pytest.mark.parametrize(
    ("name", "expected", "rel"),
    [
        # fluorite: 8 F per cubic cell, a = 5.4626 A
        ("caf2-film", 8 / 5.4626e-10**3, 1e-3),
        # polystyrene (C8H8)n: 1.05 g/cm3, 104.15 g/mol, 8 H
        ("polystyrene-1h", 1.05e6 / 104.15 * 8 * sc.N_A, 1e-3),
        # -(CH2)-: 0.85 g/cm3, 14.027 g/mol, 2 H
        ("hydrocarbon-layer", 0.85e6 / 14.027 * 2 * sc.N_A, 2e-3),
    ],
)
def test_computed_densities(name, expected, rel):
    n = parse_quantity(catalogue("sample")[name]["density"], "number_density")
    assert n == pytest.approx(expected, rel=rel)


def test_caf2_density_agrees_with_the_mass_density():
    # 2 F per CaF2, 3.18 g/cm3, 78.075 g/mol: independent of the lattice constant to 0.1 %
    n = parse_quantity(catalogue("sample")["caf2-film"]["density"], "number_density")
    assert n == pytest.approx(2 * 3.18e6 / 78.075 * sc.N_A, rel=2e-3)
