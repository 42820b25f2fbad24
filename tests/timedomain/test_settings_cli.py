"""The [timeseries] section, its refusals, and `mrfm timeseries` end to end."""

import json

import h5py
import pytest

from mrfm.errors import ConfigError
from mrfm.timedomain.experiment import chain_parameters
from mrfm.timedomain.settings import TimeseriesSettings, check_against

F0 = 5e3


def parse(table):
    return TimeseriesSettings.from_config(table, "timeseries")


def experiment(protocol="CAI", polarization="curie", amplitude=10e-9):
    """The real Experiment of :data:`CONFIG` (k 100 uN/m, f0 5 kHz, Q 1000, 4.2 K, T1rho 0.5 s)
    with the protocol, polarization and amplitude asked for."""
    from mrfm.config import loads

    return loads(CONFIG, overrides={"protocol.name": protocol,
                                    "protocol.polarization": polarization,
                                    "protocol.T1rho": 0.5, "cantilever.amplitude": amplitude})


def test_parse_units_and_nested_tables():
    s = parse({"sample_rate": "100 kHz", "duration": "20 ms", "seed": 3,
               "mode": "Self-Oscillating", "spin_signal": 0.01,
               "lockin": {"time_constant": "3 ms", "slope": 12, "sensitivity": "50 mV"},
               "interferometer": {"wavelength": "1310 nm", "power": "300 nW"},
               "adc": {"bits": 14, "range": "2 V"}, "pll": {"bandwidth": "50 Hz"},
               "drive": {"amplitude": "1 fN"}})
    assert s.sample_rate == pytest.approx(1e5) and s.duration == pytest.approx(0.02)
    assert s.mode == "self-oscillating"
    assert s.lockin.time_constant == pytest.approx(3e-3) and s.lockin.slope == 12
    assert s.lockin.sensitivity == pytest.approx(0.05)
    assert s.interferometer.wavelength == pytest.approx(1.31e-6)
    assert s.interferometer.power == pytest.approx(3e-7)
    assert s.adc.bits == 14 and s.adc.range == pytest.approx(2.0)
    assert s.drive.amplitude == pytest.approx(1e-15)
    assert s.sample_count(F0) == 2000


@pytest.mark.parametrize("table, match", [
    ({"lockin": {"slope": 9}}, "slope"),
    ({"sample_rate": "1 MHz", "dt": "1 us"}, "not both"),
    ({"lockin": {"tau": "1 s"}}, "unknown key"),
    ({"mode": "free"}, "allowed"),
    ({"duration": "-1 s"}, "out of range"),
    ({"channels": ["displacement", "temperature"]}, "unknown channel"),
    ({"adc": {"range": "3 m"}}, "timeseries.adc.range"),
])
def test_invalid_settings_refused(table, match):
    with pytest.raises(ConfigError, match=match):
        parse(table)


def test_undersampling_refused_with_largest_step():
    with pytest.raises(ConfigError, match=r"largest allowed step is T0/3 = 6.667e-05 s"):
        check_against(parse({"sample_rate": "14 kHz"}), f0=F0, Q=1e3)
    check_against(parse({"dt": 1 / (3 * F0)}), f0=F0, Q=1e3)  # T0/3 itself is allowed


def test_filter_settings_checked_against_the_sample_rate():
    with pytest.raises(ConfigError, match="time constant"):
        check_against(parse({"sample_rate": "100 kHz", "lockin": {"time_constant": "1 us"}}),
                      f0=F0, Q=1e3)
    with pytest.raises(ConfigError, match="pll.bandwidth"):
        check_against(parse({"mode": "self-oscillating", "pll": {"bandwidth": "1 kHz",
                                                                 "detector_cutoff": "2 kHz"}}),
                      f0=F0, Q=1e3)
    with pytest.raises(ConfigError, match="Q > 0.5"):
        check_against(parse({}), f0=F0, Q=0.5)


def test_chain_from_experiment_uses_the_given_spin_signal():
    s = parse({"duration": "10 ms", "spin_signal": 3e-17})
    params, n = chain_parameters(experiment(), s)
    assert params.spin_model == "cai" and params.spin_value == 3e-17
    assert n == 1000 and params.dt == pytest.approx(1 / (20 * F0))
    params, _ = chain_parameters(experiment("OSCAR", "statistical"),
                                 parse({"mode": "self-oscillating", "spin_signal": 0.003}))
    assert params.spin_model == "shift-telegraph" and params.spin_time == 0.5
    with pytest.raises(ConfigError, match="amplitude"):
        chain_parameters(experiment(amplitude=0.0),
                         parse({"mode": "self-oscillating", "spin_signal": 0.1}))
    with pytest.raises(ConfigError, match="iOSCAR"):
        chain_parameters(experiment("iOSCAR"), parse({"spin_signal": 0.1}))
    params, _ = chain_parameters(experiment("iOSCAR"), parse({"spins": False}))
    assert params.spin_model == "none"


CONFIG = """
name = "timeseries cli test"
[cantilever]
k = "100 uN/m"
f0 = "5 kHz"
Q = 1000
amplitude = "10 nm"
[stage]
temperature = "4.2 K"
[magnet]
shape = "sphere"
radius = "100 nm"
polarization = "1 T"
[field]
B0 = "100 mT"
[rf]
frequency = "2.8 GHz"
fm_depth = "2 mT"
[sample]
species = "electron"
shape = "points"
positions = [["0 nm", "0 nm", "-10 nm"]]
[protocol]
name = "CAI"
[scan]
x = "0 nm"
y = "0 nm"
height = "50 nm"
[timeseries]
sample_rate = "100 kHz"
duration = "50 ms"
spin_signal = 1e-16
"""


def _cli_main():
    """The CLI entry point (mrfm.cli.main with the exit-code contract of mrfm.drivers.errors)."""
    import mrfm.drivers.errors  # noqa: F401 - exit code 3 comes from here
    from mrfm.cli.main import main

    return main


def test_cli_writes_file_and_json(tmp_path, capsys):
    main = _cli_main()
    cfg = tmp_path / "exp.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out.h5"
    assert main(["timeseries", str(cfg), "-o", str(out), "--duration", "0.02", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples_written"] == 2000 and summary["output"] == str(out)
    with h5py.File(out, "r") as fh:
        assert fh["entry"].attrs["mrfm_kind"] == "timeseries"
        assert "timeseries" in fh["entry/config"][()].decode()
    png = tmp_path / "ts.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0 and png.stat().st_size > 10_000


def test_cli_refuses_undersampling(tmp_path, capsys):
    main = _cli_main()
    cfg = tmp_path / "exp.toml"
    cfg.write_text(CONFIG.replace('sample_rate = "100 kHz"', 'sample_rate = "10 kHz"'))
    assert main(["timeseries", str(cfg), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "under-samples" in err and "largest allowed step" in err
