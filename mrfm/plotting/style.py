"""Shared figure style: readable fonts, no display needed (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

RC = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "image.cmap": "viridis",
}


def figure(*args, **kwargs):
    """``plt.subplots`` with the package's style applied."""
    plt.rcParams.update(RC)
    return plt.subplots(*args, **kwargs)


def save(fig, path) -> None:
    """Save and close a figure."""
    fig.savefig(path)
    plt.close(fig)
