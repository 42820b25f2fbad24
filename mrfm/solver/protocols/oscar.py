"""OSCAR: frequency shift from spins locked to the cantilever-driven adiabatic reversal.

Physics (Stipe et al., PRL 87, 277602 (2001); Rugar et al., Nature 430, 329
(2004); large-amplitude theory: Lee, Moore & Marohn, PRB 85, 165447 (2012),
Eq. 20)::

    delta_f = f0 / (2 pi k x_pk^2) sum_j integral_{-pi}^{pi}
              mu_z(theta) d|B|/dx(x_j - x_pk cos theta, y_j, z_j) x_pk cos theta dtheta

with the locked moment following the effective field in the rotating frame,
mu_z(theta) = mu dB / sqrt(dB^2 + B1^2), dB = |B| - omega_rf/|gamma| along
the trajectory; only spins that the oscillation sweeps through resonance are
locked (others contribute 0). mu is the thermal mean moment (Curie) or, for
statistical polarization, Var(mu_z) multiplies the square (Hz^2).

Sign convention: a spin locked parallel to the effective field (the thermal
equilibrium orientation) in a uniform gradient G gives
delta_f = -2 f0 mu |G| / (pi k x_pk) for B1 -> 0 (a softer spring); PHYSICS.md
quotes the magnitude. The theta integral is done by
:func:`mrfm.solver.oscar_trajectory.oscar_trajectory_integral` (crossings located,
graded Gauss-Legendre).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mrfm.jit import scalar_kernel
from mrfm.solver.kernels import P_PREF, field_magnitude
from mrfm.solver.oscar_trajectory import oscar_trajectory_integral

if TYPE_CHECKING:
    from mrfm.config import Experiment

NAME = "OSCAR"
UNITS = {"curie": "Hz", "statistical": "Hz^2"}
REFERENCES = (
    "Stipe, Mamin, Yannoni, Stowe, Kenny & Rugar, Phys. Rev. Lett. 87, 277602 (2001)",
    "Rugar, Budakian, Mamin & Chui, Nature 430, 329 (2004)",
    "Lee, Moore & Marohn, Phys. Rev. B 85, 165447 (2012), Eq. 20",
)


def prefactor(exp: Experiment) -> float:
    """f0 / (2 pi k x_pk): Hz per (J/T * T/m) of the theta integral.

    The cantilever's -(f0/2k) per unit force gradient
    (:meth:`mrfm.physics.Cantilever.frequency_shift`) times -1 / (pi x_pk).
    """
    return -exp.cantilever.frequency_shift(1.0) / (math.pi * exp.amplitude)


@scalar_kernel
def quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Per-unit-moment OSCAR kernel q = f0/(2 pi k x_pk) J (Hz per J/T) at one point.

    Returns (b, gx, gy, gz, q, swept); |B| and grad|B| at the rest position.
    """
    b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol, rx, ry, rz, 1, pp, out)
    j, swept, db0, db1 = oscar_trajectory_integral(shape_id, mparams, pol, rx, ry, rz, pp, out,
                                                   crossings)
    return b, gx, gy, gz, pp[P_PREF] * j, swept
