"""Figures of a simulated signal map: a 2-D map with a colour bar and a line cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mrfm.plotting.style import colour_scale, extent, figure, save, scaled_unit

_AXIS_LABEL = {"x": "tip x", "y": "tip y", "z": "tip height"}
#: what the signal is, by its SI unit
_QUANTITY = {"N": "force", "N^2": "force variance", "Hz": "frequency shift",
             "Hz^2": "frequency-shift variance"}


def plot(path: str | Path, out_png: str | Path) -> Path:
    """Plot the signal map in ``path`` (written by ``SignalMap.to_hdf5``) to ``out_png``.

    Two varying tip axes give a colour map (at the first value of the third axis; a
    diverging scale for a signed signal, sequential from zero for a variance) plus a line
    cut through the peak; one varying axis gives line plots (one per tip height). The
    format follows the extension of ``out_png`` (png, pdf, svg).
    """
    from mrfm.solver.result import SignalMap

    res = SignalMap.from_hdf5(path)
    sig = res.signal
    factor, unit_label = scaled_unit(sig, res.unit)
    quantity = _QUANTITY.get(res.unit, "signal")
    axes = [a for a, n in zip("xyz", sig.shape, strict=True) if n > 1]
    coords = res.coords
    all_pos = np.concatenate([np.abs(coords[a]) for a in "xyz"] + [np.zeros(1)])
    lfac, lunit = scaled_unit(all_pos, "m")
    lpre = lunit[:-1]
    title = f"{res.protocol} signal ({res.polarization})"
    if len(axes) >= 2:
        a0, a1 = axes[0], axes[1]
        i0, i1 = "xyz".index(a0), "xyz".index(a1)
        sl = [slice(None) if i in (i0, i1) else 0 for i in range(3)]
        plane = sig[tuple(sl)] * factor
        fig, (ax_map, ax_cut) = figure(1, 2, figsize=(12.5, 4.8), layout="constrained")
        fig.get_layout_engine().set(wspace=0.12)
        lateral = {a0, a1} == {"x", "y"}
        im = ax_map.imshow(plane.T, origin="lower",
                           extent=extent(coords[a0] * lfac, coords[a1] * lfac),
                           aspect="equal" if lateral else "auto", interpolation="nearest",
                           **colour_scale(plane, res.unit))
        cb = fig.colorbar(im, ax=ax_map)
        cb.set_label(f"{quantity} ({unit_label})")
        ax_map.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax_map.set_ylabel(f"{_AXIS_LABEL[a1]} ({lpre}m)")
        if lateral:
            title += f", tip height {coords['z'][0] * 1e9:.3g} nm"
        ax_map.set_title(title)
        k = int(np.unravel_index(np.argmax(np.abs(plane)), plane.shape)[1])
        ax_cut.plot(coords[a0] * lfac, plane[:, k], lw=1.6)
        ax_cut.axhline(0.0, color="0.6", lw=0.8)
        ax_cut.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax_cut.set_ylabel(f"{quantity} ({unit_label})")
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
            ax.legend(loc="best")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel(f"{_AXIS_LABEL[a0]} ({lpre}m)")
        ax.set_ylabel(f"{quantity} ({unit_label})")
        ax.set_title(title)
    out = Path(out_png)
    save(fig, out)
    return out
