"""``mrfm scan`` end to end on the virtual rig: physics, crashes, Ctrl-C, faults, bad input.

Truths used:
* the scanned lock-in map must reproduce the solver's signal map of the same
  experiment (``mrfm.solver.simulate``, an independent code path from the rig's
  lock-in/cantilever/noise chain) with correlation >= 0.95;
* a scan killed with SIGKILL and resumed must end with exactly the coordinates,
  shape and measured mask of an uninterrupted scan, and keep every line flushed
  before the kill;
* after Ctrl-C or an instrument fault the virtual instruments report the safe
  state: RF output off, tip at the safe height above the park position,
  coarse steppers grounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from mrfm.cli.main import main

from .scanfiles import write_experiment, write_rig

SAFE_HEIGHT = 1e-6

pytestmark = [
    pytest.mark.timeout(180),
    # far from the sample (approach, safe height) the resonant slice misses every spin:
    # the rig's one-point solver calls warn about that legitimately
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]


def _principal(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Project (X, Y) on the phase that carries the most variance (the signal's phase)."""
    z = np.stack([x.ravel(), y.ravel()])
    w, v = np.linalg.eigh(np.cov(z))
    return (v[:, -1] @ z).reshape(x.shape)


def _served_rig(path: Path):
    from mrfm.rig import VirtualRig

    return VirtualRig.from_file(path)


def _assert_safe(rig) -> None:
    snap = rig.state.snapshot()
    assert snap["rf_on"] is False
    x, y, h = snap["tip_m"]
    assert h == pytest.approx(SAFE_HEIGHT, abs=5e-9)
    assert abs(x) < 5e-9 and abs(y) < 5e-9  # parked at (0, 0)
    assert all(rig.state.coarse.axes[a].mode == "gnd" for a in ("1", "2", "3"))


def _wait_for_lines(path: Path, lines: int, proc: subprocess.Popen, timeout: float = 60) -> int:
    """Read the file from this (second) process while the scan writes it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if path.exists():
            try:
                with h5py.File(path, "r", swmr=True) as fh:
                    measured = fh["entry/data/measured"][()]
                    x = fh["entry/data/lockin_x"][()]
                done = int(measured.sum())
                assert np.isfinite(x[measured]).all()
                # a line's data is flushed before its mask: between the two reads above the
                # writer may have stored the next line, never more than that one line
                stray = ~measured & ~np.isnan(x)
                assert np.unique(np.nonzero(stray)[1]).size <= 1
                if done >= lines * measured.shape[0]:
                    return done
            except (OSError, KeyError):
                pass  # the file is being created
        time.sleep(0.05)
    raise AssertionError("the scan did not write enough lines in time")


def _scan_cmd(config: Path, rig: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mrfm.cli.main", "scan", str(config), "--rig", str(rig),
            "-o", str(out), *extra]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted scan of the test experiment (self-served virtual rig)."""
    folder = tmp_path_factory.mktemp("reference")
    config = write_experiment(folder)
    rig = write_rig(folder, config)
    out = folder / "scan.h5"
    assert main(["scan", str(config), "--rig", str(rig), "-o", str(out)]) == 0
    return config, rig, out


def test_scan_reproduces_the_solver_map(reference):
    from mrfm.config import load
    from mrfm.solver import simulate

    config, rig, out = reference
    exp = load(config)
    expected = np.asarray(simulate(exp).signal, dtype=float).reshape(12, 10)
    with h5py.File(out, "r") as fh:
        assert fh["entry/data/measured"][()].all()
        signal = _principal(fh["entry/data/lockin_x"][:, :, 0], fh["entry/data/lockin_y"][:, :, 0])
        np.testing.assert_allclose(fh["entry/data/x"][()], exp.scan.x)
        np.testing.assert_allclose(fh["entry/data/tip_x"][:, 3, 0], exp.scan.x, atol=2e-9)
        entry = fh["entry"]
        assert entry["status"][()].decode().strip() == "complete"
        assert entry["config"][()].decode() == exp.source_text
        assert "pi.e727" in entry["rig"][()].decode()
        idn = entry["instrument/identities"][()].decode()
        assert "SR830" in idn and "E-727" in idn and "MODEL336" in idn
        assert entry.attrs["mrfm_version"] and entry.attrs["created"]
        assert entry["data/lockin_x"].attrs["units"] == "V"
        assert np.nanmax(entry["data/timestamp"][()]) > 0
    r = abs(np.corrcoef(signal.ravel(), expected.ravel())[0, 1])
    assert r >= 0.95, r


