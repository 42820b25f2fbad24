"""CERMIT: frequency shift from saturating or inverting the resonant slice.

Physics (Garner et al., APL 84, 5091 (2004); Moore et al., PNAS 106, 22251
(2009); large amplitude: Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20)::

    delta_f = -(f0 / 2k) sum_v rho_v V_v f_v Delta<mu_z> K2

with Delta<mu_z> = -<mu_z> (saturate) or -2 <mu_z> (invert) for spins in the
slice | |B| - omega_rf/|gamma| | <= half-width (``fm_depth``, or ``B1`` when
no frequency modulation is given), and K2 = d2|B|/dx2 for a small
amplitude, or its trajectory average with the cos(theta) weighting of Eq. 20
for a peak amplitude x_pk > 0 (:func:`mrfm.solver.curvature.trajectory_curvature`).
Statistical polarization gives the variance of delta_f (Hz^2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrfm.jit import scalar_kernel
from mrfm.solver.curvature import field_and_curvature
from mrfm.solver.kernels import P_BRES, P_HALF, P_PREF

if TYPE_CHECKING:
    from mrfm.config import Experiment

NAME = "CERMIT"
UNITS = {"curie": "Hz", "statistical": "Hz^2"}
REFERENCES = (
    "Garner, Kuehn, Dwyer & Marohn, Appl. Phys. Lett. 84, 5091 (2004)",
    "Moore, Lee, Hickman, Wright, Kuehn & Marohn, PNAS 106, 22251 (2009)",
    "Lee, Moore & Marohn, Phys. Rev. B 85, 165447 (2012)",
)


def prefactor(exp: Experiment) -> float:
    """(f0 / 2k) * c with c = 1 (saturate) or 2 (invert): Hz per (J/T * T/m^2).

    Delta<mu_z> = -c <mu_z> times the cantilever's -(f0/2k) per unit force gradient
    (:meth:`mrfm.physics.Cantilever.frequency_shift`).
    """
    c = 2.0 if exp.protocol.cermit_mode == "invert" else 1.0
    return -c * exp.cantilever.frequency_shift(1.0)


@scalar_kernel
def quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Per-unit-moment CERMIT kernel: q = c f0/(2k) K2 (Hz per J/T); see the module notes.

    Returns (b, gx, gy, gz, q, inside) as :func:`mrfm.solver.protocols.cai.quantity`.
    """
    b, gx, gy, gz, k2 = field_and_curvature(shape_id, mparams, pol, rx, ry, rz, pp, out)
    inside = abs(b - pp[P_BRES]) <= pp[P_HALF]
    return b, gx, gy, gz, pp[P_PREF] * k2, inside
