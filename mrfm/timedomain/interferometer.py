"""Fibre-optic interferometer readout of the cantilever displacement.

The reflected power of a low-finesse fibre Fabry–Perot (Rugar, Mamin & Guethner,
Appl. Phys. Lett. 55, 2588 (1989)) is

    P(x) = P0 [1 + V cos(4 pi x / lambda + phi)],

operated at quadrature (phi = -pi/2, largest slope dP/dx = 4 pi P0 V / lambda at
x = 0); the full cosine is kept, so large amplitudes show the fringe
nonlinearity. Shot noise of the detected power has the one-sided PSD
S_P = 2 h nu P / eta (W^2/Hz; nu = c/lambda, eta the quantum efficiency).
Laser heating is modelled as a linear temperature offset of the cantilever,
T_eff = T + R_heat P0 (R_heat in K/W; measured values range over orders of
magnitude with the cantilever and the temperature, so it is a user setting,
default 0), and the photodiode has a first-order low-pass bandwidth.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.constants as sc
from numba import njit

from mrfm.physics import lockin


def photodiode_power(x: np.ndarray, *, power: float, visibility: float, wavelength: float,
                     phase: float = -math.pi / 2) -> np.ndarray:
    """Detected optical power P(x), W, for displacement x (m, any shape)."""
    return power * (1.0 + visibility * np.cos(4.0 * math.pi * np.asarray(x) / wavelength + phase))


@njit(cache=True, fastmath=False, inline="always")
def fringe_power(x, power, visibility, k4, phase):  # pragma: no cover - numba
    """:func:`photodiode_power` of one displacement x (m) inside a compiled loop, with
    ``k4 = 4 pi / wavelength`` (rad/m) computed once by the caller: the chain kernel's
    form of the same law (tested equal), W."""
    return power * (1.0 + visibility * math.cos(k4 * x + phase))


def quadrature_slope(*, power: float, visibility: float, wavelength: float) -> float:
    """dP/dx at quadrature, W/m: 4 pi P0 V / lambda."""
    return 4.0 * math.pi * power * visibility / wavelength


def shot_noise_psd(*, power: float, wavelength: float, efficiency: float = 1.0) -> float:
    """One-sided shot-noise PSD of a detected optical power, W^2/Hz: 2 h c P / (lambda eta)."""
    return 2.0 * sc.h * sc.c / wavelength * power / efficiency


def displacement_noise_floor(*, power: float, visibility: float, wavelength: float,
                             efficiency: float = 1.0) -> float:
    """Shot-noise-limited displacement sensitivity at quadrature, m/sqrt(Hz) (one-sided)."""
    s_p = shot_noise_psd(power=power, wavelength=wavelength, efficiency=efficiency)
    return math.sqrt(s_p) / quadrature_slope(power=power, visibility=visibility,
                                             wavelength=wavelength)


def heated_temperature(temperature: float, *, power: float, heating: float) -> float:
    """Cantilever temperature with laser heating, K: T + heating [K/W] * P0 [W]."""
    return temperature + heating * power


def lowpass_coefficient(*, cutoff: float, dt: float) -> float:
    """Pole a of the exact (zero-order-hold) first-order low-pass y' = a y + (1 - a) u.

    ``a = exp(-2 pi f_c dt)``; ``cutoff = inf`` gives a = 0 (no filtering).
    """
    if not math.isfinite(cutoff):
        return 0.0
    if cutoff == 0.0:
        return 1.0  # no bandwidth: the output holds
    return lockin.section_pole(1.0 / (2.0 * math.pi * cutoff), dt)
