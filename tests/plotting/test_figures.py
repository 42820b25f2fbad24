"""Figure conventions: colour scale by sign, unit prefixes, depth slices, output formats."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest

from mrfm.errors import UserError
from mrfm.plotting import style
from mrfm.plotting.volume import depth_layers


def test_colour_scale_is_sequential_for_non_negative_and_diverging_for_signed():
    seq = style.colour_scale(np.array([0.0, 2.0, 5.0]))
    assert seq["cmap"] == style.SEQUENTIAL
    assert (seq["norm"].vmin, seq["norm"].vmax) == (0.0, 5.0)
    div = style.colour_scale(np.array([-1.0, 3.0, np.nan]))
    assert div["cmap"] == style.DIVERGING
    assert (div["norm"].vmin, div["norm"].vmax) == (-3.0, 3.0)
    # a variance is non-negative by definition, whatever round-off says
    var = style.colour_scale(np.array([-1e-3, 4.0]), "N^2")
    assert var["cmap"] == style.SEQUENTIAL and var["norm"].vmin == 0.0
    # round-off negatives far below the peak do not make data signed
    assert style.colour_scale(np.array([-1e-12, 1.0]))["cmap"] == style.SEQUENTIAL
    neg = style.colour_scale(np.array([-2.0, -1.0]))
    assert neg["cmap"] == style.SEQUENTIAL + "_r" and neg["norm"].vmax == 0.0
    assert isinstance(neg["norm"], mcolors.Normalize)


@pytest.mark.parametrize(("values", "unit", "factor", "label"), [
    (3e-16, "N", 1e18, "aN"),
    (4.5e-34, "N^2", 1e36, "aN²"),
    (-0.12, "Hz", 1e3, "mHz"),
    (2.5e-8, "m", 1e9, "nm"),
    (6e4, "Hz", 1e-3, "kHz"),
    (4.2, "K", 1.0, "K"),
    (0.0, "N", 1.0, "N"),
])
def test_scaled_unit_reads_between_1_and_999(values, unit, factor, label):
    f, u = style.scaled_unit(np.array([values]), unit)
    assert f == pytest.approx(factor) and u == label
    if values:
        assert 1.0 <= abs(values) * f < 1000.0 or unit == "K"


def test_figure_format_follows_the_extension(tmp_path):
    for ext, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        fig, ax = style.figure()
        ax.plot([0, 1], [0, 1])
        out = style.save(fig, tmp_path / f"f{ext}")
        assert out.read_bytes().startswith(magic), ext
    with pytest.raises(UserError, match="allowed: .png, .pdf, .svg"):
        style.check_output(tmp_path / "f.jpg")


def test_depth_layers_span_the_layers_holding_spins():
    vol = np.zeros((4, 4, 10))
    vol[:, :, 2:8] = 1.0
    layers = depth_layers(vol, 4)
    assert layers == [2, 4, 5, 7]
    assert depth_layers(np.zeros((2, 2, 6))) == [3]
    one = np.zeros((3, 3, 5))
    one[1, 1, 4] = 1.0
    assert depth_layers(one) == [4]