def test_sigkill_then_resume_completes_the_same_scan(reference, tmp_path):
    config, fast_rig, ref_out = reference
    out = tmp_path / "scan.h5"
    proc = subprocess.Popen(_scan_cmd(config, fast_rig, out), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        done = _wait_for_lines(out, 2, proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    with h5py.File(out, "r", swmr=True) as fh:  # opens at once after the kill
        measured = fh["entry/data/measured"][()]
        kept = fh["entry/data/lockin_x"][()]
        assert fh["entry/status"][()].decode().strip() == "running"
    assert measured.sum() >= done and not measured.all()
    assert measured[:, :2, 0].all()  # every line flushed before the kill
    # a plot of the partial scan shows the measured mask
    assert main(["plot", str(out), "-o", str(tmp_path / "partial.png")]) == 0
    assert (tmp_path / "partial.png").stat().st_size > 10_000

    assert main(["scan", str(config), "--rig", str(fast_rig), "-o", str(out), "--resume"]) == 0
    with h5py.File(out, "r") as fh, h5py.File(ref_out, "r") as ref:
        for name in ("x", "y", "height"):
            np.testing.assert_array_equal(fh["entry/data"][name][()], ref["entry/data"][name][()])
        assert fh["entry/data/lockin_x"].shape == ref["entry/data/lockin_x"].shape
        assert fh["entry/data/measured"][()].all()
        np.testing.assert_array_equal(fh["entry/data/lockin_x"][()][measured], kept[measured])
        assert fh["entry/status"][()].decode().strip() == "complete"
        session = fh["entry/sessions/session_2"]  # the resumed session's rig and instruments
        assert session["rig"].asstr()[()] == fh["entry/rig"].asstr()[()]
        assert "SR830" in session["identities"].asstr()[()]


def test_sigint_leaves_the_rig_safe_and_the_file_closed(tmp_path):
    config = write_experiment(tmp_path)
    base = write_rig(tmp_path, config, name="serve.toml")
    out = tmp_path / "scan.h5"
    with _served_rig(base) as rig:
        served = write_rig(tmp_path, config, resources=rig.resources)
        proc = subprocess.Popen(_scan_cmd(config, served, out), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            _wait_for_lines(out, 1, proc)
            assert rig.state.snapshot()["rf_on"] is True  # the scan switched the RF on
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        _assert_safe(rig)
    with h5py.File(out, "r") as fh:  # closed cleanly: opens without SWMR or recovery
        assert fh["entry/status"][()].decode().strip() == "interrupted"
        assert fh["entry/data/measured"][()].sum() >= 12


# faults after the probes: the park probe's and, on this virtual rig, the scan steps timed
# at 4 sites (4 x (1 + 4) readings and their moves: mrfm.scan.probe.probe_sites)
@pytest.mark.parametrize(("instrument", "mode", "after"),
                         [("lockin", "drop", 50), ("scanner", "garbage", 300)])
def test_instrument_fault_exits_3_safe_with_data(tmp_path, capsys, instrument, mode, after):
    config = write_experiment(tmp_path)
    base = write_rig(tmp_path, config, name="serve.toml")
    out = tmp_path / "scan.h5"
    with _served_rig(base) as rig:
        served = write_rig(tmp_path, config, resources=rig.resources)
        rig.inject_fault(instrument, mode, after=after)
        code = main(["scan", str(config), "--rig", str(served), "-o", str(out)])
        err = capsys.readouterr().err
        snap = rig.state.snapshot()
        assert code == 3, err
        assert err.strip().splitlines()[-1].startswith("mrfm: instrument fault:")
        assert "Traceback" not in err
        assert snap["rf_on"] is False
        if instrument != "scanner":  # a scanner answering garbage cannot be parked
            _assert_safe(rig)
    with h5py.File(out, "r") as fh:
        assert fh["entry/status"][()].decode().startswith("fault")
        measured = fh["entry/data/measured"][()]
        assert measured.sum() > 0 and not measured.all()


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mrfm: error:"), err
    return err[0]


def test_bad_input_is_refused_before_anything_moves(tmp_path, capsys):
    config = write_experiment(tmp_path)
    far = write_experiment(tmp_path, x0="-1 um", x1="20 um", name="far.toml")
    base = write_rig(tmp_path, config, name="serve.toml")
    with _served_rig(base) as rig:
        served = write_rig(tmp_path, config, resources=rig.resources)
        before = rig.state.snapshot()
        out = tmp_path / "a.h5"
        # a target outside the rig's x range
        assert main(["scan", str(far), "--rig", str(served), "-o", str(out)]) == 2
        assert "outside the rig's range" in _one_error_line(capsys)
        # an instrument the rig file format does not know
        bad = served.read_text().replace('driver = "srs.sr830"', 'driver = "srs.sr999"')
        (tmp_path / "bad.toml").write_text(bad)
        assert main(["scan", str(config), "--rig", str(tmp_path / "bad.toml"), "-o",
                     str(out)]) == 2
        assert "srs.sr999" in _one_error_line(capsys)
        # a resource string nobody answers at
        dead = served.read_text().replace(rig.resources["scanner"],
                                          "TCPIP0::127.0.0.1::9::SOCKET")
        (tmp_path / "dead.toml").write_text(dead)
        assert main(["scan", str(config), "--rig", str(tmp_path / "dead.toml"), "-o",
                     str(out)]) == 2
        assert "cannot reach TCPIP0::127.0.0.1::9::SOCKET" in _one_error_line(capsys)
        assert not out.exists()
        # a file that belongs to another scan
        other = write_experiment(tmp_path, nx=4, ny=2, name="other.toml")
        other_out = tmp_path / "other.h5"
        from mrfm.config import load
        from mrfm.rigdef.rigfile import load as load_rig
        from mrfm.scan.plan import ScanPlan
        from mrfm.scan.rig_handle import channels_for
        from mrfm.scan.store import ScanStore

        exp = load(other)
        ScanStore.create(other_out, axes=ScanPlan().axes(exp.scan),
                         channels=channels_for(load_rig(served)),
                         config_text=exp.source_text).close()
        assert main(["scan", str(config), "--rig", str(served), "-o", str(other_out),
                     "--resume"]) == 2
        assert "belongs to another scan" in _one_error_line(capsys)
        after = rig.state.snapshot()
        assert after["tip_m"] == pytest.approx(before["tip_m"], abs=1e-9)  # nothing moved
        assert after["rf_on"] is False


def test_interlocks_refuse_to_start_on_the_virtual_rig(tmp_path, capsys):
    config = write_experiment(tmp_path)
    base = write_rig(tmp_path, config, name="serve.toml", time_scale=1.0)
    with _served_rig(base) as rig:
        served = write_rig(tmp_path, config, resources=rig.resources, time_scale=1.0)
        before = rig.state.snapshot()
        state = rig.state
        with state.lock:  # the magnet supply starts a slow ramp
            now = state.clock.now()
            state.magnet.set_rate(1e-4, now)
            state.magnet.set_target(state.magnet.field(now) + 0.5, now)
            state.magnet.ramp(now)
        code = main(["scan", str(config), "--rig", str(served), "-o", str(tmp_path / "a.h5")])
        err = capsys.readouterr().err
        assert code == 3 and "ramping" in err.strip().splitlines()[-1]
        with state.lock:
            state.magnet.pause(state.clock.now())
        # RF power above the rig's limit (10 dBm)
        hot = write_rig(tmp_path, config, resources=rig.resources, name="hot.toml",
                        time_scale=1.0)
        hot.write_text(hot.read_text().replace('power = "0 dBm"', 'power = "12 dBm"'))
        code = main(["scan", str(config), "--rig", str(hot), "-o", str(tmp_path / "b.h5")])
        err = capsys.readouterr().err
        assert code == 3 and "12 dBm above the rig limit" in err
        after = rig.state.snapshot()
        assert after["rf_on"] is False
        # the tip never came down: at most parked at the safe height
        assert after["tip_m"][2] >= min(before["tip_m"][2], SAFE_HEIGHT) - 5e-9
