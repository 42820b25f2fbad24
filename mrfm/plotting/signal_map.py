"""Figures of a simulated signal map: a 2-D map with a colour bar and a line cut."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mrfm.plotting.style import figure, save
from mrfm.units import engineering_scale

_AXIS_LABEL = {"x": "tip x", "y": "tip y", "z": "tip height"}


def _scaled_unit(values: np.ndarray, unit: str) -> tuple[float, str]:
    """Factor and label so the values read in engineering units (aN, mHz, aN^2 ...)."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if unit.endswith("^2"):
        base = unit[:-2]
        factor, prefix = engineering_scale(math.sqrt(peak))
        return factor**2, f"{prefix}{base}²"
    factor, prefix = engineering_scale(peak)
    return factor, f"{prefix}{unit}"


def plot(path: str | Path, out_png: str | Path) -> Path:
    """Plot the signal map in ``path`` (written by ``SignalMap.to_hdf5``) to ``out_png``.

    Two varying tip axes give a colour map (at the first value of the third axis) plus a
    line cut through the peak; one varying axis gives line plots (one per tip height).
    """
    from mrfm.solver.result import SignalMap

    res = SignalMap.from_hdf5(path)
    sig = res.signal
    factor, unit_label = _scaled_unit(sig, res.unit)
    axes = [a for a, n in zip("xyz", sig.shape, strict=True) if n > 1]
    coords = res.coords
    all_pos = np.concatenate([np.abs(coords[a]) for a in "xyz"] + [np.zeros(1)])
    lfac, lpre = engineering_scale(float(all_pos.max()))
    title = f"{res.protocol} signal ({res.polarization})"
    if len(axes) >= 2:
        a0, a1 = axes[0], axes[1]
        i0, i1 = "xyz".index(a0), "xyz".index(a1)
        sl = [slice(None) if i in (i0, i1) else 0 for i in range(3)]
        plane = sig[tuple(sl)] * factor
        fig, (ax_map, ax_cut) = figure(1, 2, figsize=(12.5, 4.8), layout="constrained")
        fig.get_layout_engine().set(wspace=0.12)
        extent = [coords[a0][0] * lfac, coords[a0][-1] * lfac,
                  coords[a1][0] * lfac, coords[a1][-1] * lfac]
        vmax = float(np.max(np.abs(plane))) or 1.0
        signed = bool(np.any(plane < 0))
        lateral = {a0, a1} == {"x", "y"}
        im = ax_map.imshow(plane.T, origin="lower", extent=extent,
                           aspect="equal" if lateral else "auto",
                           cmap="RdBu_r" if signed else "viridis",
                           vmin=-vmax if signed else None, vmax=vmax if signed else None)
        cb = fig.colorbar(im, ax=ax_map)
        cb.set_label(f"signal ({unit_label})")
        ax_map.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax_map.set_ylabel(f"{_AXIS_LABEL[a1]} ({lpre}m)")
        if lateral:
            title += f", tip height {coords['z'][0] * 1e9:.3g} nm"
        ax_map.set_title(title)
        k = int(np.unravel_index(np.argmax(np.abs(plane)), plane.shape)[1])
        ax_cut.plot(coords[a0] * lfac, plane[:, k], lw=1.6)
        ax_cut.axhline(0.0, color="0.6", lw=0.8)
        ax_cut.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax_cut.set_ylabel(f"signal ({unit_label})")
        ax_cut.set_title(f"line cut at {_AXIS_LABEL[a1]} = {coords[a1][k] * lfac:.3g} {lpre}m")
    else:
        a0 = axes[0] if axes else "x"
        i0 = "xyz".index(a0)
        fig, ax = figure(1, 1, figsize=(6.5, 4.4), layout="constrained")
        heights = coords["z"]
        if a0 == "z":
            line = sig.reshape(-1) * factor
            ax.plot(heights * lfac, line, marker="o" if line.size < 30 else None)
        else:
            for iz, hz in enumerate(heights):
                sl = [0, 0, iz]
                sl[i0] = slice(None)
                line = sig[tuple(sl)] * factor
                ax.plot(coords[a0] * lfac, line, marker="o" if line.size < 30 else None,
                        label=f"height {hz * lfac:.3g} {lpre}m")
            ax.legend()
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax.set_ylabel(f"signal ({unit_label})")
        ax.set_title(title)
    out = Path(out_png)
    save(fig, out)
    return out
