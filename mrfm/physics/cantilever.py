"""The cantilever as a thermally driven damped harmonic oscillator.

Equation of motion (one mode, tip displacement x along the motion direction):

    m x'' + (m omega0 / Q) x' + k x = F_th(t) + F(t),    m = k / omega0**2,

with the thermal (Langevin) force of one-sided power spectral density
S_F = 4 k kB T / (omega0 Q) (fluctuation-dissipation theorem; e.g. Stowe et al.,
Appl. Phys. Lett. 71, 288 (1997); Sidles et al., Rev. Mod. Phys. 67, 249 (1995)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants

from mrfm.physics._checks import positive


@dataclass(frozen=True)
class Cantilever:
    """A cantilever's fundamental flexural mode at temperature T.

    Parameters
    ----------
    k : float
        Spring constant, N/m (> 0).
    f0 : float
        Resonance frequency, Hz (> 0).
    Q : float
        Quality factor, dimensionless (> 0).
    T : float
        Temperature of the thermal bath, K (> 0).

    Examples
    --------
    >>> c = Cantilever(k=110e-6, f0=5.5e3, Q=2e4, T=1.6)
    >>> round(c.force_noise() * 1e18, 2)   # aN in 1 Hz
    3.75
    """

    k: float
    f0: float
    Q: float
    T: float

    def __post_init__(self) -> None:
        for name, unit in (("k", "N/m"), ("f0", "Hz"), ("Q", ""), ("T", "K")):
            number = positive(getattr(self, name), f"Cantilever.{name}", unit)
            object.__setattr__(self, name, number)

    @property
    def omega0(self) -> float:
        """Angular resonance frequency 2 pi f0, rad/s."""
        return 2.0 * math.pi * self.f0

    @property
    def mass(self) -> float:
        """Effective (modal) mass k / omega0**2, kg."""
        return self.k / self.omega0**2

    @property
    def ringdown_time(self) -> float:
        """Amplitude ring-down (1/e) time tau = 2 Q / omega0, s."""
        return 2.0 * self.Q / self.omega0

    def force_noise_psd(self) -> float:
        """One-sided thermal force-noise PSD S_F = 4 k kB T / (omega0 Q), N^2/Hz."""
        return 4.0 * self.k * constants.k * self.T / (self.omega0 * self.Q)

    def force_noise(self, bandwidth: float = 1.0) -> float:
        """Thermal force noise sqrt(S_F * bandwidth), N, in a detection bandwidth (Hz)."""
        b = float(bandwidth)
        if not math.isfinite(b) or b < 0.0:
            raise ValueError(f"bandwidth: value {bandwidth!r} must be finite and >= 0 Hz")
        return math.sqrt(self.force_noise_psd() * b)

    def thermal_rms(self) -> float:
        """Root-mean-square thermal displacement sqrt(kB T / k), m (equipartition)."""
        return math.sqrt(constants.k * self.T / self.k)

    def frequency_shift(self, force_gradient: ArrayLike) -> float | np.ndarray:
        """Small-amplitude frequency shift delta_f = -(f0 / 2k) dF/dx.

        Parameters
        ----------
        force_gradient : float or array_like
            dF/dx along the motion direction, N/m (any shape).

        Returns
        -------
        float or ndarray
            Frequency shift, Hz; same shape as the input (a float for a scalar).
        """
        g = np.asarray(force_gradient, dtype=float)
        shift = -self.f0 / (2.0 * self.k) * g
        return float(shift) if shift.ndim == 0 else shift

    def transfer_function(self, f: ArrayLike) -> complex | np.ndarray:
        """Displacement per force of the driven damped oscillator, x/F.

        H(f) = 1 / (k [1 - (f/f0)^2 + i f / (f0 Q)])  for a drive F e^{i 2 pi f t}.

        Parameters
        ----------
        f : float or array_like
            Frequency, Hz (any shape, >= 0 in practice).

        Returns
        -------
        complex or ndarray of complex
            m/N; same shape as ``f``. |H(0)| = 1/k, |H(f0)| = Q/k.
        """
        u = np.asarray(f, dtype=float) / self.f0
        h = 1.0 / (self.k * ((1.0 - u * u) + 1j * u / self.Q))
        return complex(h) if h.ndim == 0 else h

    def displacement_psd(self, f: ArrayLike) -> float | np.ndarray:
        """One-sided thermal displacement PSD S_x(f) = S_F |H(f)|^2, m^2/Hz.

        Its integral over 0 < f < inf equals kB T / k (equipartition).

        Parameters
        ----------
        f : float or array_like
            Frequency, Hz (any shape).

        Returns
        -------
        float or ndarray
            m^2/Hz; same shape as ``f``.
        """
        u = np.asarray(f, dtype=float) / self.f0
        denom = (1.0 - u * u) ** 2 + (u / self.Q) ** 2
        s = self.force_noise_psd() / (self.k**2 * denom)
        return float(s) if s.ndim == 0 else s
