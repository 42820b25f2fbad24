"""Slices of a 3-D spin density (reconstruction or dataset item) beside the ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mrfm.plotting.style import figure, save


def _indices(volume: np.ndarray) -> tuple[int, int]:
    """(layer k, row j) holding the most spins (the middle for an empty volume)."""
    _, ny, nz = volume.shape
    k = int(np.argmax(volume.sum(axis=(0, 1)))) if volume.any() else nz // 2
    j = int(np.argmax(volume.sum(axis=(0, 2)))) if volume.any() else ny // 2
    return k, j


def _axes(group, shape: tuple[int, ...], names: tuple[str, str, str]
          ) -> tuple[list[np.ndarray], str]:
    """Coordinates in nm from the group's axis datasets, else voxel indices; and the unit."""
    if all(name in group and group[name].shape == (n,)
           for name, n in zip(names, shape, strict=True)):
        return [np.asarray(group[name][()], dtype=float) * 1e9 for name in names], "nm"
    return [np.arange(n, dtype=float) for n in shape], "index"


def _extent(a: np.ndarray, b: np.ndarray) -> list[float]:
    """imshow extent with pixel centres on the coordinates."""
    da = (a[1] - a[0]) / 2 if a.size > 1 else 0.5
    db = (b[1] - b[0]) / 2 if b.size > 1 else 0.5
    return [a[0] - da, a[-1] + da, b[0] - db, b[-1] + db]


def plot(path: str | Path, out_png: str | Path) -> None:
    """Write a PNG of a reconstruction or dataset item: an x-y slice and an x-z slice per row.

    Rows: the reconstructed density (reconstruction files) or the noisy scan at its first
    tip height (dataset items), and the ground truth where the file has one. Slices pass
    through the layer and the y row holding the most spins (of the ground truth when
    present). Axes are in nm (voxel indices for files without coordinates).
    """
    from mrfm.data.nexus import open_mrfm_file, read_kind, units_of

    rows: list[tuple[str, np.ndarray, str, tuple[list[np.ndarray], str], str]] = []
    with open_mrfm_file(path, kinds=("reconstruction", "dataset_item")) as fh:
        kind = read_kind(fh)
        entry = fh["entry"]
        if kind == "reconstruction":
            vol = np.asarray(entry["data/density"][()], dtype=float)
            rows.append(("reconstruction", vol, "spin density (m$^{-3}$)",
                         _axes(entry["data"], vol.shape, ("x", "y", "z")), "z"))
        else:
            sig = entry["data/signal"]
            vol = np.asarray(sig[()], dtype=float)
            rows.append(("noisy scan", vol, f"signal ({units_of(sig)})",
                         _axes(entry["data"], vol.shape, ("x", "y", "height")), "tip height"))
        if "ground_truth" in entry:
            gt = entry["ground_truth"]
            vol = np.asarray(gt["density"][()], dtype=float)
            rows.append(("ground truth", vol, "spin density (m$^{-3}$)",
                         _axes(gt, vol.shape, ("x", "y", "z")), "z"))
    k, j = _indices(rows[-1][1])
    fig, axes = figure(len(rows), 2, figsize=(11, 4.0 * len(rows)), squeeze=False,
                       layout="constrained")
    for r, (label, vol, cbar, ((x, y, z), unit), zname) in enumerate(rows):
        kk, jj = min(k, vol.shape[2] - 1), min(j, vol.shape[1] - 1)
        panels = [
            (vol[:, :, kk].T, _extent(x, y), f"{label}: x-y at {zname} = {z[kk]:.3g} {unit}",
             "y"),
            (vol[:, jj, :].T, _extent(x, z), f"{label}: x-{zname} at y = {y[jj]:.3g} {unit}",
             zname),
        ]
        for c, (image, extent, title, ylabel) in enumerate(panels):
            ax = axes[r][c]
            im = ax.imshow(image, origin="lower", extent=extent, aspect="auto", cmap="magma")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel(f"x ({unit})")
            ax.set_ylabel(f"{ylabel} ({unit})")
            fig.colorbar(im, ax=ax, label=cbar)
    save(fig, out_png)
