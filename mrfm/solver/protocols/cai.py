"""Cyclic adiabatic inversion (CAI): the in-phase Curie force or the statistical force variance.

Physics (PHYSICS.md "Detection protocols"; Rugar, Yannoni & Sidles, Nature
360, 563 (1992); Degen et al., PNAS 106, 1313 (2009)): frequency-modulated
adiabatic sweeps of depth ``fm_depth`` (field units) invert every spin in the
resonant slice ``| |B| - omega_rf/|gamma| | <= fm_depth`` once per cantilever
half cycle. The force on the cantilever at f0 is::

    F       = sum_v rho_v V_v f_v <mu_z>(|B|, T) d|B|/dx          (N, Curie)
    sigma^2 = sum_v rho_v V_v f_v Var(mu_z) (d|B|/dx)^2             (N^2, statistical)

with f_v the resonant volume fraction of voxel v (:mod:`mrfm.solver.slice`),
``d|B|/dx = (B . dB/dx)/|B|`` (exact) or ``dB_z/dx`` (high-field option).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrfm.jit import scalar_kernel
from mrfm.solver.kernels import P_BRES, P_HALF, P_PREF, field_magnitude

if TYPE_CHECKING:
    from mrfm.config import Experiment

NAME = "CAI"
UNITS = {"curie": "N", "statistical": "N^2"}
REFERENCES = (
    "Rugar, Yannoni & Sidles, Nature 360, 563 (1992)",
    "Degen, Poggio, Mamin, Rettner & Rugar, PNAS 106, 1313 (2009)",
)


def prefactor(exp: Experiment) -> float:
    """CAI needs no prefactor: the kernel is d|B|/dx per unit moment (N per J/T)."""
    return 1.0


@scalar_kernel
def quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Per-unit-moment CAI kernel at one point.

    Returns
    -------
    (b, gx, gy, gz, q, inside)
        |B| (T), grad|B| (T/m), q = d|B|/dx (T/m = N per J/T) and whether the
        point lies in the resonant slice.
    """
    b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol, rx, ry, rz, 1, pp, out)
    inside = abs(b - pp[P_BRES]) <= pp[P_HALF]
    return b, gx, gy, gz, pp[P_PREF] * gx, inside
