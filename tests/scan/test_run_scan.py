"""``mrfm.scan.run_scan`` (the Python API behind ``mrfm scan``): its result, the refusal of
an existing output, and the logbook of instrument settings read back into the file.

Truths: the virtual rig's own state (what its instruments were set to: the rig file's
time constant and phase, the synthesizer's FM, the cryostat's set-point), the rig
file's values, and the safe state the scan must leave (tip at the safe height, RF off,
steppers grounded) - which the logbook must show, since it is rewritten after the safe
state.
"""

from __future__ import annotations

import os

import h5py
import pytest

from mrfm.cli.main import main
from mrfm.errors import UserError
from mrfm.scan import ScanResult, run_scan
from mrfm.scan.logbook import read_logbook

from .scanfiles import write_experiment, write_rig

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]

SAFE_HEIGHT = 1e-6


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A virtual rig served for the module, and a rig file naming its resources."""
    from mrfm.rig import VirtualRig

    folder = tmp_path_factory.mktemp("served")
    config = write_experiment(folder, nx=4, ny=3)
    base = write_rig(folder, config, name="serve.toml", interferometer=True)
    with VirtualRig.from_file(base) as rig:
        path = write_rig(folder, config, resources=rig.resources, interferometer=True,
                         extra={"lockin": "phase = 12.5"})
        yield config, path, rig


def test_run_scan_returns_a_result_and_records_the_logbook(served, tmp_path):
    config, rig_file, rig = served
    out = tmp_path / "scan.h5"
    seen = []
    result = run_scan(config, rig_file, out, progress=lambda done, n: seen.append((done, n)))
    assert isinstance(result, ScanResult)
    assert result.complete and result.status == "complete" and result.fault is None
    assert result.path == out.absolute()
    assert (result.points_measured, result.points_total, result.points_this_run) == (12, 12, 12)
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    with h5py.File(out, "r") as fh:
        book = read_logbook(fh["entry/instrument"])
    state = rig.state
    lockin = book["lockin"]
    assert lockin["time_constant"] == (10.0, "s")  # the rig file's "10 s"
    assert lockin["phase"] == (12.5, "deg")
    assert lockin["sensitivity"].unit == "V" and lockin["sensitivity"].value > 0
    assert lockin["filter_slope"].unit == "dB/oct" and lockin["frequency"].unit == "Hz"
    assert "SR830" in lockin["idn"].value
    rf = book["rf"]
    assert rf["power"] == (0.0, "dBm")  # the rig file's level, set by the scan
    assert rf["output"].value is False  # read back after the safe state
    assert rf["frequency"] == (pytest.approx(state.rf.frequency), "Hz")
    assert rf["fm_deviation"] == (pytest.approx(state.rf.fm_deviation), "Hz")
    assert rf["fm_rate"] == (pytest.approx(state.rf.mod_rate), "Hz")
    assert rf["modulation"].value is state.rf.modulation
    assert rf["modulation_type"].value == "fm"
    temperature = book["temperature"]
    assert temperature["setpoint"] == (pytest.approx(state.cryostat.setpoint), "K")
    assert temperature["heater_range"].value == ("off", "low", "medium", "high")[
        state.cryostat.heater_range]
    assert temperature["heater_output"].unit == "%"
    magnet = book["magnet"]
    assert magnet["field"].unit == "T" and magnet["ramp_rate"].unit == "T/s"
    assert magnet["field"].value == pytest.approx(rig.state.snapshot()["field_T"], abs=1e-6)
    scanner = book["scanner"]
    assert all(scanner[f"servo_{a}"].value is True for a in "123")
    # rewritten after the safe state: the tip at the safe height (it started 1.5 um up)
    assert scanner["position_3"] == (pytest.approx(SAFE_HEIGHT, abs=5e-9), "m")
    assert book["coarse"]["mode_1"].value == "gnd"
    assert book["interferometer"]["mode"].value in ("system idle", "measurement running",
                                                    "measurement starting")
    assert "IDS3010" in book["interferometer"]["idn"].value


def test_an_existing_output_is_refused_unless_resume_or_overwrite(served, tmp_path, capsys):
    config, rig_file, rig = served
    out = tmp_path / "taken.h5"
    out.write_bytes(b"not a scan")
    before = rig.state.snapshot()["tip_m"]
    assert main(["scan", str(config), "--rig", str(rig_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "exists already" in err[0], err
    assert out.read_bytes() == b"not a scan"  # untouched
    assert rig.state.snapshot()["tip_m"] == pytest.approx(before, abs=1e-9)  # nothing moved
    with pytest.raises(UserError, match="exists already"):
        run_scan(config, rig_file, out)
    # the scan's own inputs are never written over, even with --overwrite
    odd = tmp_path / "experiment.h5"
    odd.write_text(config.read_text())
    assert main(["scan", str(odd), "--rig", str(rig_file), "-o", str(odd), "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "one of the scan's inputs" in err[0], err
    assert odd.read_text() == config.read_text()
    # --resume and --overwrite exclude each other
    assert main(["scan", str(config), "--rig", str(rig_file), "-o", str(out), "--resume",
                 "--overwrite"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(UserError, match="give one of them"):
        run_scan(config, rig_file, out, resume=True, overwrite=True)
    assert main(["scan", str(config), "--rig", str(rig_file), "-o", str(out),
                 "--overwrite"]) == 0
    with h5py.File(out, "r") as fh:
        assert fh["entry/status"][()].decode().strip() == "complete"


def test_a_fault_comes_back_in_the_result_with_the_data_kept(served, tmp_path):
    from mrfm.drivers.errors import InstrumentError

    config, rig_file, rig = served
    out = tmp_path / "fault.h5"
    # in the second line, after the probes (the park probe's 4 readings and, on this
    # virtual rig, one site of 1 + 4 scan steps: mrfm.scan.probe.probe_sites)
    rig.inject_fault("lockin", "drop", after=31)
    try:
        result = run_scan(config, rig_file, out)
    finally:
        rig.clear_faults()
    assert isinstance(result.fault, InstrumentError)
    assert result.status.startswith("fault") and not result.complete
    assert 0 < result.points_measured < result.points_total == 12
    assert rig.state.snapshot()["rf_on"] is False
    with h5py.File(out, "r") as fh:
        assert fh["entry/status"][()].decode().startswith("fault")
        assert fh["entry/data/measured"][()].sum() == result.points_measured
    resumed = run_scan(config, rig_file, out, resume=True)
    assert resumed.complete and resumed.points_this_run == 12 - result.points_measured
    with h5py.File(out, "r") as fh:  # the resumed session has its own logbook
        first = read_logbook(fh["entry/instrument"])
        second = read_logbook(fh["entry/sessions/session_2/instrument"])
    assert second["lockin"]["time_constant"] == first["lockin"]["time_constant"] == (10.0, "s")
    assert second["scanner"]["position_3"] == (pytest.approx(SAFE_HEIGHT, abs=5e-9), "m")


@pytest.mark.wallclock
def test_the_estimate_is_within_30_percent_of_the_scan(tmp_path):
    """A small scan on a self-served virtual rig (8 x 6 points, 8 tau of 10 s settling at
    time scale 20000: 4 ms per point, about as long as the rig's own time per point): the
    estimate made before anything moved (plan waits plus the rig's time measured on probe
    points, the approach and the safe state) and the one after the first line are both
    within 30 % of the wall time the scan took. The settling waits alone (the estimate
    before, about 2x short here) are not. Up to five scans, as in
    ``tests/scan/test_estimate.py``: a load that changes between the probes and the scan
    is beyond any estimate (seen once in a fresh-clone run on a slow day: 0.51 s
    estimated, 0.76 s taken); one scan must meet both bounds."""
    config = write_experiment(tmp_path, nx=8, ny=6)
    rig = write_rig(tmp_path, config)
    waits = 48 * (1e-3 + 8 * 10.0) / 20000.0
    seen = []
    for attempt in range(5):
        result = run_scan(config, rig, tmp_path / f"timed{attempt}.h5")
        assert result.complete
        assert result.elapsed_s > 1.3 * waits
        seen.append((result.estimated_start_s, result.estimated_s, result.elapsed_s))
        if all(abs(e - result.elapsed_s) <= 0.3 * result.elapsed_s
               for e in (result.estimated_start_s, result.estimated_s)):
            break
    else:
        raise AssertionError(f"no scan within 30 % of both estimates: {seen}, "
                             f"load {os.getloadavg()}")
