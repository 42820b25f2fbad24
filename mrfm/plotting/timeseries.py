"""Figure of a time-series file: traces, displacement PSD with the thermal Lorentzian, lock-in."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.signal

from mrfm.plotting.style import figure, save, scaled_unit

#: at most this many samples are read for the PSD (Welch) and the lock-in panel
MAX_SAMPLES = 2**22


def plot(path: str | Path, out_png: str | Path) -> None:
    """Draw ``path`` (an mrfm time-series HDF5 file) into ``out_png``.

    Panels: the first cantilever periods of the displacement (and photodiode, calibrated to
    metres); the one-sided displacement PSD (Welch, Hann) on log axes with the thermal
    Lorentzian S_F |H(f)|^2 of the cantilever overlaid; lock-in X, Y (and the PLL
    frequency shift when present) versus time.
    """
    from mrfm.timedomain.oscillator import lorentzian_psd
    from mrfm.timedomain.stream import read_timeseries

    rec = read_timeseries(path, count=MAX_SAMPLES)
    ch = rec["channels"]
    fs = rec["sample_rate"]
    par = rec["parameters"]
    x = ch["displacement"]
    n = x.size
    t = np.arange(n) / fs
    k, f0, q = float(par["k"]), float(par["f0"]), float(par["Q"])
    t_eff = float(par["effective_temperature"])
    fig, axes = figure(3, 1, figsize=(8, 10.5), layout="constrained")
    ax = axes[0]
    m = min(n, int(20 * fs / f0) + 1)
    ax.plot(t[:m] * 1e3, x[:m] * 1e9, label="cantilever x")
    if "photodiode" in ch and float(par.get("gain", 0)) > 0:
        from mrfm.timedomain.interferometer import quadrature_slope

        cal = float(par["gain"]) * quadrature_slope(power=float(par["power"]),
                                                    visibility=float(par["visibility"]),
                                                    wavelength=float(par["wavelength"]))
        ax.plot(t[:m] * 1e3, ch["photodiode"][:m] / cal * 1e9, lw=0.8, alpha=0.7,
                label="photodiode (calibrated)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("displacement (nm)")
    fscale, funit = scaled_unit(fs, "Hz")
    fig.suptitle(f"{Path(path).name}: {rec['samples_written']} samples at "
                 f"{fs * fscale:.4g} {funit}, f0 = {f0:.5g} Hz, Q = {q:.3g}")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    ax = axes[1]
    if n >= 16:
        nper = min(n, 2 ** int(math.log2(max(16, min(n // 8, 2**18)))))
        f, pxx = scipy.signal.welch(x, fs=fs, nperseg=nper)
        ax.loglog(f[1:], pxx[1:], lw=0.8, label="simulated (Welch)")
        if t_eff > 0:
            ax.loglog(f[1:], lorentzian_psd(f[1:], k=k, f0=f0, Q=q, temperature=t_eff), "k--",
                      lw=1, label=f"thermal Lorentzian, T = {t_eff:.3g} K")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("displacement PSD $S_x$ (m²/Hz)")
    ax.legend(loc="lower left", fontsize=9)
    ax = axes[2]
    step = max(1, n // 20000)
    names = [name for name in ("lockin_x", "lockin_y") if name in ch]
    vscale, vunit = scaled_unit(np.concatenate([ch[nm][::step] for nm in names])
                                if names else np.zeros(1), "V")
    for name in names:
        ax.plot(t[::step], ch[name][::step] * vscale, lw=0.8,
                label={"lockin_x": "lock-in X", "lockin_y": "lock-in Y"}[name])
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"lock-in output ({vunit} rms)")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    if "frequency_shift" in ch:
        ax2 = ax.twinx()
        ax2.plot(t[::step], ch["frequency_shift"][::step], color="C3", lw=0.6, alpha=0.7)
        ax2.set_ylabel("PLL frequency shift (Hz)", color="C3")
    save(fig, out_png)
