"""The CAI slice's inversion waveform at one tip position, from the solver, for the chain.

Under CAI a spin at offset s = (|B| - B_res)/fm_depth (|s| < 1) has the moment
sign(cos(phase) + s) (:func:`mrfm.timedomain.spins.cai_inversion_waveform`), whose cosine
Fourier coefficients are c_0 = (2 alpha - pi)/pi and c_n = 4 sin(n alpha)/(n pi),
alpha = arccos(-s) (:func:`mrfm.timedomain.spins.cai_harmonics`). The slice's force
``sum_i F_i sign(cos(phase) + s_i)`` (F_i each spin's force with unit slice weight) then
has the harmonics H_n = sum_i F_i c_n(s_i); the chain (:mod:`.waveform`) takes them
relative to the fundamental, w_n = H_n / H_1 (H_1 is the solver's CAI force).

- **Point spins** (:func:`cai_waveform_from_solver`): each spin's s_i from the magnet's
  field and its F_i from a one-spin solver run with the hard slice (its polarization,
  force direction and Landau-Zener factor included): exact.
- **Voxel densities**: the slice's offset distribution through its cumulative
  C(sigma) = the hard-slice signal of the spins with -1 < s < sigma, each a solver run
  with the slice narrowed to that range (ideal passages: a narrowed slice would change
  each spin's adiabaticity). Integrating by parts with alpha = arccos(-sigma) (c_n
  vanishes at s = +-1 for n >= 1),

      H_n = -int_0^pi C(-cos alpha) dc_n/dalpha dalpha,   dc_n/dalpha = (4/pi) cos(n alpha),
      H_0 = C(1) - (2/pi) int_0^pi C(-cos alpha) dalpha,

  by the midpoint rule on :data:`CDF_NODES` angles. Statistical polarization (each spin's
  variance v_i, independent signs) takes the part of each harmonic that moves with the
  fundamental, w_n = sum_i v_i c_1 c_n / sum_i v_i c_1^2, the same integral with the
  weight c_1 c_n. With Landau-Zener passages the Curie weights are those of ideal
  passages (the lock retention varies slowly over the slice when A is large; the
  fundamental itself is the solver's, with its Landau-Zener factor).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from mrfm.timedomain.spins import cai_harmonics

if TYPE_CHECKING:
    from mrfm.config import Experiment

#: most point spins whose waveform is resolved spin by spin (one solver run each)
WAVEFORM_SPINS = 64
#: midpoint angles of the offset distribution for voxel samples (one solver run each)
CDF_NODES = 32


def cai_slice_waveform(offsets: np.ndarray, amplitudes: np.ndarray, n_max: int, *,
                       statistical: bool = False) -> tuple[float, ...]:
    """Cosine coefficients (w_0, 1, w_2, ..., w_n_max) of a slice's CAI waveform relative to
    its fundamental (the chain's ``cai_waveform``).

    Curie (``amplitudes`` the spins' unit-weight forces F_i, N):
    ``w_n = sum_i F_i c_n(s_i) / sum_i F_i c_1(s_i)``. Statistical (``amplitudes`` the spins'
    force variances, N^2): ``w_n = sum_i v_i c_1 c_n / sum_i v_i c_1^2``. () when the
    fundamental is 0.
    """
    s = np.asarray(offsets, dtype=float).reshape(-1)
    a = np.asarray(amplitudes, dtype=float).reshape(-1)
    c1 = np.asarray(cai_harmonics(s, 1), dtype=float).reshape(-1)
    weight = a * c1 if statistical else a
    norm = float(np.sum(weight * c1))
    if s.size == 0 or norm == 0.0:
        return ()
    return tuple(1.0 if n == 1 else
                 float(np.sum(weight * np.asarray(cai_harmonics(s, n)).reshape(-1)) / norm)
                 for n in range(int(n_max) + 1))


def cai_waveform_from_solver(exp: Experiment, tip: tuple[float, float, float],
                             n_max: int) -> tuple[float, ...]:
    """The CAI slice's waveform at ``tip`` (x, y, height; m): (w_0, 1, w_2, ..., w_n_max).

    Point spins only (at most :data:`WAVEFORM_SPINS`): spin by spin, exact. Voxel
    densities of one species: from the offset distribution (:data:`CDF_NODES` + 1 solver
    runs). () for other protocols, several species or no spin in the slice (the chain then
    drives the pure fundamental).
    """
    smp = exp.sample
    if exp.protocol.name != "CAI":
        return ()
    statistical = exp.protocol.polarization == "statistical"
    if smp.densities:
        names = set(smp.densities) | {k for k, v in smp.points.items() if np.size(v)}
        if len(names) != 1:
            return ()
        h = offset_distribution_harmonics(exp, tip, n_max)
        return () if h[1] == 0.0 else tuple(1.0 if n == 1 else float(v / h[1])
                                            for n, v in enumerate(h))
    spins_at = [(name, p) for name, pts in smp.points.items()
                for p in np.asarray(pts, dtype=float).reshape(-1, 3)]
    if not spins_at or len(spins_at) > WAVEFORM_SPINS:
        return ()
    return _spin_by_spin(exp, tip, spins_at, n_max, statistical)


def _one_point(exp: Experiment, tip: tuple[float, float, float], **protocol: str) -> Experiment:
    scan = dataclasses.replace(exp.scan, x=np.array([float(tip[0])]),
                               y=np.array([float(tip[1])]), height=np.array([float(tip[2])]))
    return dataclasses.replace(exp, scan=scan,
                               protocol=dataclasses.replace(exp.protocol, **protocol))


def _signal(exp: Experiment) -> float:
    """The one-point solver signal; 0 without the warning where a narrowed slice reaches no
    spin (an expected case here; called from ``mrfm timeseries``' main thread, not from the
    virtual rig's server threads, so the process-wide warning filter may be swapped)."""
    from mrfm.solver import ResonanceOutsideSampleWarning, simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResonanceOutsideSampleWarning)
        res = simulate(exp, method="direct", progress=False)
    return float(np.asarray(res.signal, dtype=float).ravel()[0])


def _spin_by_spin(exp: Experiment, tip: tuple[float, float, float],
                  spins_at: list[tuple[str, np.ndarray]], n_max: int,
                  statistical: bool) -> tuple[float, ...]:
    from mrfm.physics import SpinSpecies
    from mrfm.physics import spin_dynamics as sd

    centre = np.array([tip[0], tip[1], tip[2] + float(exp.magnet.half_height)])
    hard = _one_point(exp, tip, slice_profile="hard")
    offsets, amplitudes = [], []
    for name, p in spins_at:
        field = np.asarray(exp.magnet.field((p - centre)[None, :]), dtype=float)[0]
        field[2] += float(exp.B0)
        b = float(sd.field_magnitude(field, bool(exp.protocol.high_field)))
        b_res = SpinSpecies.from_name(name).resonance_field(float(exp.rf.frequency))
        s = (b - b_res) / float(exp.rf.fm_depth)
        if not abs(s) < 1.0:
            continue  # outside the slice: never inverted, no force at any harmonic
        one = dataclasses.replace(hard, sample=dataclasses.replace(exp.sample,
                                                                   points={name: p[None, :]}))
        offsets.append(s)
        amplitudes.append(_signal(one))
    return cai_slice_waveform(np.array(offsets), np.array(amplitudes), n_max,
                              statistical=statistical)


def offset_distribution_harmonics(exp: Experiment, tip: tuple[float, float, float],
                                  n_max: int) -> np.ndarray:
    """H_0 .. H_n_max (N; statistical: sum v_i c_1 c_n, N^2) of a one-species sample from
    its offset distribution (see the module notes), ideal passages; shape (n_max + 1,)."""
    from mrfm.physics import SpinSpecies
    from mrfm.physics.spins import larmor_frequency, resonance_field

    statistical = exp.protocol.polarization == "statistical"

    name = next(iter(set(exp.sample.densities) | set(exp.sample.points)))
    gamma = abs(SpinSpecies.from_name(name).gamma)
    base = _one_point(exp, tip, slice_profile="hard", adiabatic="ideal")
    depth = float(exp.rf.fm_depth)
    b_res = resonance_field(float(exp.rf.frequency), gamma)

    def cumulative(sigma: float) -> float:
        """Hard-slice signal of the spins with -1 < s < sigma."""
        centre = b_res + 0.5 * (sigma - 1.0) * depth
        rf = dataclasses.replace(exp.rf, frequency=larmor_frequency(centre, gamma),
                                 fm_depth=0.5 * (sigma + 1.0) * depth)
        return _signal(dataclasses.replace(base, rf=rf))

    alpha = (np.arange(CDF_NODES) + 0.5) * (math.pi / CDF_NODES)
    c = np.array([cumulative(-math.cos(a)) for a in alpha])
    if not np.any(c):
        return np.zeros(int(n_max) + 1)
    step = math.pi / CDF_NODES
    k1 = (4.0 / math.pi) * np.sin(alpha)  # c_1(alpha)
    dk1 = (4.0 / math.pi) * np.cos(alpha)

    def harmonic(n: int) -> float:
        cn = np.asarray(cai_harmonics(-np.cos(alpha), n), dtype=float)
        dcn = np.full_like(alpha, 2.0 / math.pi) if n == 0 else (4.0 / math.pi) * np.cos(n * alpha)
        if statistical:  # weight c_1 c_n, zero at both ends
            return -float(np.sum(c * (dk1 * cn + k1 * dcn))) * step
        edge = cumulative(1.0) if n == 0 else 0.0  # c_0(pi) C(1); c_n(0 or pi) = 0 else
        return edge - float(np.sum(c * dcn)) * step

    return np.array([harmonic(n) for n in range(int(n_max) + 1)])
