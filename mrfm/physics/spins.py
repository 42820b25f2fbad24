"""Spin species: gyromagnetic ratios, moments and thermal (Brillouin) polarization.

Sources
-------
* Electron, proton and deuteron: CODATA recommended values via :mod:`scipy.constants`
  (``"electron gyromag. ratio"`` with the sign of the electron g factor, ``"proton gyromag.
  ratio"``, ``"deuteron mag. mom."`` / (hbar I) with I = 1).
* 13C, 15N, 19F, 29Si, 31P: R. K. Harris, E. D. Becker, S. M. Cabral de Menezes,
  R. Goodfellow and P. Granger, "NMR nomenclature. Nuclear spin properties and conventions
  for chemical shifts", Pure Appl. Chem. 73, 1795 (2001), Table 1 (magnetogyric ratio in
  10^7 rad s^-1 T^-1).

Conventions
-----------
``polarization(B, T)`` is the thermal-equilibrium fraction <I_z>/I of the spin aligned with
the field so that the moment points along +B: it is the Brillouin function B_I(x) with
x = I hbar |gamma| B / (kB T), positive for B > 0 whatever the sign of gamma. The mean
moment along the field is ``moment * polarization``.

``statistical_moment_variance(n)`` is the variance of the net z-moment of n uncorrelated,
unpolarized spins: n hbar^2 gamma^2 <I_z^2> with <I_z^2> = I(I+1)/3. For I = 1/2 each spin's
z-moment is +-mu with mu = hbar |gamma| / 2, so the variance is n mu^2, as in Degen et al.,
Phys. Rev. Lett. 99, 250601 (2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants

_CODATA = "CODATA recommended values via scipy.constants"
_HARRIS = "Harris et al., Pure Appl. Chem. 73, 1795 (2001), Table 1"

#: Harris et al. (2001) Table 1 magnetogyric ratios, 10^7 rad s^-1 T^-1, and spins.
HARRIS_2001 = {
    "13C": (6.728284, 0.5),
    "15N": (-2.71261804, 0.5),
    "19F": (25.18148, 0.5),
    "29Si": (-5.3190, 0.5),
    "31P": (10.8394, 0.5),
}

_ALIASES = {
    "electron": "electron", "e": "electron", "e-": "electron",
    "1h": "1H", "h": "1H", "proton": "1H", "h1": "1H",
    "2h": "2H", "d": "2H", "deuteron": "2H", "h2": "2H",
    "13c": "13C", "c13": "13C",
    "15n": "15N", "n15": "15N",
    "19f": "19F", "f19": "19F",
    "29si": "29Si", "si29": "29Si",
    "31p": "31P", "p31": "31P",
}

#: Canonical species names.
KNOWN_SPECIES = ("electron", "1H", "2H", "13C", "15N", "19F", "29Si", "31P")

# Where |a x| < 1 (a = (2I+1)/(2I)) the Brillouin function is evaluated from the Laurent
# series of coth, coth(u) - 1/u = sum_n 2^(2n) B_2n u^(2n-1) / (2n)! (radius of convergence
# pi); 18 terms make the truncation error < (1/pi)^36 ~ 1e-18 relative.
_SERIES_TERMS = 18


def _bernoulli_even(n_max: int) -> list[Fraction]:
    """Exact Bernoulli numbers B_0..B_{n_max} (Akiyama-Tanigawa algorithm)."""
    out = []
    a = [Fraction(0)] * (n_max + 1)
    for m in range(n_max + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        out.append(a[0])
    return out  # B_1 = +1/2 in this convention; only even indices are used


_BERNOULLI = _bernoulli_even(2 * _SERIES_TERMS)
_COTH_COEFFS = tuple(
    float(Fraction(2 ** (2 * n)) * _BERNOULLI[2 * n] / math.factorial(2 * n))
    for n in range(1, _SERIES_TERMS + 1)
)


def resonance_field(frequency: ArrayLike, gamma: float) -> float | np.ndarray:
    """Field magnitude at which a spin of gyromagnetic ratio ``gamma`` (rad s^-1 T^-1) has
    the Larmor frequency ``frequency`` (Hz): 2 pi |f| / |gamma|, T (any shape; the inverse
    of :meth:`SpinSpecies.larmor_frequency`). Also converts a frequency deviation (an FM
    depth, Hz) into the field deviation that sweeps the same detuning."""
    if isinstance(frequency, (int, float)):  # the rig asks at every lock-in update
        return 2.0 * math.pi * abs(frequency) / abs(gamma)
    b = 2.0 * math.pi * np.abs(np.asarray(frequency, dtype=float)) / abs(gamma)
    return float(b) if b.ndim == 0 else b


def larmor_frequency(field: ArrayLike, gamma: float) -> float | np.ndarray:
    """Larmor frequency |gamma| |B| / (2 pi), Hz, of a spin of gyromagnetic ratio ``gamma``
    (rad s^-1 T^-1) in a field of magnitude ``field`` (T, any shape); also the frequency
    deviation that a field deviation sweeps."""
    if isinstance(field, (int, float)):
        return abs(gamma) * abs(field) / (2.0 * math.pi)
    f = abs(gamma) * np.abs(np.asarray(field, dtype=float)) / (2.0 * math.pi)
    return float(f) if f.ndim == 0 else f


def canonical_name(name: str) -> str:
    """The canonical species name for ``name`` or an alias ("proton" -> "1H").

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    key = _ALIASES.get(str(name).strip().lower())
    if key is None:
        raise ValueError(
            f"unknown spin species {name!r}; known: {', '.join(KNOWN_SPECIES)} "
            "(aliases: e, proton, H, D)"
        )
    return key


