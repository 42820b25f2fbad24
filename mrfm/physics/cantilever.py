"""The cantilever as a thermally driven damped harmonic oscillator.

Equation of motion (one mode, tip displacement x along the motion direction):

    m x'' + (m omega0 / Q) x' + k x = F_th(t) + F(t),    m = k / omega0**2,

with the thermal (Langevin) force of one-sided power spectral density
S_F = 4 k kB T / (omega0 Q) (fluctuation-dissipation theorem; e.g. Stowe et al.,
Appl. Phys. Lett. 71, 288 (1997); Sidles et al., Rev. Mod. Phys. 67, 249 (1995)).

Damping budget
    Independent loss channels add their damping coefficients Gamma_i = m omega0 / Q_i, so
    1/Q = sum_i 1/Q_i (:class:`Damping`): intrinsic (the clamped cantilever in vacuum),
    gas (free-molecular, :meth:`mrfm.physics.Stage.gas_q`), non-contact friction against
    the sample and dissipation in the tip magnet. ``Cantilever.Q`` is the intrinsic
    (configured) Q and ``Cantilever.Q_total`` the total; every law of this class (thermal
    force noise, ring-down, transfer function, displacement PSD) uses ``Q_total`` (the
    fluctuation-dissipation theorem applies to the sum of the baths at one temperature).

Non-contact friction (optional)
    Stipe, Mamin, Stowe, Kenny & Rugar, Phys. Rev. Lett. 87, 096801 (2001) measured the
    damping of an ultrasensitive cantilever over a surface as a power law of the tip-sample
    spacing d, Gamma(d) proportional to d^-n. With a measured Q_nc(d_ref) at a reference
    spacing, Q_nc(d) = Q_nc(d_ref) (d / d_ref)^n (:func:`noncontact_q`; the coefficient and
    exponent are inputs, no default is claimed for them).

Magnetic spring (optional)
    A magnetic tip of moment mu on the cantilever rotates by theta = x / L_e when the end
    deflects by x (L_e: effective length). In a field B along its easy axis the torque adds
    the spring constant dk = (mu B / L_e^2) B_K / (B + B_K), B_K the anisotropy field
    (cantilever magnetometry: Stipe, Mamin, Stowe, Kenny & Rugar, Phys. Rev. Lett. 86, 2874
    (2001), Eq. 2; rigid moment B_K -> inf gives mu B / L_e^2); the frequency shifts by
    dk f0 / 2k (:func:`magnetic_spring_constant`, :meth:`Cantilever.frequency_shift`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants

from mrfm.physics._checks import positive


@dataclass(frozen=True)
class Damping:
    """The loss channels of the cantilever mode as quality factors (inf: channel absent).

    Parameters
    ----------
    intrinsic : float
        Q of the cantilever alone in vacuum (> 0).
    gas : float
        Q from the residual gas (free-molecular regime); inf without gas.
    noncontact : float
        Q from non-contact friction against the sample at the working gap.
    tip : float
        Q from dissipation in the tip (magnet) alone.
    """

    intrinsic: float
    gas: float = math.inf
    noncontact: float = math.inf
    tip: float = math.inf

    def __post_init__(self) -> None:
        for name in ("intrinsic", "gas", "noncontact", "tip"):
            value = getattr(self, name)
            number = float(value)
            if math.isnan(number) or number <= 0.0 or (name == "intrinsic"
                                                        and math.isinf(number)):
                raise ValueError(f"Damping.{name}: value {value!r} must be > 0"
                                 + (" and finite" if name == "intrinsic" else ""))
            object.__setattr__(self, name, number)

    @property
    def total(self) -> float:
        """Total quality factor, 1/Q = 1/Q_intrinsic + 1/Q_gas + 1/Q_noncontact + 1/Q_tip."""
        return 1.0 / (1.0 / self.intrinsic + 1.0 / self.gas + 1.0 / self.noncontact
                      + 1.0 / self.tip)

    def parts(self) -> dict[str, float]:
        """The finite contributions by name: Q_intrinsic, Q_gas, Q_noncontact, Q_tip."""
        out = {"Q_intrinsic": self.intrinsic, "Q_gas": self.gas,
               "Q_noncontact": self.noncontact, "Q_tip": self.tip}
        return {k: v for k, v in out.items() if math.isfinite(v)}


def noncontact_q(q_ref: float, gap_ref: float, exponent: float, gap: float) -> float:
    """Non-contact-friction Q at the gap d: Q_ref (d / d_ref)^n (Gamma ~ d^-n, Stipe 2001).

    Parameters
    ----------
    q_ref : float
        Measured Q of the non-contact channel at ``gap_ref`` (> 0).
    gap_ref, gap : float
        Reference and working tip-sample gaps, m (> 0).
    exponent : float
        n in Gamma(d) ~ d^-n (>= 0).
    """
    q = positive(q_ref, "noncontact Q_ref")
    d_ref = positive(gap_ref, "noncontact gap_ref", "m")
    d = positive(gap, "gap", "m")
    n = float(exponent)
    if not (math.isfinite(n) and n >= 0.0):
        raise ValueError(f"noncontact exponent: value {exponent!r} must be finite and >= 0")
    return q * (d / d_ref) ** n


def magnetic_spring_constant(moment: float, field: float, effective_length: float,
                             anisotropy_field: float = math.inf) -> float:
    """Spring constant added by the torque on a tip moment, N/m (Stipe et al. 2001, Eq. 2).

    dk = (mu B / L_e^2) B_K / (B + B_K); B_K = inf (default) is the rigid-moment limit
    mu B / L_e^2. ``moment`` mu in J/T, ``field`` B along the moment in T (negative:
    antiparallel, softening), ``effective_length`` L_e in m, ``anisotropy_field`` B_K in T
    (B + B_K > 0 required: the moment stays along its easy axis).
    """
    le = positive(effective_length, "effective_length", "m")
    mu, b = float(moment), float(field)
    if math.isinf(anisotropy_field):
        factor = 1.0
    else:
        bk = positive(anisotropy_field, "anisotropy_field", "T")
        if b + bk <= 0.0:
            raise ValueError(f"field {field!r} T reverses the moment (B + B_K <= 0)")
        factor = bk / (b + bk)
    return mu * b / le**2 * factor


def modal_mass(k: float, f0: float) -> float:
    """Effective (modal) mass m = k / omega0**2 of a mode of spring constant ``k`` (N/m)
    at ``f0`` (Hz), kg. The law of :attr:`Cantilever.mass`, for callers that may lack a
    temperature (the time domain's noiseless chains)."""
    omega0 = 2.0 * math.pi * f0
    return k / omega0**2


def amplitude_decay_rate(f0: float, Q: float) -> float:  # noqa: N803 - the physics symbol
    """Amplitude decay rate gamma = omega0 / (2 Q) of the free oscillation, 1/s: the
    inverse of :attr:`Cantilever.ringdown_time`; 0 for Q = inf (an undamped oscillator)."""
    if math.isinf(Q):
        return 0.0
    return 2.0 * math.pi * f0 / (2.0 * Q)


def spring_shift_per_hz(k: float, f0: float) -> float:
    """Spring-constant change per frequency shift, dk/df = 2 k / f0, N/m per Hz: the inverse
    of :meth:`Cantilever.frequency_shift` (df = -(f0 / 2k) dF/dx with dk = -dF/dx)."""
    return 2.0 * k / f0


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
        Intrinsic quality factor, dimensionless (> 0); with ``damping`` the total is
        :attr:`Q_total`.
    T : float
        Temperature of the thermal bath, K (> 0).
    damping : Damping or None
        All loss channels (:meth:`with_damping`; ``damping.intrinsic`` equals Q); None:
        the intrinsic Q is the only one.

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
    damping: Damping | None = None

    def __post_init__(self) -> None:
        for name, unit in (("k", "N/m"), ("f0", "Hz"), ("Q", ""), ("T", "K")):
            number = positive(getattr(self, name), f"Cantilever.{name}", unit)
            object.__setattr__(self, name, number)
        if self.damping is not None and self.damping.intrinsic != self.Q:
            raise ValueError(f"Cantilever.Q: value {self.Q!r} differs from the intrinsic Q "
                             f"of its damping channels {self.damping.intrinsic!r}")

    @classmethod
    def with_damping(cls, *, k: float, f0: float, T: float, damping: Damping) -> Cantilever:
        """A cantilever with the loss channels ``damping`` (Q = ``damping.intrinsic``)."""
        return cls(k=k, f0=f0, Q=damping.intrinsic, T=T, damping=damping)

    def stiffened(self, dk: float) -> Cantilever:
        """The same cantilever with its spring constant raised by ``dk`` (N/m; e.g. the
        magnetic spring of :func:`magnetic_spring_constant`): the modal mass is unchanged,
        so f0 scales with sqrt(k'/k) (exact; :meth:`frequency_shift` is its first order),
        and Q and the damping channels are kept."""
        k = positive(self.k + dk, "Cantilever.k + dk", "N/m")
        return Cantilever(k=k, f0=self.f0 * math.sqrt(k / self.k), Q=self.Q, T=self.T,
                          damping=self.damping)

    def feedback_loop(self, q: float | None) -> Cantilever:
        """The response of this cantilever under velocity feedback that sets its quality
        factor to ``q`` ("cold damping"; None: no feedback, ``self``): the same k, f0 and
        T with Q = q, for its transfer function and ring-down time. The thermal force
        acting on it stays this cantilever's own (:meth:`force_noise_psd` of ``self``,
        not of the loop: the feedback damps the response, not the bath)."""
        if q is None:
            return self
        return Cantilever(k=self.k, f0=self.f0, Q=q, T=self.T)

    @property
    def Q_total(self) -> float:  # noqa: N802 - the physics symbol
        """Total quality factor, 1/Q_total = sum of 1/Q_i over the loss channels."""
        return self.Q if self.damping is None else self.damping.total

    @property
    def omega0(self) -> float:
        """Angular resonance frequency 2 pi f0, rad/s."""
        return 2.0 * math.pi * self.f0

    @property
    def mass(self) -> float:
        """Effective (modal) mass k / omega0**2, kg (:func:`modal_mass`)."""
        return modal_mass(self.k, self.f0)

    @property
    def ringdown_time(self) -> float:
        """Amplitude ring-down (1/e) time tau = 2 Q_total / omega0, s: the inverse of
        :func:`amplitude_decay_rate`."""
        return 1.0 / amplitude_decay_rate(self.f0, self.Q_total)

    def force_noise_psd(self) -> float:
        """One-sided thermal force-noise PSD S_F = 4 k kB T / (omega0 Q_total), N^2/Hz."""
        return 4.0 * self.k * constants.k * self.T / (self.omega0 * self.Q_total)

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
        shift = -g / spring_shift_per_hz(self.k, self.f0)
        return float(shift) if shift.ndim == 0 else shift

    def transfer_function(self, f: ArrayLike) -> complex | np.ndarray:
        """Displacement per force of the driven damped oscillator, x/F.

        H(f) = 1 / (k [1 - (f/f0)^2 + i f / (f0 Q)])  for a drive F e^{i 2 pi f t},
        Q = Q_total.

        Parameters
        ----------
        f : float or array_like
            Frequency, Hz (any shape, >= 0 in practice).

        Returns
        -------
        complex or ndarray of complex
            m/N; same shape as ``f``. |H(0)| = 1/k, |H(f0)| = Q_total/k.
        """
        u = np.asarray(f, dtype=float) / self.f0
        h = 1.0 / (self.k * ((1.0 - u * u) + 1j * u / self.Q_total))
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
        denom = (1.0 - u * u) ** 2 + (u / self.Q_total) ** 2
        s = self.force_noise_psd() / (self.k**2 * denom)
        return float(s) if s.ndim == 0 else s
