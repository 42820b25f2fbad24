"""The real-rig path stands alone: importing every module of mrfm.scan and mrfm.drivers
(and the rig definitions) loads nothing of the virtual rig, the solver, the time domain
or imaging. Checked in a fresh interpreter, where nothing was imported before."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import importlib, json, pkgutil, sys
import mrfm.drivers, mrfm.rigdef, mrfm.scan
names = []
for pkg in (mrfm.scan, mrfm.drivers, mrfm.rigdef):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""

FORBIDDEN = ("mrfm.rig", "mrfm.solver", "mrfm.timedomain", "mrfm.imaging")


def test_scan_and_drivers_import_nothing_of_the_rig_solver_timedomain_or_imaging():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, check=True)
    report = json.loads(proc.stdout)
    imported = set(report["imported"])
    # the walk really covered the packages (their split modules included)
    for name in ("mrfm.scan.run", "mrfm.scan.rig_handle", "mrfm.scan.roles",
                 "mrfm.scan.logbook", "mrfm.scan.instruments", "mrfm.drivers.base",
                 "mrfm.drivers.values", "mrfm.drivers.descriptors", "mrfm.drivers.pi.e727",
                 "mrfm.rigdef.registry"):
        assert name in imported, name
    leaked = [m for m in report["loaded"]
              if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
    assert "numba" not in report["loaded"]
