"""Random and mutated experiment configurations: ConfigError or a valid Experiment, nothing else.

Independent truth: the contract of API.md ("ConfigError is raised for every bad
input"). Hypothesis mutates the presets key by key with values of every TOML type.
"""

from __future__ import annotations

import copy
import tomllib

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrfm.config import ConfigError, Experiment, loads
from mrfm.resources import data_dir

# The mutations run on a small-grid base (fast to build) derived from the demo preset.
BASE = tomllib.loads((data_dir("configs") / "demo.toml").read_text())
SLAB = {
    "species": "1H", "shape": "slab", "thickness": "20 nm", "size": ["60 nm", "60 nm"],
    "density": "5e28 m^-3", "voxel": "10 nm",
}

scalars = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["110 uN/m", "5 kHz", "-1 nm", "1 T", "nan", "inf m", "1e400 m", "0",
                     "3 K", "1e-7 mbar", "1e22 m^-3", "sphere", "cuboid", "CAI", "x", "1e99 m"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5),
                                                                              scalars, max_size=2))
sections = ["cantilever", "stage", "magnet", "field", "rf", "sample", "protocol", "scan"]
keys = st.sampled_from(["k", "f0", "Q", "amplitude", "temperature", "pressure", "shape", "radius",
                        "dimension", "diameter", "height", "polarization", "B0", "frequency",
                        "B1", "fm_depth", "species", "density", "voxel", "size", "thickness",
                        "positions", "layers", "name", "x", "y", "model", "center", "axis",
                        "bogus"])


def _check(doc: dict) -> None:
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):  # not representable as TOML at all: nothing to test
        return
    try:
        result = loads(text)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert isinstance(result, Experiment)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=st.sampled_from(sections), key=keys, value=values, slab=st.booleans())
def test_mutated_preset_gives_config_error_or_experiment(section, key, value, slab):
    doc = copy.deepcopy(BASE)
    if slab:
        doc["sample"] = dict(SLAB)
    table = doc.setdefault(section, {})
    if isinstance(table, dict):
        table[key] = value
    _check(doc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=st.sampled_from(sections), value=values)
def test_whole_sections_replaced_by_junk(section, value):
    doc = copy.deepcopy(BASE)
    doc[section] = value
    _check(doc)


@settings(max_examples=40, deadline=None)
@given(drop=st.lists(st.sampled_from(sections), max_size=3, unique=True))
def test_missing_sections(drop):
    doc = copy.deepcopy(BASE)
    for section in drop:
        doc.pop(section, None)
    _check(doc)
