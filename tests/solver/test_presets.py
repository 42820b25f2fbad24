"""Preset experiments reproduce the magnitudes in docs/published_numbers.md.

- rugar2004 (Rugar, Budakian, Mamin & Chui, Nature 430, 329 (2004)): single electron spin,
  OSCAR, statistical -> rms shift sqrt(var) peak 3.1 mHz +- 10 % (Lee, Moore & Marohn,
  PRB 85, 165447 (2012), Eq. 20 for the preset geometry); cf. the uniform-gradient
  2 f0 mu_B G/(pi k x_pk) = 3.7 mHz and the paper's "about 1 part per million" of 5.5 kHz.
- degen2009 (Degen et al., PNAS 106, 1313 (2009)): 1H in TMV, CAI statistical, max over x
  at y = 0 of sigma_F^2 = 492 aN^2 +- 5 % near x = -32.5 nm.
- mamin2007 (Mamin et al., Nature Nanotech. 2, 301 (2007)): 19F in CaF2, CAI statistical,
  sigma_F^2 = 2.92e3 aN^2 +- 5 % at x = y = 0.
- Why the CAI numbers changed (issue 15): every spin of the slice is now weighted by the
  lock-in fundamental of its inversion waveform, (4/pi) sqrt(1 - s^2), and the statistical
  variance by its square, whose slice average is 32/(3 pi^2) = 1.081: degen2009 454.4 ->
  491.6 aN^2 (+8.2 %), mamin2007 2.699e3 -> 2.916e3 aN^2 (+8.0 %) (both before: the hard,
  unit-weight slice; 462 and 2.66e3 were its numbers +-5 %). The Landau-Zener efficiency
  leaves statistical variances unchanged (mamin2007 A = 1.33: it shortens the correlation
  time instead). The old checks compared N^2 values ~1e-33 with ``pytest.approx(rel=...)``,
  whose default absolute tolerance 1e-12 made them pass whatever the value; they now compare
  in aN^2 with abs=0.
- electron-spins: CAI Curie point spins, now with the fundamental weight (A = 174: ideal
  inversion to 1e-100): peak 1.696 -> 2.080 aN (+23 %; 4/pi = 1.27 at the slice centre).
- cermit (Moore et al., PNAS 106, 22251 (2009) parameters after Isaac et al.): saturation
  CERMIT at x = 0: delta_f = -121.6 mHz +- 5 % (negative: the spring softens). The value is
  the hard-slice model's own (exact |B|), not a published number; the earlier -127 mHz was
  stated nowhere in the sources and the code gives -121.6 (issue 15; mrfmsim's Bloch model
  of the same geometry gives about -80 mHz).
- electron-spins: four electron spins, CAI Curie: peak |F| of order 1-2 aN.
Scan grids are reduced with overrides to keep the tests short.
"""

from __future__ import annotations

import numpy as np
import pytest

from mrfm.config import load
from mrfm.resources import data_dir
from mrfm.solver import simulate

CONFIGS = data_dir("configs")


def _run(name, overrides=None):
    return simulate(load(CONFIGS / f"{name}.toml", overrides=overrides), progress=False)


def test_rugar2004_single_spin_oscar_shift():
    res = _run("rugar2004", {"scan.y": "0 nm", "scan.x": ["-95 nm", "-80 nm", 16]})
    assert res.unit == "Hz^2"
    assert np.sqrt(res.peak) == pytest.approx(3.1e-3, rel=0.10)


def test_degen2009_statistical_variance():
    res = _run("degen2009", {"scan.y": "0 nm", "scan.x": ["-40 nm", "-25 nm", 16]})
    assert res.unit == "N^2"
    assert res.peak / 1e-36 == pytest.approx(492, rel=0.05, abs=0)
    assert res.coords["x"][np.argmax(res.signal[:, 0, 0])] == pytest.approx(-32.5e-9, abs=3e-9)


def test_mamin2007_variance_at_centre():
    res = _run("mamin2007", {"scan.y": "0 nm", "scan.x": "0 nm"})
    assert res.signal[0, 0, 0] / 1e-36 == pytest.approx(2.92e3, rel=0.05, abs=0)


def test_cermit_saturation_shift():
    res = _run("cermit", {"scan.x": "0 nm"})
    assert res.unit == "Hz"
    assert res.signal[0, 0, 0] == pytest.approx(-0.1216, rel=0.05)


def test_electron_spins_force_per_spin():
    res = _run("electron-spins")
    assert res.unit == "N"
    assert 0.8e-18 < res.peak < 2.5e-18
