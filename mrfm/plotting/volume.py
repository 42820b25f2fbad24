"""Depth slices of a 3-D spin density (reconstruction or dataset item) beside the ground truth.

One row per volume (the reconstruction, or a dataset item's noisy scan, then the ground
truth where the file has one): x-y slices at up to :data:`DEPTHS` depths through the
layers that hold spins, and one x-z slice through the row holding the most spins (both
chosen on the ground truth when there is one, so the rows compare like with like). All
panels of a row share one colour scale (sequential from zero for a density or a
variance, diverging for signed data) in physical units; axes are in nm.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mrfm.plotting.style import colour_scale, extent, figure, label, save, scaled_unit

#: x-y slices drawn per volume
DEPTHS = 4


def _axes(group, shape: tuple[int, ...], names: tuple[str, str, str]
          ) -> list[np.ndarray] | None:
    """Coordinates (m) from the group's axis datasets; None when it has none."""
    if all(name in group and group[name].shape == (n,)
           for name, n in zip(names, shape, strict=True)):
        return [np.asarray(group[name][()], dtype=float) for name in names]
    return None


def depth_layers(volume: np.ndarray, count: int = DEPTHS) -> list[int]:
    """Up to ``count`` layer indices (last axis), evenly spread over the layers holding
    signal (|value| above 1 % of the peak); the middle layer for an empty volume."""
    nz = volume.shape[2]
    weight = np.abs(volume).sum(axis=(0, 1))
    if not np.any(weight > 0):
        return [nz // 2]
    filled = np.flatnonzero(weight > 0.01 * weight.max())
    lo, hi = int(filled.min()), int(filled.max())
    picks = np.unique(np.round(np.linspace(lo, hi, min(count, hi - lo + 1))).astype(int))
    return [int(k) for k in picks]


def _decade(values: np.ndarray) -> tuple[float, str]:
    """Factor and label ``10^n`` so the values peak between 1 and 999 (units without prefix)."""
    v = np.abs(values[np.isfinite(values)])
    peak = float(v.max()) if v.size else 0.0
    if peak == 0.0:
        return 1.0, ""
    n = int(math.floor(math.log10(peak) / 3.0) * 3)
    return 10.0 ** (-n), (f"$10^{{{n}}}$ " if n else "")


def plot(path: str | Path, out_png: str | Path) -> Path:
    """Write the figure of a reconstruction or dataset-item file (png, pdf or svg).

    Parameters
    ----------
    path : str or Path
        A file of kind ``reconstruction`` or ``dataset_item``.
    out_png : str or Path
        Figure path; the format follows its extension.
    """
    from mrfm.data.nexus import open_mrfm_file, read_kind, units_of

    rows: list[tuple[str, np.ndarray, str, str, list[np.ndarray] | None, str]] = []
    with open_mrfm_file(path, kinds=("reconstruction", "dataset_item")) as fh:
        kind = read_kind(fh)
        entry = fh["entry"]
        names = ("x", "y", "z")
        if kind == "reconstruction":
            vol = np.asarray(entry["data/density"][()], dtype=float)
            rows.append(("reconstruction", vol, "spin density", "m$^{-3}$",
                         _axes(entry["data"], vol.shape, names), "z"))
        else:
            sig = entry["data/signal"]
            vol = np.asarray(sig[()], dtype=float)
            rows.append(("noisy scan", vol, "signal", units_of(sig),
                         _axes(entry["data"], vol.shape, ("x", "y", "height")), "tip height"))
        if "ground_truth" in entry:
            gt = entry["ground_truth"]
            vol = np.asarray(gt["density"][()], dtype=float)
            coords = _axes(gt, vol.shape, names)
            if coords is None and kind == "reconstruction" and vol.shape == rows[0][1].shape:
                coords = rows[0][4]  # the phantom lives on the reconstruction's voxels
            rows.append(("ground truth", vol, "spin density", "m$^{-3}$", coords, "z"))
    layers = depth_layers(rows[-1][1])
    ref = np.abs(rows[-1][1])
    row = int(np.argmax(ref.sum(axis=(0, 2)))) if ref.any() else ref.shape[1] // 2
    ncol = len(layers) + 1
    fig, axes = figure(len(rows), ncol, figsize=(3.3 * ncol + 1.0, 3.4 * len(rows)),
                       squeeze=False, layout="constrained")
    for r, (title, vol, quantity, unit, coords, zname) in enumerate(rows):
        located = coords is not None
        x, y, z = coords if located else [np.arange(n, dtype=float) for n in vol.shape]
        if unit in ("m$^{-3}$", ""):
            factor, prefix = _decade(vol)
            cunit = prefix + unit
        else:
            factor, cunit = scaled_unit(vol, unit)
        scale = colour_scale(vol * factor, unit)
        lunit = "nm" if located else "voxel"
        lf = 1e9 if located else 1.0
        j = min(row, vol.shape[1] - 1)
        im = None
        for c, k in enumerate(layers):
            kk = min(k, vol.shape[2] - 1)
            ax = axes[r][c]
            im = ax.imshow((vol[:, :, kk] * factor).T, origin="lower", aspect="equal",
                           extent=extent(x * lf, y * lf), interpolation="nearest", **scale)
            ax.set_title(f"{title}\n{zname} = {z[kk] * lf:.3g} {lunit}", fontsize=10)
            ax.set_xlabel(f"x ({lunit})")
            if c == 0:
                ax.set_ylabel(f"y ({lunit})")
        ax = axes[r][ncol - 1]
        ax.imshow((vol[:, j, :] * factor).T, origin="lower", aspect="auto",
                  extent=extent(x * lf, z * lf), interpolation="nearest", **scale)
        ax.set_title(f"{title}\nx-{zname} at y = {y[j] * lf:.3g} {lunit}", fontsize=10)
        ax.set_xlabel(f"x ({lunit})")
        ax.set_ylabel(f"{zname} ({lunit})")
        fig.colorbar(im, ax=list(axes[r]), label=label(quantity, cunit.strip()), shrink=0.9)
    return save(fig, out_png)
