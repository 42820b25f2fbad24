"""The demo experiment behind ``mrfm demo``: every step writes a file a new user can open."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mrfm.resources import data_dir


def demo_config_path() -> Path:
    """The demo preset shipped with mrfm."""
    return data_dir("configs") / "demo.toml"


def plot_gradient_map(exp, path: Path) -> None:
    """PNG of the tip's dBz/dx on the sample surface at the smallest scan height."""
    from mrfm.info import gradient_plane
    from mrfm.plotting.style import figure, save
    from mrfm.units import engineering_scale

    h = float(np.min(exp.scan.height))
    size = max(float(np.max(exp.magnet.params)), h)
    x, y, g, _ = gradient_plane(exp.magnet, h, 2.5 * (size + h), n=301)
    lscale, lprefix = engineering_scale(float(np.max(np.abs(x))))
    fig, ax = figure(figsize=(6.0, 5.0))
    gmax = float(np.max(np.abs(g)))
    im = ax.pcolormesh(x * lscale, y * lscale, g.T, cmap="RdBu_r", vmin=-gmax, vmax=gmax,
                       shading="auto")
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label("dB$_z$/dx (T/m)")
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({lprefix}m)")
    ax.set_ylabel(f"y ({lprefix}m)")
    ax.set_title(f"Tip field gradient on the sample surface\n"
                 f"{type(exp.magnet).__name__}, {h * 1e9:.0f} nm above, max {gmax:.3g} T/m")
    save(fig, path)


def run_demo(out: Path, log: Callable[[str], None] = print) -> dict[str, object]:
    """Run the demo experiment into folder ``out``; returns a JSON-able summary."""
    from mrfm.cli.info_cmd import render_table
    from mrfm.config import load
    from mrfm.info import summarize

    t0 = time.perf_counter()
    exp = load(demo_config_path())
    summary = summarize(exp)
    log(render_table(summary))
    gradient_png = out / "tip_gradient.png"
    plot_gradient_map(exp, gradient_png)
    log(f"wrote {gradient_png}")
    result = summary.as_json()
    result["files"] = [str(gradient_png)]
    result["elapsed_s"] = time.perf_counter() - t0
    return result
