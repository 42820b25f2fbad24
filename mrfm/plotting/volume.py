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


def _slices(volume: np.ndarray, k: int, j: int) -> list[tuple[str, np.ndarray]]:
    k = min(k, volume.shape[2] - 1)
    j = min(j, volume.shape[1] - 1)
    return [(f"x-y, layer {k}", volume[:, :, k].T), (f"x-z, y index {j}", volume[:, j, :].T)]


def plot(path: str | Path, out_png: str | Path) -> None:
    """Write a PNG of a reconstruction or dataset item: density slices (m^-3) per row.

    Rows: the reconstructed density (reconstruction files) or the noisy scan's top height
    (dataset items), and the ground truth where the file has one. Slices pass through the
    layer and the y row holding the most spins (of the ground truth when present).
    """
    from mrfm.data.nexus import open_mrfm_file, read_kind

    rows: list[tuple[str, np.ndarray, str]] = []
    with open_mrfm_file(path, kinds=("reconstruction", "dataset_item")) as fh:
        kind = read_kind(fh)
        entry = fh["entry"]
        if kind == "reconstruction":
            rows.append(("reconstruction", entry["data/density"][()], "m^-3"))
        else:
            sig = entry["data/signal"]
            unit = sig.attrs.get("units", "")
            rows.append(("noisy scan", sig[()], str(unit)))
        if "ground_truth" in entry:
            rows.append(("ground truth", entry["ground_truth/density"][()], "m^-3"))
    k, j = _indices(np.asarray(rows[-1][1], dtype=float))
    fig, axes = figure(len(rows), 2, figsize=(9, 3.6 * len(rows)), squeeze=False)
    for r, (label, vol, unit) in enumerate(rows):
        for c, (title, image) in enumerate(_slices(np.asarray(vol, dtype=float), k, j)):
            ax = axes[r][c]
            im = ax.imshow(image, origin="lower", aspect="auto")
            ax.set_title(f"{label}: {title}")
            ax.set_xlabel("x index")
            ax.set_ylabel("y index" if c == 0 else "z index (0 = deepest)")
            fig.colorbar(im, ax=ax, label=unit)
    save(fig, out_png)
