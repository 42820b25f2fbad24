"""Experiment configuration: unit parsing, validation, catalogue references, overrides.

Independent truth: unit conversions are checked against hand-converted SI values
(110 uN/m = 1.1e-4 N/m; 1e-7 mbar = 1e-5 Pa; 2.96 GHz = 2.96e9 Hz).
"""

from __future__ import annotations

import numpy as np
import pytest

from mrfm.config import ConfigError, load, loads
from mrfm.resources import data_dir

BASE = """
name = "test"
[cantilever]
k = "110 uN/m"
f0 = "5.5 kHz"
Q = 2e4
amplitude = "16 nm"
[stage]
temperature = "1.6 K"
pressure = "1e-7 mbar"
[magnet]
shape = "sphere"
radius = "100 nm"
polarization = "1.0 T"
[field]
B0 = "30 mT"
[rf]
frequency = "2.96 GHz"
B1 = "0.3 mT"
fm_depth = "4 mT"
[sample]
species = "electron"
shape = "slab"
thickness = "50 nm"
size = ["200 nm", "200 nm"]
density = "1e22 m^-3"
voxel = "10 nm"
[protocol]
name = "OSCAR"
[scan]
x = ["-100 nm", "100 nm", 5]
y = "0 nm"
height = "50 nm"
"""


def test_base_config_converts_units_to_si():
    exp = loads(BASE)
    assert exp.cantilever.k == pytest.approx(1.1e-4, rel=1e-12)
    assert exp.cantilever.f0 == pytest.approx(5.5e3, rel=1e-12)
    assert exp.cantilever.Q == pytest.approx(2e4)
    assert exp.cantilever.T == pytest.approx(1.6)
    assert exp.amplitude == pytest.approx(16e-9, rel=1e-12)
    assert exp.stage.pressure == pytest.approx(1e-5, rel=1e-12)
    assert exp.B0 == pytest.approx(0.03, rel=1e-12)
    assert exp.rf.frequency == pytest.approx(2.96e9, rel=1e-12)
    assert exp.rf.fm_depth == pytest.approx(4e-3, rel=1e-12)
    np.testing.assert_allclose(exp.magnet.polarization, [0, 0, 1.0])
    np.testing.assert_allclose(exp.scan.x, np.linspace(-1e-7, 1e-7, 5), rtol=1e-12)
    assert exp.scan.shape == (5, 1, 1)
    assert exp.scan.points().shape == (5, 1, 1, 3)
    assert exp.protocol.name == "OSCAR"


def test_effective_config_round_trips():
    exp = loads(BASE, overrides={"cantilever.Q": 3e4})
    again = loads(exp.source_text)
    assert again.cantilever.Q == pytest.approx(3e4)
    assert again.cantilever.k == exp.cantilever.k


def test_overrides_replace_values_and_are_validated():
    exp = loads(BASE, overrides={"scan.height": "40 nm", "protocol.name": "CAI"})
    assert exp.scan.height[0] == pytest.approx(40e-9)
    assert exp.protocol.name == "CAI"
    with pytest.raises(ConfigError, match=r"cantilever\.Q"):
        loads(BASE, overrides={"cantilever.Q": -1})
    with pytest.raises(ConfigError, match="did you mean 'cantilever'"):
        loads(BASE, overrides={"cantilevr.Q": 1})


BAD = [
    # (replacement of a line in BASE, field named in the message, fragment of the message)
    ('k = "110 uN/m"', 'k = "110 uN"', "cantilever.k", "spring constant"),
    ('k = "110 uN/m"', 'k = "-110 uN/m"', "cantilever.k", "allowed range (0,"),
    ('k = "110 uN/m"', "k = 0", "cantilever.k", "allowed range (0,"),
    ('k = "110 uN/m"', 'k = "nan N/m"', "cantilever.k", "finite"),
    ('k = "110 uN/m"', "k = inf", "cantilever.k", "finite"),
    ("Q = 2e4", "Q = -5", "cantilever.Q", "out of range"),
    ('temperature = "1.6 K"', 'temperature = "0 K"', "stage.temperature", "allowed range (0,"),
    ('temperature = "1.6 K"', 'temperature = "1.6 m"', "stage.temperature", "temperature"),
    ('radius = "100 nm"', 'radius = "-1 nm"', "magnet.radius", "allowed range (0,"),
    ('shape = "sphere"', 'shape = "sphear"', "magnet.shape", "did you mean 'sphere'"),
    ('name = "OSCAR"', 'name = "OSKAR"', "protocol.name", "did you mean 'OSCAR'"),
    ('species = "electron"', 'species = "unobtainium"', "sample.species", "unknown spin species"),
    ('voxel = "10 nm"', 'voxel = "0 nm"', "sample.voxel", "out of range"),
    ('height = "50 nm"', 'height = "-5 nm"', "scan.height", "allowed range (0,"),
    ('x = ["-100 nm", "100 nm", 5]', 'x = ["-100 nm", "100 nm", 0]', "scan.x", "count"),
    ('B1 = "0.3 mT"', 'B1 = "0.3 mT"\nfm_dept = 1', "rf.fm_dept", "did you mean 'fm_depth'"),
    ('frequency = "2.96 GHz"', 'frequency = "0 Hz"', "rf.frequency", "needs an RF frequency"),
    ('amplitude = "16 nm"', 'amplitude = "0 nm"', "cantilever.amplitude", "amplitude > 0"),
]


@pytest.mark.parametrize(("old", "new", "field", "fragment"), BAD)
def test_bad_values_name_the_field(old, new, field, fragment):
    assert old in BASE
    with pytest.raises(ConfigError) as info:
        loads(BASE.replace(old, new, 1))
    message = str(info.value)
    assert field in message, message
    assert fragment in message, message
    assert "\n" not in message


def test_unknown_top_level_section_and_bad_toml():
    with pytest.raises(ConfigError, match="did you mean 'sample'"):
        loads(BASE + "\n[sampel]\nx = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        loads(BASE + "\n[[[\n")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")


def test_catalogue_reference_with_override():
    from mrfm.config.catalogue import catalogue

    name, entry = next(iter(catalogue("cantilever").items()))
    text = BASE.replace('k = "110 uN/m"\nf0 = "5.5 kHz"\nQ = 2e4\n', f'model = "{name}"\nQ = 123\n')
    exp = loads(text)
    assert exp.cantilever.Q == pytest.approx(123)
    from mrfm.units import parse_quantity

    assert exp.cantilever.k == pytest.approx(parse_quantity(entry["k"], "spring_constant"))
    with pytest.raises(ConfigError, match="unknown cantilever"):
        loads(BASE.replace('k = "110 uN/m"', 'model = "no-such-lever"\nk = "110 uN/m"'))


def test_every_catalogue_entry_has_a_source():
    from mrfm.config.catalogue import CATALOGUE_FILES, catalogue

    for section in CATALOGUE_FILES:
        entries = catalogue(section)
        assert entries, section
        for name, entry in entries.items():
            assert entry.get("source", "").strip(), f"{section} {name} has no source"


PRESETS = ["demo", "rugar2004", "degen2009", "mamin2007", "cermit"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_loads(preset):
    exp = load(data_dir("configs") / f"{preset}.toml")
    assert exp.cantilever.k > 0
    assert np.all(exp.scan.height > 0)
    assert exp.sample.densities or exp.sample.points
