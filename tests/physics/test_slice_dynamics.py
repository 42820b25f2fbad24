"""``mrfm info``'s spin dynamics and damping over the presets (mrfm.info).

Truth
-----
* mamin2007 (CAI, 19F, B1 = 1 mT, fm_depth = 10 mT, f0 = 3 kHz): at the slice centre
  A = gamma B1^2 / (2 pi f0 fm_depth) = 1.33592 (closed form); B1_eff is reduced only by the
  small tilt of the total field (3 T + tip field), so the worst A lies within 0.5 % below.
* rugar2004 (OSCAR, single electron): the worst A is recomputed here from the magnet's field
  at the point spin for every scan position (independent loop over tips).
* Larmor frequency at the slice = f_rf for the resonant species; polarization there is the
  Brillouin value at B_res = 2 pi f_rf / |gamma|.
"""

import json
import math

import numpy as np
import pytest

from mrfm.config import load
from mrfm.info import adiabaticity_warning, slice_spin_dynamics, summarize
from mrfm.physics import SpinSpecies


def test_mamin2007_adiabaticity_and_warning():
    exp = load("configs/mamin2007.toml")
    sd = slice_spin_dynamics(exp)
    a0 = 25.18148e7 * 1e-6 / (2 * math.pi * 3e3 * 1e-2)
    assert a0 == pytest.approx(1.33592, rel=1e-5)
    assert a0 * 0.995 < sd.adiabaticity <= a0 * (1 + 1e-12)
    assert sd.inversion_efficiency == pytest.approx(1 - math.exp(-math.pi * sd.adiabaticity / 2),
                                                    rel=1e-14)
    assert sd.inversion_efficiency == pytest.approx(0.877, abs=2e-3)
    assert "A = 1.33" in adiabaticity_warning(exp)
    # B1 doubled: A x 4 > 3, no warning
    assert adiabaticity_warning(load("configs/mamin2007.toml",
                                     overrides={"rf.B1": "2 mT"})) is None


@pytest.mark.parametrize("high_field", [False, True])
def test_rugar2004_worst_adiabaticity_by_direct_loop(high_field):
    """Exact field, and the solver's high-field approximation (protocol.high_field: |B| =
    B0 + B_z, d|B|/dx = dB_z/dx, B1_eff = B1, as in mrfm.solver.kernels), which gives
    A = 141.3 here against 163.0 exact (the tip's field is comparable with B0); until
    5 December 2026 info ignored the flag and reported 163.0 for both."""
    exp = load("configs/rugar2004.toml", overrides={"protocol.high_field": high_field})
    assert exp.protocol.high_field is high_field
    sd = slice_spin_dynamics(exp)
    gamma = abs(SpinSpecies.from_name("electron").gamma)
    b_res = 2 * math.pi * 2.96e9 / gamma
    spin = exp.sample.points["electron"][0]
    z = float(exp.scan.height[0]) + exp.magnet.half_height
    # every scan position, the fields in one batch; the rest written out spin by spin
    gx, gy = np.meshgrid(exp.scan.x, exp.scan.y, indexing="ij")
    rel = spin - np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)], axis=-1)
    fields = exp.magnet.field(rel) + np.array([0, 0, 0.03])
    grads = exp.magnet.gradient(rel)
    best = math.inf
    for b, grad in zip(fields, grads, strict=True):
        n = np.array([0.0, 0.0, 1.0]) if high_field else b / np.linalg.norm(b)
        g = n @ grad[:, 0]  # d|B|/dx
        depth = abs(g) * 16e-9
        s = ((b[2] if high_field else np.linalg.norm(b)) - b_res) / depth
        if abs(s) < 1:
            b1e = 0.3e-3 * math.sqrt(1 - n[0] ** 2)
            a = gamma * b1e**2 / (2 * math.pi * 5.5e3 * depth * math.sqrt(1 - s * s))
            best = min(best, a)
    assert best < math.inf  # some position puts the spin in the slice
    assert sd.adiabaticity == pytest.approx(best, rel=1e-9)
    if high_field:
        assert sd.b1_eff == 0.3e-3
        assert sd.adiabaticity == pytest.approx(141.33, rel=1e-4)
    else:
        assert sd.b1_eff < 0.3e-3  # the tip field (comparable with B0) tilts the axis
        assert sd.adiabaticity == pytest.approx(162.95, rel=1e-4)
    assert adiabaticity_warning(exp) is None


def test_info_json_keys_and_slice_values():
    exp = load("configs/mamin2007.toml")
    d = json.loads(json.dumps(summarize(exp).as_json()))
    for key in ("Q_total", "Q_intrinsic", "Q_gas", "adiabaticity", "inversion_efficiency",
                "force_noise_N_per_rtHz"):
        assert key in d
    assert 1 / d["Q_total"] == pytest.approx(1 / d["Q_intrinsic"] + 1 / d["Q_gas"], rel=1e-12)
    sp = d["species"][0]
    assert sp["larmor_frequency_slice_Hz"] == pytest.approx(127.5e6, rel=1e-12)
    f19 = SpinSpecies.from_name("19F")
    b_res = 2 * math.pi * 127.5e6 / f19.gamma
    assert sp["polarization_slice"] == pytest.approx(f19.polarization(b_res, 0.3), rel=1e-12)
    assert "Q_noncontact" not in d and "Q_tip" not in d


def test_force_gradient_has_no_adiabaticity():
    exp = load("configs/mamin2007.toml", overrides={"protocol.name": "force-gradient"})
    assert slice_spin_dynamics(exp) is None
    d = summarize(exp).as_json()
    assert d["adiabaticity"] is None
