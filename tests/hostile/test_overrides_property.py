"""Command-line overrides under attack: ``--set KEY=VALUE`` gives an Experiment or a
ConfigError (one line naming the key), never another exception, and quickly.

Independent truth: API.md (exit 2 with one readable line for every bad input) and
issue 16 (no RecursionError, MemoryError, OverflowError, ZeroDivisionError or hang).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrfm.config import ConfigError, Experiment, loads
from mrfm.config.overrides import parse_override_value
from tests.hostile.hostile_inputs import small_experiment

BASE = small_experiment()

KEYS = ["cantilever.k", "cantilever.Q", "cantilever.f0", "cantilever.amplitude",
        "magnet.radius", "magnet.polarization", "field.B0", "rf.frequency", "sample.voxel",
        "sample.density", "sample.size", "sample.thickness", "scan.x", "scan.height",
        "protocol.name", "stage.temperature", "cantilever", "sample.shape", "x.y.z",
        "scan.x.y", "dataset.grid"]
RAW = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["9**9**9 N/m", "1e-300 N/m", "[" * 2000, "[[[1]]]", '"1 nm"', "1e999",
                     '["1 nm", "2 nm", 100000000000]', '["-1 m", "1 m", 1e9]', "{a = 1}",
                     '"0.01 nm"', "0", "-0.0", "nan", "inf", "true", '"' + "x" * 3000 + '"',
                     "99999999999999999999999", '"1 m^12"', '"1 m^-12"']),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), raw=RAW)
def test_set_override_gives_experiment_or_config_error(key, raw):
    t0 = time.perf_counter()
    try:
        value = parse_override_value(raw)
        result = loads(BASE, overrides={key: value})
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message
    else:
        assert isinstance(result, Experiment)
    assert time.perf_counter() - t0 < 5.0