def brillouin(spin: float, x: ArrayLike) -> float | np.ndarray:
    """Brillouin function B_I(x) for spin quantum number I.

    B_I(x) = a coth(a x) - b coth(b x),  a = (2I+1)/(2I),  b = 1/(2I),

    exact for every real x: the Laurent series of coth for |a x| < 1 (no cancellation
    between the two 1/x terms) and the coth form elsewhere (tanh saturates without
    overflow). B_{1/2}(x) = tanh(x).

    Parameters
    ----------
    spin : float
        I > 0 (a multiple of 1/2).
    x : float or array_like
        Reduced Zeeman energy I hbar |gamma| B / (kB T), any shape.

    Returns
    -------
    float or ndarray
        Same shape as ``x``, in [-1, 1].
    """
    i = float(spin)
    xa = np.asarray(x, dtype=float)
    if np.any(np.isnan(xa)):
        raise ValueError("brillouin: x contains NaN")
    a = (2.0 * i + 1.0) / (2.0 * i)
    b = 1.0 / (2.0 * i)
    ax = np.abs(xa)
    out = np.empty_like(ax)
    small = a * ax < 1.0
    if np.any(small):
        u = ax[small]
        acc = np.zeros_like(u)
        for n in range(len(_COTH_COEFFS), 0, -1):  # smallest terms first
            p = 2 * n - 1
            acc += _COTH_COEFFS[n - 1] * (a ** (p + 1) - b ** (p + 1)) * u**p
        out[small] = acc
    large = ~small
    if np.any(large):
        u = ax[large]
        out[large] = a / np.tanh(a * u) - b / np.tanh(b * u)
    out = np.copysign(np.minimum(out, 1.0), xa)
    return float(out) if out.ndim == 0 else out


def brillouin_scalar(spin: float, x: float) -> float:
    """B_I(x) of one float: the scalar special case of :func:`brillouin` for compiled loops.

    Plain arithmetic on floats, so that numba compiles it for the solver's kernels
    (:data:`mrfm.solver.kernels.brillouin`) while this module stays free of numba; tested
    against :func:`brillouin` (relative difference < 1e-10). For |x| < 1e-2 the series
    x [(a^2 - b^2)/3 - (a^4 - b^4) x^2/45 + 2 (a^6 - b^6) x^4/945] of a coth(a x) - b coth(b x)
    (a = (2I+1)/(2I), b = 1/(2I); truncation ~x^7, no cancellation), tanh(x) for I = 1/2,
    and the closed form elsewhere.

    Parameters
    ----------
    spin : float
        I > 0 (a multiple of 1/2).
    x : float
        Reduced Zeeman energy I hbar |gamma| B / (kB T).

    Returns
    -------
    float
        In [-1, 1].
    """
    ax = abs(x)
    if ax < 1e-2:
        a2 = ((2.0 * spin + 1.0) / (2.0 * spin)) ** 2
        c2 = (1.0 / (2.0 * spin)) ** 2
        x2 = x * x
        return x * ((a2 - c2) / 3.0 - (a2 * a2 - c2 * c2) * x2 / 45.0
                    + 2.0 * (a2 ** 3 - c2 ** 3) * x2 * x2 / 945.0)
    if spin == 0.5:
        return math.tanh(x)
    a = (2.0 * spin + 1.0) / (2.0 * spin)
    c = 1.0 / (2.0 * spin)
    return a / math.tanh(a * x) - c / math.tanh(c * x)


