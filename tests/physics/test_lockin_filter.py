"""mrfm.physics.lockin: ENBW closed forms against the numerical integral of |H|^2."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gamma

from mrfm.errors import UserError
from mrfm.physics import lockin


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_enbw_is_the_integral_of_the_power_response(order):
    tau = 3e-3
    value, _ = integrate.quad(
        lambda f: abs(lockin.response(f, time_constant=tau, order=order)) ** 2,
        0, np.inf, limit=200)
    assert lockin.enbw(tau, order) == pytest.approx(value, rel=1e-8)
    closed = gamma(order - 0.5) / (4 * math.sqrt(math.pi) * gamma(order) * tau)
    assert lockin.enbw(tau, order) == pytest.approx(closed, rel=1e-12)
    assert lockin.time_constant_for_enbw(lockin.enbw(tau, order), order) == pytest.approx(tau)


def test_slopes_and_bad_values():
    assert [lockin.filter_order(s) for s in (6, 12, 18, 24)] == [1, 2, 3, 4]
    for bad in (lambda: lockin.filter_order(9), lambda: lockin.enbw(0.0, 2),
                lambda: lockin.enbw(1.0, 5), lambda: lockin.time_constant_for_enbw(-1.0, 1)):
        with pytest.raises(UserError):
            bad()
    # -3 dB point of one pole at f = 1/(2 pi tau)
    assert abs(lockin.response(1 / (2 * math.pi), time_constant=1.0, order=1)) ** 2 == (
        pytest.approx(0.5))
