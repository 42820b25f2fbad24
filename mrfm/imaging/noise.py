"""Measurement noise of a synthetic MRFM scan.

The scan is acquired point by point in raster order (x fastest, then y, then
height), ``dwell`` seconds per point, through a lock-in amplifier whose output
low-pass is an ``order``-pole RC filter of time constant ``tau``. Effects:

* thermal force noise of the cantilever, one-sided PSD ``S_F = 4 k kB T/(omega0 Q)``;
  after the lock-in its standard deviation is ``sqrt(S_F * ENBW)`` (``ENBW`` the
  filter's equivalent noise bandwidth, PHYSICS.md "Readout") =
  ``Cantilever.force_noise(ENBW)``; sampled exactly as white noise through the same
  filter as the signal (:func:`filtered_white_noise`), so consecutive points are
  correlated when the dwell is not long against the filter's settling;
* statistical spin noise: ``N`` spins-1/2 have a net moment of variance ``N mu^2``
  (Degen et al., PRL 99, 250601 (2007)), correlated over ``tau_m``; read through the
  lock-in's filter (an exact sampled model of the correlated signal and the filter,
  :func:`filtered_spin_noise`) each reading keeps the fraction
  :func:`mrfm.physics.spin_noise.lockin_capture_fraction` of its variance
  (``tau_m / (tau_m + tau)`` for one pole), and successive readings are correlated as
  the filtered signal is. A force-variance measurement (statistical polarization) reads
  the dwell's mean square of the lock-in's output, the thermal variance subtracted: its
  mean is the captured spin variance g sigma^2 (g the capture fraction above) and its
  spread follows from the output's autocorrelation (the spin and thermal parts each
  through the filter; Isserlis; :func:`mrfm.physics.spin_noise.mean_square_spread_terms`);
* tip-sample drift: a constant drift velocity of random direction; the signal is
  sampled at the drifted positions (trilinear interpolation of the noiseless map);
* lock-in filtering: the signal sequence is passed through the RC filter (exact
  discretisation of the n-pole filter for an input held constant over each dwell,
  :func:`mrfm.physics.lockin.held_input_response`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mrfm.physics import lockin
from mrfm.physics import spin_noise as SN


def rc_filter(sequence: np.ndarray, *, tau: float, dwell: float, order: int,
              initial: float | None = None) -> np.ndarray:
    """Output of the lock-in's ``order``-pole RC filter sampled at the end of each dwell,
    for an input held at ``x[n]`` during dwell ``n``: exact for every order
    (:func:`mrfm.physics.lockin.held_input_response`). The filter starts settled at
    ``initial`` (default: the first input)."""
    return lockin.held_input_response(sequence, time_constant=tau, order=order, dt=dwell,
                                      initial=initial)


def filtered_white_noise(n: int, *, sigma: float, tau: float, dwell: float, order: int,
                         rng: np.random.Generator) -> np.ndarray:
    """``n`` readings of white noise (the thermal force) through the lock-in's filter, one
    at the end of each dwell, stationary standard deviation ``sigma``: exact in continuous
    time (:func:`mrfm.physics.spin_noise.filtered_white_noise_steps`), started from the
    stationary state, so successive readings correlate as the filtered noise does."""
    if sigma == 0:
        return np.zeros(n)
    return sigma * _sample_chain(*SN.filtered_white_noise_steps(tau, order, dwell), n, rng)


def filtered_spin_noise(n: int, *, tau_m: float, tau: float, dwell: float, order: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(``n`` readings, their variance): a unit-variance spin signal of correlation time
    ``tau_m`` read through the lock-in's ``order``-pole filter at the end of each dwell.

    Exact in continuous time (:func:`mrfm.physics.spin_noise.filtered_spin_signal_steps`),
    started from the stationary state: each reading has the variance
    :func:`mrfm.physics.spin_noise.lockin_capture_fraction` (returned), and successive
    readings are correlated as the filtered signal is. The caller scales the readings by
    each point's spin-noise standard deviation (held over the point).
    """
    phi, root, stationary = SN.filtered_spin_signal_steps(tau_m, tau, order, dwell)
    return _sample_chain(phi, root, stationary, n, rng), float(stationary[-1, -1])


