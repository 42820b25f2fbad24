"""Faults are never success: every instrument role x fault mode on the virtual rig.

The virtual rig injects a fault into one instrument once the first line of the scan is
on disk (``VirtualRig.inject_fault``: ``stuck`` = replies frozen, ``timeout`` = no reply,
``drop`` = connection closed, ``garbage`` = junk replies). Truths:

* a fault the scan can observe ends it with ``ScanResult.fault`` set (``mrfm scan``
  exits 3), the file's status ``fault: ...``, the rig left safe (a synthesizer that no
  longer answers cannot be switched off: the status says so), the first line kept,
  and ``resume=True`` (fault cleared) completes the same file;
* a frozen lock-in is recognised from its noise: X and Y cannot repeat bit for bit over
  ``plan.stuck_reads`` points, so exactly the first line (read before the freeze) stays
  measured and the frozen points are measured again on resume;
* a frozen scanner is recognised from its position read back against the set-point;
* a frozen synthesizer from the RF output that still reads on after the safe state
  switched it off;
* a frozen instrument whose readings nothing changes during a scan (function generator,
  steppers, cryostat at base temperature, a holding magnet, an idle interferometer)
  answers exactly as a healthy one: those scans complete, with correct data.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mrfm.config import load
from mrfm.drivers.errors import InstrumentError, InstrumentTimeout
from mrfm.scan import run_scan
from mrfm.scan.controller import SafeStateError
from mrfm.scan.watch import InstrumentStuck, ScannerNotFollowing

from .scanfiles import write_experiment, write_rig

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]

ROLES = ("lockin", "scanner", "rf", "awg", "coarse", "temperature", "magnet",
         "interferometer")
MODES = ("stuck", "timeout", "drop", "garbage")
NX, NY = 6, 4
#: stuck instruments whose replies nothing changes during a scan: indistinguishable
UNOBSERVABLE = {("awg", "stuck"), ("coarse", "stuck"), ("temperature", "stuck"),
                ("magnet", "stuck"), ("interferometer", "stuck")}
#: faults seen only by the safe state (the scan itself never queries the RF output again)
AT_SAFE_STATE = {("rf", "stuck")}
SHORT_TIMEOUT = 'timeout = "0.5 s"'


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    config = write_experiment(folder, nx=NX, ny=NY)
    base = write_rig(folder, config, name="serve.toml", interferometer=True)
    return folder, config, base


def _scan(rig, folder, config, out, *, fault=None, resume=False):
    from mrfm.rig import VirtualRig

    assert isinstance(rig, VirtualRig)
    # a short reply timeout for the faulty instrument only (the others keep their default,
    # so that a loaded test machine does not time them out)
    extra = {fault[0]: SHORT_TIMEOUT} if fault is not None else {}
    served = write_rig(folder, config, resources=rig.resources, interferometer=True,
                       extra=extra)
    armed = []

    def progress(done: int, total: int) -> None:
        if fault is not None and done >= NX and not armed:
            rig.inject_fault(*fault)
            armed.append(True)

    return run_scan(load(config), served, out, resume=resume, progress=progress)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", ROLES)
def test_fault_stops_the_scan_safe_with_data_and_resumable(files, role, mode):
    from mrfm.rig import VirtualRig

    folder, config, base = files
    out = folder / f"{role}-{mode}.h5"
    with VirtualRig.from_file(base) as rig:
        result = _scan(rig, folder, config, out, fault=(role, mode))
        rig.clear_faults()
        snap = rig.state.snapshot()
        if (role, mode) in UNOBSERVABLE:
            assert result.fault is None and result.complete, result.status
            return
        assert isinstance(result.fault, InstrumentError), result.status
        assert result.status.startswith("fault: ") and not result.complete
        with h5py.File(out, "r") as fh:
            status = fh["entry/status"][()].decode()
            measured = fh["entry/data/measured"][()]
        assert status.startswith("fault: ")
        if role == "rf" and mode in ("timeout", "drop"):  # a dead synthesizer stays as it was
            assert snap["rf_on"] is True and "RF output off failed" in status
        else:
            assert snap["rf_on"] is False
        if (role, mode) in AT_SAFE_STATE:
            assert isinstance(result.fault, SafeStateError)
            assert measured.all()
        else:
            assert NX <= measured.sum() < measured.size  # the first line is kept
        if mode == "stuck" and role == "lockin":
            assert isinstance(result.fault, InstrumentStuck)
            assert measured.sum() == NX  # the frozen points are discarded
        if mode == "stuck" and role == "scanner":
            assert isinstance(result.fault, ScannerNotFollowing)
        if mode == "timeout":
            assert isinstance(result.fault, InstrumentTimeout)
        again = _scan(rig, folder, config, out, resume=True)
    assert again.complete and again.fault is None, again.status
    with h5py.File(out, "r") as fh:
        x = fh["entry/data/lockin_x"][()]
        y = fh["entry/data/lockin_y"][()]
        assert fh["entry/data/measured"][()].all()
    pairs = {(a, b) for a, b in zip(x.ravel(), y.ravel(), strict=True)}
    assert len(pairs) == x.size and np.isfinite(x).all()  # no frozen reading left


def test_mrfm_scan_exits_3_on_a_frozen_lock_in_and_resumes(files, capsys):
    from mrfm.cli.main import main
    from mrfm.rig import VirtualRig

    folder, config, base = files
    out = folder / "cli-stuck.h5"
    with VirtualRig.from_file(base) as rig:
        served = write_rig(folder, config, resources=rig.resources, interferometer=True,
                           name="cli.toml")
        rig.inject_fault("lockin", "stuck", after=30)  # in the second line
        code = main(["scan", str(config), "--rig", str(served), "-o", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 3, err
        assert err[-1].startswith("mrfm: instrument fault:") and "frozen" in err[-1]
        rig.clear_faults()
        with h5py.File(out, "r") as fh:
            assert fh["entry/status"][()].decode().startswith("fault: ")
            assert 0 < fh["entry/data/measured"][()].sum() < NX * NY
        assert main(["scan", str(config), "--rig", str(served), "-o", str(out),
                     "--resume"]) == 0
    with h5py.File(out, "r") as fh:
        assert fh["entry/data/measured"][()].all()
