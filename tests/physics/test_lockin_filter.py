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


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_step_response_and_settling_time(order):
    """The n-pole filter's step response against the Erlang closed form
    1 - e^-x sum_{k<n} x^k / k! (x = t / tau) and against a simulation of n RC sections
    (exact one-step updates of a held unit step, 1e4 steps per tau); the 99 % settling
    times 4.61, 6.64, 8.41, 10.05 tau (SR830 manual, ch. 3: about 5, 7, 9, 10 tau)."""
    tau = 0.03
    t = np.array([0.0, 0.5, 2.0, 5.0, 9.0]) * tau
    x = t / tau
    erlang = 1 - np.exp(-x) * sum(x**k / math.factorial(k) for k in range(order))
    got = lockin.step_response(t, time_constant=tau, order=order)
    np.testing.assert_allclose(got, erlang, rtol=1e-12, atol=1e-15)
    dt = tau / 1e4
    a = math.exp(-dt / tau)
    y = np.zeros(order)
    steps = int(round(5.0 * tau / dt))
    for _ in range(steps):
        prev = 1.0
        for k in range(order):
            y[k] = a * y[k] + (1 - a) * prev
            prev = y[k]
    assert y[-1] == pytest.approx(lockin.step_response(5.0 * tau, time_constant=tau,
                                                       order=order), abs=2e-4)
    t99 = lockin.settling_time(tau, order)
    assert lockin.step_response(t99, time_constant=tau, order=order) == pytest.approx(0.99)
    assert t99 / tau == pytest.approx([4.6052, 6.6384, 8.4059, 10.0451][order - 1], abs=1e-3)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("ratio", [0.7, 1e-4])
def test_held_input_response_is_the_sections_integrated_exactly(order, ratio):
    """The sampled filter (``held_input_steps``, ``held_input_response``) against the
    sections integrated exactly by a matrix exponential of the state with the held input as
    one more state (scipy's expm, an independent algorithm): a random input held over 60
    steps of ``ratio`` tau (1e-4: where the rational form with the n-fold pole lost 10 % of
    its gain at 24 dB/oct), the output at the end of each step to 1e-12 of the input; the
    closed-form propagator to 1e-15. And a step against P(n, k x) (``step_response``):
    after one step of tau, 12 dB/oct reaches 1 - 2/e = 0.2642 (a chain of first-order
    sampled sections, each exact alone, gave 0.40)."""
    from scipy import linalg

    tau = 0.03
    dt = ratio * tau
    a = lockin.filter_matrix(tau, order)
    aug = np.zeros((order + 1, order + 1))
    aug[:order, :order] = a
    aug[0, order] = 1.0 / tau
    step = linalg.expm(aug * dt)
    phi, hold = lockin.held_input_steps(tau, order, dt)
    assert np.max(np.abs(phi - step[:order, :order])) < 1e-15
    assert np.max(np.abs(hold - step[:order, order])) < 1e-15
    assert phi[0, 0] == lockin.section_pole(tau, dt)
    u = np.random.default_rng(7).standard_normal(60)
    y = np.full(order, 0.3)  # settled at 0.3 before the first step
    expected = []
    for x in u:
        y = step[:order, :order] @ y + step[:order, order] * x
        expected.append(y[-1])
    got = lockin.held_input_response(u, time_constant=tau, order=order, dt=dt, initial=0.3)
    assert np.max(np.abs(got - np.array(expected))) < 1e-12
    ones = lockin.held_input_response(np.ones(6), time_constant=tau, order=order, dt=dt,
                                      initial=0.0)
    assert ones == pytest.approx(lockin.step_response(np.arange(1, 7) * dt, time_constant=tau,
                                                      order=order), rel=1e-12, abs=1e-15)
    if order == 2:
        first = lockin.held_input_response([1.0], time_constant=1.0, order=2, dt=1.0,
                                           initial=0.0)[0]
        assert first == pytest.approx(1.0 - 2.0 / math.e, rel=1e-13, abs=0.0)
    with pytest.raises(UserError, match="step"):
        lockin.held_input_steps(tau, order, 0.0)
