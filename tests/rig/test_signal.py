"""The virtual rig's signal model (the solver behind the lock-in) against independent truths.

Truths used: the dipole field B = mu0/(4 pi) (3 r (m.r)/r^5 - m/r^3) (Jackson Eq. 5.56;
a uniformly magnetized sphere's field outside it) and its gradient by central finite
differences; the CAI force on one spin in the slice, F = mu P(|B|) d|B|/dx (PHYSICS.md,
exact form), with P = tanh(hbar gamma |B| / (2 kB T)) for spin 1/2; and symmetry: a
laterally uniform film gives no x force, a pad's edges do, antisymmetrically.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import constants as sc

from mrfm.config import load, loads
from mrfm.physics import SpinSpecies
from mrfm.rig.gridmap import GridMap
from mrfm.rig.signal import SignalModel

PAD = Path(__file__).with_name("pad.toml")


def dipole_B(m: float, r: np.ndarray) -> np.ndarray:
    rn = np.linalg.norm(r)
    mv = np.array([0.0, 0.0, m])
    return sc.mu_0 / (4 * math.pi) * (3 * r * (mv @ r) / rn**5 - mv / rn**3)


ONE_SPIN = """
name = "one electron spin under a 50 nm sphere"
[cantilever]
k = "50 uN/m"
f0 = "3 kHz"
Q = 3e4
[stage]
temperature = "{T} K"
[magnet]
shape = "sphere"
radius = "{radius} m"
polarization = "{pol} T"
[field]
B0 = "0.2 T"
[rf]
frequency = "{f_rf} Hz"
fm_depth = "1 mT"
[sample]
species = "electron"
shape = "points"
positions = [[{x}, {y}, {z}]]
[protocol]
name = "CAI"
polarization = "curie"
[scan]
x = "0 nm"
y = "0 nm"
height = "30 nm"
"""


def _one_spin_experiment(spin_pos, f_rf, *, radius=50e-9, pol=1.8, T=4.2):
    moment = pol * 4 / 3 * math.pi * radius**3 / sc.mu_0
    x, y, z = (float(v) for v in spin_pos)
    text = ONE_SPIN.format(T=T, radius=radius, pol=pol, f_rf=f_rf, x=x, y=y, z=z)
    return loads(text), moment


def test_single_spin_force_is_mu_P_dBdx():
    spin = np.array([-35e-9, 0.0, -10e-9])
    radius = 50e-9
    m = 1.8 * 4 / 3 * math.pi * radius**3 / sc.mu_0
    tip = (0.0, 0.0, 30e-9)
    centre = np.array([tip[0], tip[1], tip[2] + radius])
    B0 = 0.2
    rel = spin - centre
    Btot = dipole_B(m, rel) + np.array([0, 0, B0])
    bmag = np.linalg.norm(Btot)
    h = 1e-13
    dx = np.array([h, 0, 0])
    dBdx = (np.linalg.norm(dipole_B(m, rel + dx) + [0, 0, B0])
            - np.linalg.norm(dipole_B(m, rel - dx) + [0, 0, B0])) / (2 * h)
    gamma = abs(SpinSpecies.from_name("electron").gamma)
    mu = gamma * sc.hbar / 2
    P = math.tanh(sc.hbar * gamma * bmag / (2 * sc.k * 4.2))
    expected = mu * P * dBdx
    f_rf = gamma * bmag / (2 * math.pi)  # slice centred on the spin
    exp, moment = _one_spin_experiment(spin, f_rf, radius=radius)
    assert moment == pytest.approx(m, rel=1e-12)
    model = SignalModel(exp, use_map=False)
    got = model.signal_at(*tip, B0, f_rf, 1e-3)
    assert got == pytest.approx(expected, rel=1e-6)
    assert abs(expected) > 1e-19  # an attonewton-scale force, not a trivial zero
    # the slice moved 5 mT away from the spin: no signal
    off = gamma * (bmag + 5e-3) / (2 * math.pi)
    assert model.signal_at(*tip, B0, off, 1e-3) == 0.0
    assert model.signal_at(*tip, B0, f_rf, 0.0) == 0.0


def test_uniform_film_gives_no_force_but_a_pad_edge_does():
    """The pad (tests/rig/pad.toml) and a film 1.2 um wide (on a 10 nm grid that the tip's
    100 nm steps map onto itself; the resonant slice reaches ~250 nm from the axis)."""
    gamma = abs(SpinSpecies.from_name("1H").gamma)
    B0, f_rf = 2.6, gamma * 2.7 / (2 * math.pi)
    pad_exp = load(PAD)
    wide = SignalModel(pad_exp.with_overrides(
        {"sample.size": ["1.2 um", "1.2 um"], "sample.voxel": "10 nm"}), use_map=False)
    pad = SignalModel(pad_exp, use_map=False)
    edge = pad.signal_at(100e-9, 0.0, 50e-9, B0, f_rf, 4e-3)
    assert abs(edge) > 1e-17
    for x in (-100e-9, 0.0, 100e-9):
        assert abs(wide.signal_at(x, 0.0, 50e-9, B0, f_rf, 4e-3)) < 1e-6 * abs(edge)
    # mirror symmetry of the pad about x = 0: F(-x) = -F(x)
    assert pad.signal_at(-100e-9, 0.0, 50e-9, B0, f_rf, 4e-3) == pytest.approx(-edge, rel=1e-9)


@pytest.mark.slow
def test_point_spins_map_nodes_only_and_the_one_point_solver_between():
    """Point spins: the map answers on its nodes only; between them the one-point solver."""
    from mrfm.resources import data_dir

    exp = load(data_dir("configs") / "electron-spins.toml")
    solver = SignalModel(exp, use_map=False)  # the one-point solver at every position
    args = (exp.B0, exp.rf.frequency, exp.rf.fm_depth)
    # the thin slice passes the spin at (-60, -50, -5) nm for the tip near x = -101 nm
    refs = {}
    for x in (-101.25e-9, -100.75e-9):
        refs[x] = solver.signal_at(x, -50e-9, 30e-9, *args)
        assert abs(refs[x]) > 1e-18
    # the same model with its signal map: the point spins' thin shells are not resolved by
    # the 4.8 nm grid, so between nodes the one-point solver still answers, exactly
    mapped = SignalModel(exp)
    assert mapped.signal_at(-101.25e-9, -50e-9, 30e-9, *args) == pytest.approx(
        refs[-101.25e-9], rel=1e-9, abs=0)
    assert mapped.grid_map is not None and not mapped.map_interpolates
    assert solver.unit == "N"


# ------------------------------------------------------------------ signal map
def test_grid_map_reproduces_cubics_exactly_and_is_linear_between_planes():
    """An interpolating cubic spline reproduces any polynomial of degree <= 3 per axis."""
    x = np.linspace(-40e-9, 40e-9, 9)
    y = np.linspace(-30e-9, 30e-9, 7)
    h = np.array([20e-9, 30e-9])

    def f(px, py, ph):
        u, v = px / 40e-9, py / 30e-9
        return 1e-16 * (1 + u - 2 * u**2 + 0.5 * u**3) * (2 - v + v**3) * (1 + ph / 10e-9)

    X, Y, H = np.meshgrid(x, y, h, indexing="ij")
    m = GridMap(x, y, h, f(X, Y, H))
    rng = np.random.default_rng(5)
    for _ in range(20):
        px, py = rng.uniform(-40e-9, 40e-9), rng.uniform(-30e-9, 30e-9)
        ph = rng.uniform(20e-9, 30e-9)
        assert m.value(px, py, ph) == pytest.approx(f(px, py, ph), rel=1e-10, abs=0)
        assert m.value(px, py, ph, nodes_only=True) is None
    assert m.value(x[3], y[2], h[1]) == f(x[3], y[2], h[1])  # a node: its value, unchanged
    assert m.value(x[3] + 5e-13, y[2], h[1], nodes_only=True) == f(x[3], y[2], h[1])
    assert m.value(41e-9, 0.0, 25e-9) is None  # outside the grid
    assert m.value(0.0, 0.0, 31e-9) is None
    single = GridMap(x, y, h[:1], f(X, Y, H)[:, :, :1])
    assert single.value(1e-9, 2e-9, h[0]) == pytest.approx(f(1e-9, 2e-9, h[0]), rel=1e-10)
    assert single.value(1e-9, 2e-9, h[0] + 1e-10) is None  # one plane: that height only


@pytest.fixture(scope="module")
def demo_models():
    from mrfm.resources import data_dir

    exp = load(data_dir("configs") / "demo.toml")
    mapped = SignalModel(exp)
    assert mapped.prepare_map() and mapped.map_interpolates, mapped.map_error
    return exp, mapped, SignalModel(exp, use_map=False)


@pytest.mark.slow
def test_demo_signal_map_against_the_one_point_solver(demo_models):
    """Nodes: the FFT map equals the direct one-point solver (two algorithms, 1e-9 of the
    peak); between nodes: cubic interpolation within 3 % of the peak (GridMap docstring)."""
    exp, mapped, point = demo_models
    args = (exp.B0, exp.rf.frequency, exp.rf.fm_depth)
    h = float(exp.scan.height[0])
    peak = float(np.max(np.abs(mapped.grid_map.values)))
    assert peak > 1e-16  # a few hundred aN
    rng = np.random.default_rng(11)
    x, y = exp.scan.x, exp.scan.y
    for i, j in rng.integers(0, 32, size=(8, 2)):
        ref = point.signal_at(x[i], y[j], h, *args)
        assert mapped.signal_at(x[i], y[j], h, *args) == pytest.approx(ref, abs=1e-9 * peak)
    errors, refs = [], []
    for px, py in rng.uniform(-60e-9, 60e-9, size=(30, 2)):
        ref = point.signal_at(px, py, h, *args)
        errors.append(mapped.signal_at(px, py, h, *args) - ref)
        refs.append(ref)
    assert np.max(np.abs(refs)) > 0.3 * peak  # the test visits the lobes
    assert np.max(np.abs(errors)) < 0.03 * peak
    # another field: not the experiment's setting, so the one-point solver answers
    assert not mapped.is_experiment_setting(exp.B0 + 1e-3, *args[1:])
    off = mapped.signal_at(x[5], y[16], h, exp.B0 + 1e-3, *args[1:])
    assert off == point.signal_at(x[5], y[16], h, exp.B0 + 1e-3, *args[1:])


@pytest.mark.slow
def test_no_resonance_warning_escapes_the_one_point_solver(demo_models):
    """pytest turns warnings into errors: none may leave signal_at, from any thread.

    Far from the sample the conservative test skips the solver; where the slice passes
    within a voxel's |B| span of the rod without touching it, the solver's warning
    (an exception here) is caught as the legitimate zero it reports.
    """
    import threading
    import warnings

    from mrfm.solver import ResonanceOutsideSampleWarning

    exp, _, point = demo_models
    args = (exp.B0, exp.rf.frequency, exp.rf.fm_depth)
    assert not point.may_resonate(0.0, 0.0, 1e-6, *args)
    assert point.signal_at(0.0, 0.0, 1e-6, *args) == 0.0
    assert point.may_resonate(30e-9, 0.0, 20e-9, *args)
    # conservative: wherever the test says "no spin can resonate", the solver gives 0
    heights = np.linspace(20e-9, 200e-9, 37)
    said_no = 0
    for hh in heights:
        for b0 in (exp.B0, exp.B0 + 0.02):
            if point.may_resonate(30e-9, 0.0, hh, b0, *args[1:]):
                continue
            said_no += 1
            with warnings.catch_warnings():  # main thread: safe here
                warnings.simplefilter("ignore", ResonanceOutsideSampleWarning)
                assert point._simulate(
                    _one_point(exp, 30e-9, 0.0, hh, b0), method="direct", progress=False
                ).signal.ravel()[0] == 0.0
    assert said_no > 10
    # the band where the test says "maybe" but the slice touches no spin: the solver warns
    band = []
    for hh in heights:
        if point.may_resonate(31e-9, 1e-9, hh, *args):
            with warnings.catch_warnings(record=True) as caught:  # main thread: safe here
                warnings.simplefilter("always", ResonanceOutsideSampleWarning)
                point._simulate(_one_point(exp, 31e-9, 1e-9, hh, exp.B0), method="direct",
                                progress=False)
            if caught:
                band.append(hh)
    assert band  # so the threads below meet the warning (raised as an error) too
    # every height, from four threads at once: no exception, zeros where nothing resonates
    failures = []

    def worker(offset):
        try:
            for hh in heights[offset::4]:
                point.signal_at(31e-9, 1e-9, hh, *args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures


def _one_point(exp, x, y, h, b0):
    import dataclasses

    scan = dataclasses.replace(exp.scan, x=np.array([x]), y=np.array([y]), height=np.array([h]))
    return dataclasses.replace(exp, scan=scan, B0=b0)
