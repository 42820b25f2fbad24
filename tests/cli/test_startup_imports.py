"""What the command line imports before it does any work (issue 18: ``mrfm --help`` within
0.5 s, ``mrfm info`` within 1 s). Each command runs in a fresh interpreter, where nothing
was imported before, and reports ``sys.modules`` when it has finished."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from mrfm.cli.main import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""

#: loaded by no command that only reads a configuration: the HDF5 library, the plotting
#: and dask stacks (pint imports dask when it is installed, mrfm.units keeps it out),
#: and the subpackages that compute, scan, serve or reconstruct
NEVER_FOR_INFO = ("h5py", "dask", "distributed", "matplotlib", "jinja2", "mrfm.data.nexus",
                  "mrfm.solver", "mrfm.timedomain", "mrfm.imaging", "mrfm.rig", "mrfm.scan",
                  "mrfm.plotting", "mrfm.monitor", "mrfm.drivers")
#: ``mrfm --help`` builds the parser only: no unit library, no numba, no physics
NEVER_FOR_HELP = NEVER_FOR_INFO + ("pint", "numba", "llvmlite", "scipy", "mrfm.physics",
                                   "mrfm.config", "mrfm.info")


def _modules_after(tmp_path: Path, *args: str) -> list[str]:
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", SCRIPT, str(report), *args], cwd=ROOT,
                   capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(report.read_text())
    assert result["code"] == 0
    return result["modules"]


def _loaded(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden)]


def test_help_loads_no_unit_library_numba_or_physics(tmp_path):
    modules = _modules_after(tmp_path, "--help")
    assert "mrfm.cli.info_cmd" in modules and "mrfm.cli.plot_cmd" in modules  # the parser
    assert _loaded(modules, NEVER_FOR_HELP) == []
    assert "importlib.metadata" not in modules  # the version is looked up for --version only


def test_info_loads_no_hdf5_dask_plotting_or_solver(tmp_path):
    modules = _modules_after(tmp_path, "info", str(ROOT / "configs" / "demo.toml"), "--json")
    assert "mrfm.info" in modules and "pint" in modules  # it did the work
    assert _loaded(modules, NEVER_FOR_INFO) == []


def test_plotting_a_signal_map_loads_no_numba_or_compiled_solver(tmp_path):
    """``mrfm plot`` of a simulated map reads the file's SignalMap (``mrfm.solver.result``)
    without importing the solver's compiled paths (``mrfm.solver`` imports them lazily)."""
    h5 = tmp_path / "map.h5"
    subprocess.run([sys.executable, "-m", "mrfm", "simulate", str(ROOT / "configs" / "demo.toml"),
                    "-o", str(h5)], cwd=tmp_path, capture_output=True, timeout=300, check=True)
    modules = _modules_after(tmp_path, "plot", str(h5), "-o", str(tmp_path / "map.png"))
    assert "mrfm.plotting.signal_map" in modules and "mrfm.solver.result" in modules
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert _loaded(modules, ("numba", "llvmlite", "mrfm.solver.simulation", "mrfm.solver.direct",
                             "mrfm.solver.fft")) == []


FREEZE_SCRIPT = """
import gc, sys
from mrfm.cli.main import main
main(["info", sys.argv[1]])        # called with arguments: a library use, nothing frozen
in_process = gc.get_freeze_count()
sys.argv = ["mrfm", "info", sys.argv[1]]
main()                             # the program itself: the heap is frozen for the exit
print(in_process, gc.get_freeze_count())
"""


def test_only_the_program_freezes_its_heap_before_exit():
    """``main()`` as the program (no argv) freezes the collector's heap so that the
    interpreter's shutdown does not collect it three times (0.27 s of ``mrfm info``);
    ``main(argv)`` called in a process that goes on (tests, notebooks) leaves it alone."""
    out = subprocess.run([sys.executable, "-c", FREEZE_SCRIPT,
                          str(ROOT / "configs" / "demo.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    in_process, program = map(int, out.stdout.split()[-2:])
    assert in_process == 0
    assert program > 50_000  # numba's and pint's objects among them
