"""Shared figure style: fonts, colour scales, unit prefixes and saving (no display needed).

Conventions every mrfm figure follows:

* a quantity that is never negative (a force variance, a spin density, a PSD) gets a
  sequential colour scale starting at zero; a signed one (a CAI force, a frequency shift)
  a diverging scale symmetric about zero (:func:`colour_scale`);
* every axis and colour bar is in physical units with an engineering prefix, so numbers
  read 1 to 999 (aN, nm, mHz, aN²; :func:`scaled_unit`), never with an offset exponent;
* the output format follows the file name's extension (:data:`FORMATS`).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mrfm.errors import UserError  # noqa: E402
from mrfm.unit_format import engineering_scale  # noqa: E402

RC = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "legend.framealpha": 0.85,
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "image.cmap": "viridis",
    "axes.formatter.useoffset": False,
}

#: figure formats, chosen by the output file's extension
FORMATS = (".png", ".pdf", ".svg")
#: colour maps: sequential (non-negative quantities) and diverging (signed ones)
SEQUENTIAL = "viridis"
DIVERGING = "RdBu_r"


def figure(*args, **kwargs):
    """``plt.subplots`` with the package's style applied."""
    plt.rcParams.update(RC)
    return plt.subplots(*args, **kwargs)


def check_output(path: str | Path) -> Path:
    """The figure path, refused (UserError) unless its extension is one of :data:`FORMATS`."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise UserError(
            f"-o {out}: the figure format comes from the extension; allowed: "
            + ", ".join(FORMATS))
    return out


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` in the format of ``path``'s extension (png, pdf, svg) and close it."""
    out = check_output(path)
    fig.savefig(out, format=out.suffix.lower().lstrip("."))
    plt.close(fig)
    return out


def scaled_unit(values: np.ndarray | float, unit: str) -> tuple[float, str]:
    """Factor and prefixed unit so ``values * factor`` peaks between 1 and 999.

    Squared units scale with the square of the prefix: a force variance of 3e-34 N^2
    reads 300 aN². An empty unit or all-zero/non-finite values give (1, unit).

    Parameters
    ----------
    values : array_like
        Any shape; the largest finite |value| sets the prefix.
    unit : str
        SI unit, e.g. ``"N"``, ``"Hz"``, ``"m"``, ``"N^2"``.
    """
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    peak = float(v.max()) if v.size else 0.0
    if not unit or peak == 0.0 or unit == "K":
        return 1.0, unit
    if unit.endswith("^2"):
        factor, prefix = engineering_scale(math.sqrt(peak))
        return factor**2, f"{prefix}{unit[:-2]}²"
    factor, prefix = engineering_scale(peak)
    return factor, f"{prefix}{unit}"


def label(name: str, unit: str) -> str:
    """``"name (unit)"``, or the name alone for a dimensionless quantity."""
    return f"{name} ({unit})" if unit else name


def colour_scale(values: np.ndarray, unit: str = "") -> dict[str, object]:
    """imshow keyword arguments (``cmap``, ``norm``) for ``values``.

    A variance (a unit ending in ``^2``, never negative by definition) or data with no
    negative value gets a sequential scale from 0; signed data a diverging scale symmetric
    about 0; data with no positive value a reversed sequential scale ending at 0.
    Round-off negatives smaller than 1e-9 of the peak do not make data signed.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = float(v.min()) if v.size else 0.0
    hi = float(v.max()) if v.size else 1.0
    tiny = 1e-9 * max(abs(lo), abs(hi))
    if unit.endswith("^2") or unit.endswith("²") or lo >= -tiny:
        return {"cmap": SEQUENTIAL, "norm": mcolors.Normalize(0.0, hi if hi > 0 else 1.0)}
    if hi <= tiny:
        return {"cmap": SEQUENTIAL + "_r", "norm": mcolors.Normalize(lo, 0.0)}
    peak = max(-lo, hi)
    return {"cmap": DIVERGING, "norm": mcolors.Normalize(-peak, peak)}


def extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """imshow extent with pixel centres on the (uniform) coordinates ``x``, ``y``."""

    def edges(v: np.ndarray) -> tuple[float, float]:
        v = np.asarray(v, dtype=float)
        if v.size < 2:
            return float(v[0]) - 0.5, float(v[0]) + 0.5
        h = (v[-1] - v[0]) / (v.size - 1) / 2
        return float(v[0] - h), float(v[-1] + h)

    return (*edges(x), *edges(y))
