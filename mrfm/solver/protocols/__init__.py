"""Detection protocols: one module each, plus the parameter vector handed to the kernels.

Each protocol module provides ``NAME``, ``UNITS`` ({"curie": ..., "statistical": ...}),
``REFERENCES``, ``prefactor(exp)`` and a numba ``quantity(...)`` returning, at
one point relative to the magnet centre, ``(|B|, grad|B|, q, in_region)`` with
``q`` the per-unit-moment signal (prefactor included) and ``in_region`` the
exact resonance (or sweep) indicator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from mrfm.solver import box_fraction as BF
from mrfm.solver import kernels as K
from mrfm.solver.protocols import cai, cermit, force_gradient, ioscar, oscar

if TYPE_CHECKING:
    from mrfm.config import Experiment
    from mrfm.physics import SpinSpecies


@dataclass(frozen=True)
class ProtocolInfo:
    """A protocol's module and the kernel family that evaluates it."""

    name: str
    module: ModuleType
    kernel_id: int
    uses_slice: bool  # the resonant slice (CAI, CERMIT) or the OSCAR sweep region


PROTOCOLS: dict[str, ProtocolInfo] = {
    "CAI": ProtocolInfo("CAI", cai, K.CAI, True),
    "OSCAR": ProtocolInfo("OSCAR", oscar, K.OSCAR, True),
    "iOSCAR": ProtocolInfo("iOSCAR", ioscar, K.OSCAR, True),
    "CERMIT": ProtocolInfo("CERMIT", cermit, K.CERMIT, True),
    "force-gradient": ProtocolInfo("force-gradient", force_gradient, K.FORCE_GRADIENT, False),
}


@dataclass(frozen=True)
class SolverSettings:
    """Numerical settings of the solver (defaults give < 1e-3 quadrature error).

    Attributes
    ----------
    n_theta : int or None
        Trajectory intervals on [0, pi]; None sizes it from x_pk and the smallest gap.
    curvature_tol : float
        A voxel cut by a slice edge is subdivided while the curvature of |B|
        across it exceeds this fraction of its linear |B| span.
    max_depth : int
        Maximum subdivision depth for slice protocols (CAI, CERMIT).
    oscar_depth : int
        Maximum subdivision depth at the OSCAR sweep boundary.
    slice_profile : {"auto", "fundamental", "hard", "cos2"} or None
        Weighting of spins across the resonant slice (CAI, CERMIT): "fundamental" (CAI only)
        weights a spin at s = dB / half-width by its lock-in fundamental (4/pi) sqrt(1 - s^2)
        (:func:`mrfm.physics.spin_dynamics.cai_fundamental_weight`; its square for the
        statistical variance); "hard" counts a spin fully when | |B| - B_res | <=
        half-width; "cos2" weights it by cos^2(pi dB / (2 half-width)) (mrfmsim's
        IBM-cyclic adiabatic-inversion model); "auto": "fundamental" for CAI, else "hard".
        None: ``exp.protocol.slice_profile``.
    adiabatic : {"landau-zener", "ideal"} or None
        Inversion efficiency of the passages (:func:`mrfm.solver.inversion.inversion_factor`);
        None: ``exp.protocol.adiabatic``.
    """

    n_theta: int | None = None
    curvature_tol: float = 0.01
    max_depth: int = 4
    oscar_depth: int = 2
    slice_profile: str | None = None
    adiabatic: str | None = None


def protocol_info(name: str) -> ProtocolInfo:
    """Look up a protocol by name (CAI | OSCAR | iOSCAR | CERMIT | force-gradient)."""
    from mrfm.errors import UserError

    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UserError(
            f"protocol.name: unknown protocol {name!r}; allowed: {', '.join(PROTOCOLS)}"
        ) from None


def auto_n_theta(amplitude: float, min_gap: float) -> int:
    """Trajectory intervals on [0, pi] resolving |B| along a sweep of +-x_pk.

    The field near the tip varies on the scale of the spin-magnet gap; the
    trajectory angle spans that scale in about gap/x_pk radians, so we take
    24 intervals per such angle (at least 32, at most 2048).
    """
    if amplitude <= 0.0:
        return 32
    n = math.ceil(24.0 * amplitude / max(min_gap, 1e-12))
    return int(min(2048, max(32, n)))