def _sample_chain(phi: np.ndarray, root: np.ndarray, stationary: np.ndarray, n: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``n`` successive outputs (the state's last entry) of z[i+1] = phi z[i] + root w[i]
    (w standard normal), z[0] drawn from the stationary covariance."""
    m = phi.shape[0]
    ev, vec = np.linalg.eigh(stationary)
    z = (vec * np.sqrt(np.clip(ev, 0.0, None))) @ rng.standard_normal(m)
    w = rng.standard_normal((n, m)) @ root.T
    out = np.empty(n)
    for i in range(n):
        out[i] = z[-1]
        z = phi @ z + w[i]
    return out


def raster_order(values: np.ndarray) -> np.ndarray:
    """Flatten a (nx, ny, nh) map in acquisition order: x fastest, then y, then height."""
    return np.transpose(values, (2, 1, 0)).ravel()


def from_raster_order(sequence: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of :func:`raster_order`."""
    nx, ny, nh = shape
    return np.ascontiguousarray(np.transpose(np.reshape(sequence, (nh, ny, nx)), (2, 1, 0)))


def drift_offsets(shape: tuple[int, int, int], *, rate: float, dwell: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Tip-sample displacement (m) at each scan point for a constant drift of random direction.

    Returns an array of shape (nx, ny, nh, 3); the drift velocity has magnitude ``rate``
    (m/s) and a direction drawn uniformly on the sphere.
    """
    direction = rng.standard_normal(3)
    direction /= np.linalg.norm(direction)
    n = int(np.prod(shape))
    times = np.arange(n) * dwell
    disp = times[:, None] * (rate * direction)[None, :]
    return np.stack([from_raster_order(disp[:, i], shape) for i in range(3)], axis=-1)


def sample_with_drift(values: np.ndarray, offsets: np.ndarray, spacing: tuple[float, float, float]
                      ) -> np.ndarray:
    """The map ``values`` (nx, ny, nh) sampled at grid positions shifted by ``offsets`` (m).

    Trilinear interpolation; positions beyond the map take the nearest edge value.
    """
    idx = np.indices(values.shape, dtype=float)
    coords = [idx[i] + offsets[..., i] / spacing[i] for i in range(3)]
    return ndimage.map_coordinates(values, coords, order=1, mode="nearest")


@dataclass(frozen=True)
class NoiseModel:
    """Parameters of :func:`add_noise` (SI).

    Attributes
    ----------
    kind : str
        ``"force"`` (signal in N, Curie polarization) or ``"variance"`` (signal in N^2,
        statistical polarization).
    thermal_sigma : float
        Thermal force noise after the lock-in, N (``Cantilever.force_noise(ENBW)``).
    tau : float
        Lock-in time constant, s.
    order : int
        Lock-in filter order (1..4).
    dwell : float
        Time per scan point, s.
    tau_m : float
        Correlation time of the spin fluctuations, s (datasets:
        :func:`mrfm.timedomain.spins.spin_correlation_time`, T1rho shortened by imperfect
        passages).
    drift_rate : float
        Tip-sample drift speed, m/s.
    snr : float or None
        If given, replaces the physical noise by white Gaussian noise of standard deviation
        ``peak|signal| / snr`` (after drift and filtering).
    """

    kind: str
    thermal_sigma: float
    tau: float
    order: int
    dwell: float
    tau_m: float
    drift_rate: float = 0.0
    snr: float | None = None


def _variance_reading(variance: np.ndarray, model: NoiseModel, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """(readings, their standard deviations, the lock-in's capture g) of a force variance
    measured at each point as the dwell's mean square of the lock-in's output X, the known
    thermal variance subtracted.

    X holds the spin signal (variance g sigma^2 after the filter, g of
    :func:`mrfm.physics.spin_noise.lockin_capture_fraction`) and the thermal force
    (``thermal_sigma``^2 after it), Gaussian and independent; the reading's mean is
    g sigma^2, its variance a^2 i_ss + 2 a c i_sw + c^2 i_ww with a = g sigma^2,
    c = thermal_sigma^2 (:func:`mrfm.physics.spin_noise.mean_square_spread_terms`).

    The readings are those of one record: X**2 = s**2 + 2 s w + w**2 (spin s, thermal w),
    three uncorrelated parts whose dwell means have the lag covariances k_ss, k_sw and k_ww
    of :func:`mrfm.physics.spin_noise.mean_square_lag_terms`. Each part is drawn as a
    stationary Gaussian sequence with its covariance (:func:`stationary_gaussian`) and
    scaled by the point's a, sqrt(2 a c) and c: successive readings correlate as the
    record's mean squares do (0.55 one point apart for ``dataset-tmv``, where the spin
    signal's correlation time exceeds the dwell), the spin amplitude taken per point.
    """
    capture = SN.lockin_capture_fraction(model.tau_m, model.tau, model.order)
    terms = SN.mean_square_lag_terms(model.dwell, model.tau_m, model.tau, model.order)
    a = capture * np.abs(variance)
    c = model.thermal_sigma**2
    i_ss, i_sw, i_ww = terms[:, 0]
    std = np.sqrt(a * a * i_ss + 2.0 * a * c * i_sw + c * c * i_ww)
    n = variance.size
    spin, cross, white = (stationary_gaussian(terms[k], n, rng) for k in range(3))
    fluctuation = a * spin + np.sqrt(2.0 * a * c) * cross + c * white
    return capture * variance + fluctuation, std, float(capture)


def stationary_gaussian(covariance: np.ndarray, n: int, rng: np.random.Generator
                        ) -> np.ndarray:
    """``n`` samples of a zero-mean stationary Gaussian sequence whose covariance at lag l
    is ``covariance[l]`` (zero beyond its end): circulant embedding (Dietrich & Newsam,
    SIAM J. Sci. Comput. 18, 1088 (1997)) on 2^k >= 2 (n + L) points, exact where the
    embedding's spectrum is nonnegative; the rounding-level negative part of a truncated
    covariance is set to 0."""
    cov = np.asarray(covariance, dtype=float)
    if n <= 0:
        return np.zeros(0)
    lags = cov.size - 1
    size = 1 << int(math.ceil(math.log2(max(2 * (n + lags), 2))))
    row = np.zeros(size)
    row[: lags + 1] = cov
    if lags:
        row[-lags:] = cov[:0:-1]
    spectrum = np.clip(np.fft.fft(row).real, 0.0, None)
    z = rng.standard_normal(size) + 1j * rng.standard_normal(size)
    return np.fft.fft(np.sqrt(spectrum / size) * z).real[:n]


def add_noise(
    noiseless: np.ndarray,
    *,
    model: NoiseModel,
    spacing: tuple[float, float, float],
    rng: np.random.Generator,
    spin_variance: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """A noisy measurement of the map ``noiseless`` (nx, ny, nh).

    Parameters
    ----------
    noiseless : ndarray
        Noiseless signal on the tip grid (N or N^2).
    model : NoiseModel
    spacing : tuple of 3 float
        Tip-grid spacing (m), for the drift.
    rng : numpy.random.Generator
    spin_variance : ndarray, optional
        For ``kind="force"``: the statistical force variance ``sum mu^2 (dB/dx)^2`` at each
        point (N^2), giving the spin noise on top of the Curie signal.

    Returns
    -------
    noisy : ndarray
    info : dict
        ``sigma`` (standard deviation of noisy - noiseless; of noisy - g noiseless for a
        variance measurement, whose reading is g times the map), ``snr`` (peak/sigma) and the
        components (``thermal_sigma``, ``spin_sigma_rms``, ``drift_rms``; ``drift_rate``,
        the model's speed), SI;
        ``spin_capture``: the fraction of the spin signal's power that the lock-in's filter
        passes (:func:`mrfm.physics.spin_noise.lockin_capture_fraction`; it scales a
        variance measurement's mean and the spin noise; 1 where no spin part is modelled).
    """
    shape = noiseless.shape
    x = np.asarray(noiseless, dtype=float)
    info: dict[str, float] = {"thermal_sigma": 0.0, "spin_sigma_rms": 0.0, "drift_rms": 0.0,
                              "drift_rate": float(model.drift_rate), "spin_capture": 1.0}
    if model.drift_rate > 0:
        offsets = drift_offsets(shape, rate=model.drift_rate, dwell=model.dwell, rng=rng)
        x = sample_with_drift(x, offsets, spacing)
        info["drift_rms"] = float(np.sqrt(np.mean(np.sum(offsets**2, axis=-1))))
    seq = raster_order(x)
    seq = rc_filter(seq, tau=model.tau, dwell=model.dwell, order=model.order)
    if model.snr is None:
        if model.kind == "variance":
            seq, std, capture = _variance_reading(seq, model, rng)
            info["spin_capture"] = capture
            info["spin_sigma_rms"] = float(np.sqrt(np.mean(std**2)))
            info["thermal_sigma"] = model.thermal_sigma
        if model.kind == "force" and spin_variance is not None:
            sigma = np.sqrt(np.maximum(raster_order(spin_variance), 0.0))
            unit, capture = filtered_spin_noise(seq.size, tau_m=model.tau_m, tau=model.tau,
                                                dwell=model.dwell, order=model.order, rng=rng)
            seq = seq + sigma * unit
            info["spin_capture"] = capture
            info["spin_sigma_rms"] = float(np.sqrt(np.mean(sigma**2) * capture))
        if model.kind == "force":
            seq = seq + filtered_white_noise(seq.size, sigma=model.thermal_sigma, tau=model.tau,
                                             dwell=model.dwell, order=model.order, rng=rng)
            info["thermal_sigma"] = model.thermal_sigma
    else:
        peak = float(np.max(np.abs(noiseless)))
        seq = seq + rng.normal(0.0, peak / model.snr, size=seq.size)
    # a variance measurement reads g times the map (the forward model `mrfm reconstruct`
    # uses for it): its noise is measured from that, not from the map
    scale = info["spin_capture"] if model.kind == "variance" else 1.0
    noisy = from_raster_order(seq, shape)
    sigma = float(np.std(noisy - scale * noiseless))
    peak = scale * float(np.max(np.abs(noiseless)))
    info["sigma"] = sigma
    info["snr"] = peak / sigma if sigma > 0 else float("inf")
    return noisy, info
