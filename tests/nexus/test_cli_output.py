"""The CLI tells the user what happened: simulate's summary, plot's path, JSON errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrfm.cli.main import main
from mrfm.cli.simulate_cmd import _value

DEMO = str(Path(__file__).resolve().parents[2] / "configs" / "demo.toml")


@pytest.mark.parametrize(("value", "unit", "text"), [
    (2.968e-16, "N", "296.8 aN"),
    (1.7775e-32, "N^2", "17775 aN^2"),
    (-1.199e-48, "N^2", "-1.199 yN^2"),
    (0.1216, "Hz", "121.6 mHz"),
    (2.5e-3, "Hz^2", "2500 mHz^2"),
    (0.0, "N^2", "0 N^2"),
])
def test_values_with_prefixes(value, unit, text):
    assert _value(value, unit) == text


def test_simulate_without_output_prints_a_summary(capsys):
    assert main(["simulate", DEMO]) == 0
    out = capsys.readouterr().out
    for word in ("protocol      CAI", "unit          N", "grid          32x32x1",
                 "signal min", "signal max", "peak |signal|", "aN", "elapsed", "z = 20 nm"):
        assert word in out, word


def test_plot_prints_the_path(tmp_path, capsys):
    h5, png = tmp_path / "m.h5", tmp_path / "m.png"
    assert main(["simulate", DEMO, "-o", str(h5)]) == 0
    assert main(["plot", str(h5), "-o", str(png)]) == 0
    captured = capsys.readouterr()
    assert str(png) in captured.out + captured.err


@pytest.mark.parametrize("argv", [
    ["info", "/nonexistent.toml"],
    ["simulate", "/nonexistent.toml"],
    ["simulate", DEMO, "--set", 'field.B0="3 kg"'],
    ["simulate"],
    ["timeseries", "/nonexistent.toml", "-o", "x.h5"],
    ["rig", "serve", "/nonexistent.toml"],
    ["scan", "/nonexistent.toml", "-o", "s.h5"],
    ["dataset", "/nonexistent.toml", "-n", "1", "-o", "d"],
    ["reconstruct", "/nonexistent.h5", "-o", "r.h5"],
    ["plot", "/nonexistent.h5"],
    ["monitor", "/nonexistent.h5"],
    ["demo", "-o", DEMO],
])
def test_json_errors_on_stdout(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, and nothing in the checkout
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 2
    obj = json.loads(out.strip().splitlines()[-1])
    assert obj["exit_code"] == 2 and obj["error"]


def test_field_in_gauss_on_the_command_line(capsys):
    assert main(["simulate", DEMO, "--set", 'field.B0="30 kG"', "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"] == "CAI"