def build_params(exp: Experiment, species: SpinSpecies, info: ProtocolInfo,
                 settings: SolverSettings, min_gap: float) -> np.ndarray:
    """The float64 parameter vector ``pp`` (see ``mrfm.solver.kernels.P_*``) for one species."""
    pp = np.zeros(K.PP_LEN)
    gamma = abs(float(species.gamma))
    pp[K.P_B0] = float(exp.B0)
    rf = exp.rf
    pp[K.P_BRES] = species.resonance_field(float(rf.frequency)) if rf.frequency > 0 else 0.0
    pp[K.P_HALF] = float(rf.fm_depth) if rf.fm_depth > 0 else float(rf.B1)
    pp[K.P_B1] = float(rf.B1)
    pp[K.P_XPK] = float(exp.amplitude)
    pp[K.P_MOMENT] = float(species.moment)
    pp[K.P_SPIN] = float(species.spin)
    pp[K.P_T] = float(exp.cantilever.T)
    pp[K.P_STAT] = 1.0 if exp.protocol.polarization == "statistical" else 0.0
    pp[K.P_VAR1] = float(species.statistical_moment_variance(1))
    pp[K.P_HIGH] = 1.0 if exp.protocol.high_field else 0.0
    pp[K.P_PREF] = float(info.module.prefactor(exp))
    n = settings.n_theta or auto_n_theta(float(exp.amplitude), min_gap)
    pp[K.P_NTHETA] = float(n)
    pp[K.P_TOL] = float(settings.curvature_tol)
    depth = settings.oscar_depth if info.kernel_id == K.OSCAR else settings.max_depth
    pp[K.P_DEPTH] = float(depth)
    pp[K.P_PROFILE] = _PROFILE_CODES[slice_profile(exp, settings)]
    pp[K.P_LZ] = 1.0 if adiabatic(exp, settings) == "landau-zener" else 0.0
    pp[K.P_GAMMA] = gamma
    pp[K.P_FMOD] = float(exp.cantilever.f0)
    pp[K.P_INVERT] = 1.0 if exp.protocol.cermit_mode == "invert" else 0.0
    return pp


SLICE_PROFILES = ("auto", "fundamental", "hard", "cos2")
ADIABATIC = ("landau-zener", "ideal")
_PROFILE_CODES = {"fundamental": BF.PROFILE_FUNDAMENTAL, "hard": BF.PROFILE_HARD,
                  "cos2": BF.PROFILE_COS2}


def slice_profile(exp: Experiment, settings: SolverSettings | None = None) -> str:
    """The slice weighting in force ("fundamental", "hard" or "cos2"): settings, else
    ``exp.protocol.slice_profile``; "auto" is "fundamental" for CAI, "hard" otherwise."""
    from mrfm.errors import UserError

    name = settings.slice_profile if settings is not None else None
    if name is None:
        name = exp.protocol.slice_profile
    if name not in SLICE_PROFILES:
        raise UserError(f"protocol.slice_profile: {name!r} is not one of "
                        f"{', '.join(SLICE_PROFILES)}")
    cai_protocol = exp.protocol.name == "CAI"
    if name == "auto":
        return "fundamental" if cai_protocol else "hard"
    if name == "fundamental" and not cai_protocol:
        raise UserError(f"protocol.slice_profile: 'fundamental' (the CAI lock-in weight) does "
                        f"not apply to protocol {exp.protocol.name!r}; use 'hard' or 'cos2'")
    return name


def adiabatic(exp: Experiment, settings: SolverSettings | None = None) -> str:
    """The inversion model in force: settings, else ``exp.protocol.adiabatic``."""
    from mrfm.errors import UserError

    name = settings.adiabatic if settings is not None else None
    if name is None:
        name = exp.protocol.adiabatic
    if name not in ADIABATIC:
        raise UserError(f"protocol.adiabatic: {name!r} is not one of {', '.join(ADIABATIC)}")
    return name


__all__ = ["ADIABATIC", "PROTOCOLS", "SLICE_PROFILES", "ProtocolInfo", "SolverSettings",
           "adiabatic", "build_params", "protocol_info", "slice_profile"]
