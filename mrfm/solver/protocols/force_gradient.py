"""Force-gradient (no RF) frequency shift of the Curie magnetization.

Physics (PHYSICS.md; small amplitude: delta_f = -(f0/2k) dF/dx; large
amplitude: Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20 with a fixed
moment)::

    delta_f = -(f0 / 2k) sum_v rho_v V_v <mu_z>(|B|, T) K2

over every spin, with K2 = d2|B|/dx2 or its cantilever-trajectory average
(:func:`mrfm.solver.curvature.trajectory_curvature`). The Curie moment is taken
at the spin's field for the cantilever at rest (T1 much longer than 1/f0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrfm.jit import scalar_kernel
from mrfm.solver.curvature import field_and_curvature
from mrfm.solver.kernels import P_PREF

if TYPE_CHECKING:
    from mrfm.config import Experiment

NAME = "force-gradient"
UNITS = {"curie": "Hz", "statistical": "Hz^2"}
REFERENCES = (
    "Lee, Moore & Marohn, Phys. Rev. B 85, 165447 (2012)",
    "Garner et al., Appl. Phys. Lett. 84, 5091 (2004)",
)


def prefactor(exp: Experiment) -> float:
    """-(f0 / 2k): Hz per (J/T * T/m^2) (:meth:`mrfm.physics.Cantilever.frequency_shift`)."""
    return exp.cantilever.frequency_shift(1.0)


@scalar_kernel
def quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Per-unit-moment force-gradient kernel q = -(f0/2k) K2 (Hz per J/T); every spin counts.

    Returns (b, gx, gy, gz, q, True).
    """
    b, gx, gy, gz, k2 = field_and_curvature(shape_id, mparams, pol, rx, ry, rz, pp, out)
    return b, gx, gy, gz, pp[P_PREF] * k2, True