@dataclass(frozen=True)
class SpinSpecies:
    """A spin species (electron or nucleus).

    Parameters
    ----------
    name : str
        Canonical name ("electron", "1H", ...).
    gamma : float
        Gyromagnetic ratio, rad s^-1 T^-1, signed (negative for the electron).
    spin : float
        Spin quantum number I (or S), a positive multiple of 1/2.
    source : str
        Where ``gamma`` comes from.

    Examples
    --------
    >>> p = SpinSpecies.from_name("proton")
    >>> p.name, p.spin
    ('1H', 0.5)
    >>> round(p.larmor_frequency(1.0) / 1e6, 3)
    42.577
    """

    name: str
    gamma: float
    spin: float
    source: str = ""

    def __post_init__(self) -> None:
        g = float(self.gamma)
        if not math.isfinite(g) or g == 0.0:
            raise ValueError(f"SpinSpecies.gamma: value {self.gamma!r} must be finite and != 0")
        s = float(self.spin)
        if not math.isfinite(s) or s <= 0.0 or abs(2.0 * s - round(2.0 * s)) > 1e-12:
            raise ValueError(
                f"SpinSpecies.spin: value {self.spin!r} must be a positive multiple of 1/2"
            )
        object.__setattr__(self, "gamma", g)
        object.__setattr__(self, "spin", s)

    @classmethod
    def from_name(cls, name: str) -> SpinSpecies:
        """The species called ``name`` (see :data:`KNOWN_SPECIES`; aliases e, proton, H, D).

        Raises
        ------
        ValueError
            If the name is unknown.
        """
        key = canonical_name(name)
        pc = constants.physical_constants
        if key == "electron":
            sign = math.copysign(1.0, pc["electron g factor"][0])
            gamma = sign * abs(pc["electron gyromag. ratio"][0])
            src = f"{_CODATA}: 'electron gyromag. ratio', sign of 'electron g factor'"
            return cls(name=key, gamma=gamma, spin=0.5, source=src)
        if key == "1H":
            gamma = pc["proton gyromag. ratio"][0]
            return cls(name=key, gamma=gamma, spin=0.5,
                       source=f"{_CODATA}: 'proton gyromag. ratio' (bare proton)")
        if key == "2H":
            gamma = pc["deuteron mag. mom."][0] / (constants.hbar * 1.0)
            return cls(name=key, gamma=gamma, spin=1.0,
                       source=f"{_CODATA}: 'deuteron mag. mom.' / (hbar * 1)")
        value, spin = HARRIS_2001[key]
        return cls(name=key, gamma=value * 1e7, spin=spin, source=_HARRIS)

    @property
    def moment(self) -> float:
        """Magnetic moment |gamma| hbar I, J/T."""
        return abs(self.gamma) * constants.hbar * self.spin

    def reduced_field(self, B: ArrayLike, T: ArrayLike) -> float | np.ndarray:
        """x = I hbar |gamma| B / (kB T) (dimensionless); B in T, T in K (> 0), broadcast."""
        b = np.asarray(B, dtype=float)
        t = np.asarray(T, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t <= 0.0):
            raise ValueError(f"temperature: value {T!r} must be finite and > 0 K")
        if np.any(~np.isfinite(b)):
            raise ValueError(f"field: value {B!r} must be finite (T)")
        x = self.moment * b / (constants.k * t)
        return float(x) if x.ndim == 0 else x

    def polarization(self, B: ArrayLike, T: ArrayLike) -> float | np.ndarray:
        """Thermal polarization <I_z>/I = B_I(x), x = I hbar |gamma| B / (kB T).

        Parameters
        ----------
        B : float or array_like
            Field magnitude at the spin, T (a negative value gives a negative polarization).
        T : float or array_like
            Temperature, K (> 0). Broadcast with ``B``.

        Returns
        -------
        float or ndarray
            In [-1, 1], the broadcast shape of B and T.
        """
        return brillouin(self.spin, self.reduced_field(B, T))

    def mean_moment(self, B: ArrayLike, T: ArrayLike) -> float | np.ndarray:
        """Mean moment along the field, moment * polarization(B, T), J/T.

        High-temperature (Curie) limit: (hbar gamma)^2 I(I+1) B / (3 kB T).
        """
        p = self.polarization(B, T)
        return self.moment * p

    def statistical_moment_variance(self, n_spins: ArrayLike = 1.0) -> float | np.ndarray:
        """Variance of the net z-moment of n uncorrelated unpolarized spins, J^2/T^2.

        n hbar^2 gamma^2 I(I+1)/3; for I = 1/2 this is n mu^2 with mu = hbar |gamma| / 2
        (Degen et al., PRL 99, 250601 (2007)).
        """
        n = np.asarray(n_spins, dtype=float)
        if np.any(~np.isfinite(n)) or np.any(n < 0.0):
            raise ValueError(f"n_spins: value {n_spins!r} must be finite and >= 0")
        per_spin = (constants.hbar * self.gamma) ** 2 * self.spin * (self.spin + 1.0) / 3.0
        v = n * per_spin
        return float(v) if v.ndim == 0 else v

    def larmor_frequency(self, B: ArrayLike) -> float | np.ndarray:
        """Larmor frequency |gamma| |B| / (2 pi), Hz; B in T, any shape
        (:func:`larmor_frequency`)."""
        return larmor_frequency(B, self.gamma)

    def resonance_field(self, frequency: ArrayLike) -> float | np.ndarray:
        """Field magnitude of Larmor frequency ``frequency`` (Hz), T: :func:`resonance_field`."""
        return resonance_field(frequency, self.gamma)
