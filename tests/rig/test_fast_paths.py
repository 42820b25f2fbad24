"""The virtual rig's per-request shortcuts change nothing a client can see.

Repeated queries skip the parsing (``VirtualInstrument.remember``), never the
physics: every reading follows the state at the time of the query. Parsed-line
caches stay bounded, malformed requests are never remembered, requests split or
packed across TCP packets are answered in order, and the lock-in's noise (drawn in
blocks) keeps the variance of the model.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from mrfm.physics.lockin import ENBW_FACTOR
from mrfm.rig.instruments import sr830, srs_syntax
from mrfm.rig.instruments.base import MAX_PLANS
from mrfm.rig.lockin import NormalStream


def test_repeated_reading_follows_the_state(rig, client):
    c = client("lockin")
    st = rig.state
    readings = []
    for _ in range(5):
        st.clock.advance(1.0)
        readings.append(c.query("OUTP? 1"))
    assert len(set(readings)) == 5  # the noise moves with the clock: nothing is replayed
    x = float(c.query("OUTP? 1"))
    assert x == float(c.query("OUTP? 1"))  # no time has passed (manual clock): same reading
    c.send("SENS 0")  # 2 nV full scale: the noise overloads it, the remembered line clips
    st.clock.advance(1.0)
    fs = 1.09 * sr830.SENSITIVITIES[0]
    assert abs(float(c.query("OUTP? 1"))) <= fs * (1 + 1e-5)
    assert abs(float(c.query("SNAP? 1,2").split(",")[1])) <= fs * (1 + 1e-5)
    assert int(c.query("LIAS?")) & sr830.LIAS_OUTPUT_OVERLOAD
    c.send("SENS 26")
    st.clock.advance(1.0)
    z = rig.instruments["lockin"].channel.read()
    assert float(c.query("OUTP? 1")) == float(f"{z.real:.6g}")
    assert float(c.query("OUTP? 2")) == float(f"{z.imag:.6g}")
    assert float(c.query("OUTP? 3")) == float(f"{abs(z):.6g}")
    assert int(c.query("LIAS?")) == 0


def test_invalid_requests_are_never_remembered(rig, client):
    c = client("lockin")
    inst = rig.instruments["lockin"]
    for _ in range(2):
        c.send("OUTP? 5")  # out of range, every time
        assert int(c.query("*ESR?")) == 16
        c.send("OUTP 1")  # not a query
        assert int(c.query("*ESR?")) == 32
    assert "OUTP? 5" not in inst._plans and "OUTP 1" not in inst._plans
    assert math.isfinite(float(c.query("OUTP? 1")))
    assert "OUTP? 1" in inst._plans
    # one remembered command inside a line of several is still answered in order
    c.send("OUTP? 1;*IDN?;OUTP? 2")
    assert math.isfinite(float(c.readline()))
    assert c.readline().startswith("Stanford_Research_Systems,SR830")
    assert math.isfinite(float(c.readline()))


def test_parse_caches_stay_bounded(rig):
    inst = rig.instruments["lockin"]
    session = inst.new_session()
    for k in range(3 * MAX_PLANS):
        line = "OUTP? " + "0" * k + "1"
        assert math.isfinite(float(inst.handle(line, session)[0]))
        assert len(inst._plans) <= MAX_PLANS
    for k in range(srs_syntax._SPLIT_CACHE_SIZE + 10):
        srs_syntax.srs_split(f"FREQ {k}")
        assert len(srs_syntax._SPLIT_CACHE) <= srs_syntax._SPLIT_CACHE_SIZE
    assert srs_syntax.srs_split("x" * 200 + "?") == ("X" * 200, True, "")
    assert ("x" * 200 + "?") not in srs_syntax._SPLIT_CACHE  # long lines are not kept


def test_requests_split_and_packed_across_packets(rig, client):
    c = client("lockin")
    c.sock.sendall(b"*IDN?\r\n\r\n  \nSENS?\nOUTP")  # two requests, blank lines, a partial one
    assert c.readline().startswith("Stanford_Research_Systems,SR830")
    assert c.readline() == "26"
    c.sock.sendall(b"? 1\n")
    assert math.isfinite(float(c.readline()))
    c.sock.sendall(b"SENS?\r\n")
    assert c.readline() == "26"


def test_lockin_noise_has_the_model_variance(rig, client):
    """X and Y noise: (1/2) int S_V(f) |H_lockin(f - f_ref)|^2 df, S_V the thermal
    displacement PSD through the cantilever's Lorentzian plus the detector noise (scipy
    quad); readings 40 s apart (12 ring times of the demo cantilever) are independent."""
    from scipy import integrate

    from mrfm.physics import lockin

    c = client("lockin")
    st = rig.state
    ch = rig.instruments["lockin"].channel
    c.send("OFLT 4")  # 1 ms, 12 dB/oct
    xs, ys = [], []
    for _ in range(600):
        st.clock.advance(40.0)
        x, y = (float(v) for v in c.query("SNAP? 1,2").split(","))
        xs.append(x)
        ys.append(y)
    cant, f_ref = st.cantilever, ch.frequency
    vpm, det = st.settings.volts_per_meter, st.settings.detector_noise

    def product(f):
        h = abs(lockin.response(f - f_ref, time_constant=1e-3, order=2)) ** 2
        return vpm**2 * (float(cant.displacement_psd(f)) + det**2) * h

    w = cant.f0 / cant.Q
    edges = sorted({cant.f0 + k * w for k in (-1e4, -100, -10, -1, 0, 1, 10, 100, 1e4)}
                   | {f_ref + k * 1e3 for k in (-100, -10, 0, 10, 100)})
    total = sum(integrate.quad(product, a, b, limit=400, epsabs=0)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=False))
    total += integrate.quad(product, edges[-1], math.inf, limit=400)[0]
    total += integrate.quad(product, 0.0, edges[0], limit=400)[0]
    sigma = math.sqrt(0.5 * total)
    assert ch.noise_std() == pytest.approx(sigma, rel=1e-3)
    # the old white-noise shortcut S_V(f_ref) ENBW is not what a lock-in sees
    assert math.sqrt(st.input_noise_psd(f_ref) * ENBW_FACTOR[2] / 1e-3) > 3 * sigma
    for v in (xs, ys):
        assert abs(statistics.fmean(v)) < 0.2 * sigma
        assert statistics.pstdev(v) == pytest.approx(sigma, rel=0.12)


def test_normal_stream_is_seeded_and_standard():
    a = NormalStream(np.random.default_rng(3), block=64)
    b = NormalStream(np.random.default_rng(3), block=64)
    draws = [a.pair() for _ in range(5000)]
    assert draws == [b.pair() for _ in range(5000)]
    flat = np.array(draws).ravel()
    assert abs(flat.mean()) < 0.05 and abs(flat.std() - 1.0) < 0.03
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.05
