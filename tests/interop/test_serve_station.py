"""A self-describing rig: ``mrfm rig serve --json --station FILE`` prints each instrument's
resource, driver, model and terminations, and writes a QCoDeS station file that
``qcodes.Station`` loads and connects through (SR830 and SG384 at least)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig.rig_helpers import LIMITS_TOML, with_experiment

qcodes = pytest.importorskip("qcodes")

ROOT = Path(__file__).resolve().parents[2]

RIG = with_experiment('name = "station rig"\n' + "".join(
    f'[instruments.{name}]\ndriver = "{driver}"\n{extra}'
    for name, driver, extra in (
        ("lockin", "srs.sr830", ""), ("rf", "srs.sg384", ""),
        ("lockin2", "srs.sr865", 'model = "SR860"\n'), ("awg", "keysight.33500b", ""),
        ("temperature", "lakeshore.336", ""), ("magnet", "ami.430", ""),
        ("coarse", "attocube.anc300", 'password = "secret"\n'),
    )
) + LIMITS_TOML + 'max_field = "3 T"\nmax_field_rate = "0.02 T/s"\n')

#: (model, read termination, write termination) as each virtual model speaks
EXPECTED = {
    "lockin": ("srs.sr830", "SR830", "\n"), "rf": ("srs.sg384", "SG384", "\n"),
    "lockin2": ("srs.sr865", "SR860", "\n"), "awg": ("keysight.33500b", "33522B", "\n"),
    "temperature": ("lakeshore.336", "MODEL336", "\r\n"),
    "magnet": ("ami.430", "MODEL 430", "\r\n"), "coarse": ("attocube.anc300", "ANC300", "\r\n"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``mrfm rig serve --json --station FILE`` of :data:`RIG`: (JSON line, station path)."""
    folder = tmp_path_factory.mktemp("station")
    rigfile, station = folder / "rig.toml", folder / "rig.station.yaml"
    rigfile.write_text(RIG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mrfm.cli.main", "rig", "serve", str(rigfile), "--json",
         "--station", str(station)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield json.loads(line), station
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        qcodes.Instrument.close_all()


def test_json_line_describes_every_instrument(served):
    info, _ = served
    assert set(info["instruments"]) == set(EXPECTED)
    for name, (driver, model, term) in EXPECTED.items():
        detail = info["details"][name]
        assert detail == {
            "resource": info["instruments"][name], "driver": driver, "model": model,
            "read_termination": term, "write_termination": term,
        }


@pytest.mark.filterwarnings("ignore::qcodes.utils.deprecate.QCoDeSDeprecationWarning")
def test_station_file_connects_stock_drivers(served):
    info, path = served
    text = path.read_text()
    assert "coarse (attocube.anc300)" in text  # listed as having no QCoDeS driver
    station = qcodes.Station(config_file=str(path))
    lockin = station.load_instrument("lockin")
    rf = station.load_instrument("rf")
    lockin2 = station.load_instrument("lockin2")
    assert type(lockin2).__name__ == "SR860"
    assert lockin.IDN()["model"] == "SR830" and rf.IDN()["model"] == "SG384"
    lockin.frequency(777.0)
    rf.frequency(1.25e9)
    assert (lockin.frequency(), rf.frequency()) == (777.0, 1.25e9)
    snap = station.snapshot(update=True)
    assert snap["instruments"]["lockin"]["parameters"]["frequency"]["value"] == 777.0
    for inst in (lockin, rf, lockin2):
        inst.close()


def test_station_file_that_cannot_be_written_is_a_user_error(tmp_path):
    rigfile = tmp_path / "rig.toml"
    rigfile.write_text(RIG)
    proc = subprocess.run(
        [sys.executable, "-m", "mrfm.cli.main", "rig", "serve", str(rigfile), "--json",
         "--station", str(tmp_path / "missing" / "rig.station.yaml")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2
    assert "--station" in (proc.stderr + proc.stdout) and "Traceback" not in proc.stderr
