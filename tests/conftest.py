"""Suite-wide hooks: the numba kernels compile in the background while the suite starts.

When the whole suite runs (``python -m pytest``: the ``testpaths`` of pyproject.toml) on
pytest-xdist workers, the controller starts ``tests/numba_warmup.py``. It compiles the
solver's kernels into numba's on-disk cache, each once (a worker that needs one meanwhile
waits for it, :class:`mrfm.jit.SharedCompile`); on a warm cache it only loads them (a few
seconds). A run of chosen files or tests, or one without workers, compiles what it needs
as before. The warm-up is stopped when the session ends; it asserts nothing, and its
failure fails no test (the tests then compile the kernels themselves), but it is
reported. ``MRFM_NO_NUMBA_WARMUP=1`` runs the suite without it (to compare).

The tests' own numba helpers (``tests/**/__pycache__``) call the package's kernels, so
their cache files older than the newest kernel source are removed first, as the package
removes its own (:mod:`mrfm.kernel_cache`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mrfm.kernel_cache import kernel_sources, remove_stale

#: numba's parallel kernels run on its OpenMP layer here (libgomp), whose idle threads spin
#: for a while after each parallel region before they sleep. The suite runs three worker
#: processes (and their CLI subprocesses) on two cores, so that spinning took the CPU the
#: other workers needed: warm runs took 189-196 s (327-341 CPU-seconds) spinning and
#: 174-183 s (292-315 CPU-seconds) without (4 December 2026). Set here, before any worker
#: starts, so every process of the run inherits it; an explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: The suite starts about 90 Python processes besides its workers (the CLI commands it
#: tests, their dask workers). Where the environment sets PYTHONDONTWRITEBYTECODE (this
#: machine's does), each of them compiled the package's sources anew: 0.15-0.2 s of CPU
#: per process (5 December 2026). The suite's processes write and share the byte code,
#: as Python does by default; the setting is left alone outside the test run.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

WARMUP = Path(__file__).with_name("numba_warmup.py")
_PROC = pytest.StashKey[subprocess.Popen]()
_LOG = pytest.StashKey[Path]()


def _whole_suite_on_workers(config: pytest.Config) -> bool:
    if hasattr(config, "workerinput"):  # an xdist worker, not the controller
        return False
    workers = config.getoption("numprocesses", default=None)
    return bool(workers) and config.args_source is pytest.Config.ArgsSource.TESTPATHS


def pytest_configure(config: pytest.Config) -> None:
    remove_stale(kernel_sources(), [Path(__file__).parent])
    if not _whole_suite_on_workers(config) or os.environ.get("MRFM_NO_NUMBA_WARMUP"):
        return
    fd, log = tempfile.mkstemp(prefix="mrfm-numba-warmup-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        config.stash[_PROC] = subprocess.Popen(
            [sys.executable, str(WARMUP)], cwd=config.rootpath, stdin=subprocess.DEVNULL,
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    config.stash[_LOG] = Path(log)


def pytest_unconfigure(config: pytest.Config) -> None:
    proc = config.stash.get(_PROC, None)
    if proc is None:
        return
    log = config.stash[_LOG]
    if proc.poll() is None:  # not needed any more
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    elif proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        print(f"\ntests/numba_warmup.py failed (exit {proc.returncode}); the tests compiled "
              f"their kernels themselves: {' | '.join(tail)}", file=sys.stderr)
    log.unlink(missing_ok=True)


#: test files whose tests are long chains of CLI commands (about 55 s in all, mostly
#: waiting on their subprocesses): they go first, so that no worker starts them last
#: while the others have finished (the suite's last 15-50 s ran only these, 5 December
#: 2026). pytest-xdist hands each worker a contiguous share of the list at the start.
FIRST = ("tests/test_readme.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``wallclock`` (a prediction of wall-clock time against the time taken)
    go last: on the workers' queues they then run after the cold-cache compilation, when
    the 2-core machine's load no longer swings between a test's start and its end. The
    tests of :data:`FIRST` go first."""
    def key(item: pytest.Item) -> tuple[bool, bool]:
        return (item.get_closest_marker("wallclock") is not None,
                not item.nodeid.startswith(FIRST))
    items.sort(key=key)


@pytest.fixture(autouse=True)
def _close_rig_clients():
    """After each test, close the raw rig clients it left open (a failed test's sockets
    would otherwise be collected, and reported, during another test)."""
    yield
    helpers = sys.modules.get("tests.rig.rig_helpers")
    if helpers is not None:
        helpers.close_open_clients()
