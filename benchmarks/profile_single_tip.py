"""Where a single tip's time goes: a sampling profile of the solver's compiled kernels.

Usage::

    python benchmarks/profile_single_tip.py [CERMIT|CAI|force-gradient] [--seconds S]
                                            [--threads N] [--quick] [--off-lattice]

Runs the single tip of the mrfmsim comparison case (``bench_solver.curvature_experiment``:
1.02 M voxels of Curie electrons under a 3.3 um sphere; ``--quick``: 41 x 41 x 40) in a
loop under Linux ``perf`` and prints the share of each compiled function, each C-library
function and the Python interpreter, as JSON. That tip lies on the voxel lattice, where
the direct path folds the grid about it for the force gradient and CERMIT
(:mod:`mrfm.solver.mirror`); ``--off-lattice`` profiles the benchmark's off-lattice tip
(``bench_solver.off_lattice_tip``), which sums every voxel.

perf sees numba's machine code as anonymous memory. This script names it: numba's kernels
are compiled afresh into a temporary cache folder (a kernel loaded from numba's on-disk
cache keeps no object code to read symbols from; about a minute for the full case), the
symbol table of each compiled object is read with ``nm`` and written, at the addresses where
the object was loaded, to ``/tmp/perf-<pid>.map``, the file ``perf report`` reads for
just-in-time code; the folder, the map and perf's data are removed at the end. Needs
``perf`` and ``nm`` (binutils) on the PATH and permission to profile one's own processes
(``kernel.perf_event_paranoid`` <= 2). Timings: a sampling profile's shares, not a
benchmark; compare code versions with interleaved runs of ``bench_solver.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: environment variable naming the numba cache folder this script made (removed at the end)
_OWN_CACHE = "MRFM_PROFILE_OWN_CACHE"


def _symbols(obj: bytes) -> list[tuple[int, int, str]]:
    """(offset, size, name) of the functions defined in an ELF object (``nm -S``)."""
    with tempfile.NamedTemporaryFile(suffix=".o") as fh:
        fh.write(obj)
        fh.flush()
        text = subprocess.run(["nm", "-S", "--defined-only", fh.name], capture_output=True,
                              text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("t", "T"):
            out.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    return out


def write_perf_map(dispatchers: list, path: Path) -> int:
    """Append a perf map line (address, size, name) for every function compiled into the
    libraries (and the libraries they link) of the dispatchers' overloads; returns the
    number of lines. Each object's load address is found from one of its symbols."""
    lines = []
    seen: set[int] = set()
    for d in dispatchers:
        libs = [cres.library for cres in d.overloads.values()]
        while libs:
            lib = libs.pop()
            if id(lib) in seen:
                continue
            seen.add(id(lib))
            libs.extend(getattr(lib, "_linking_libraries", ()))
            try:
                syms = _symbols(lib._get_compiled_object())
            except (RuntimeError, ValueError):  # loaded from a cache, or numba runtime code
                continue
            base = next((lib.get_pointer_to_function(name) - off for off, _, name in syms
                         if lib.get_pointer_to_function(name)), None)
            if base is not None:
                lines += [f"{base + off:x} {size:x} {name}\n" for off, size, name in syms]
    with open(path, "a") as fh:
        fh.writelines(lines)
    return len(lines)


def _short(symbol: str) -> str:
    """A readable name from numba's mangled one (``_ZN`` then length-prefixed parts up to the
    version tag): the dotted path of the Python function."""
    if not symbol.startswith("_ZN"):
        return symbol[:80]
    names, i = [], 3
    while i < len(symbol) and symbol[i].isdigit():
        j = i
        while symbol[j].isdigit():
            j += 1
        n = int(symbol[i:j])
        names.append(symbol[j:j + n])
        i = j + n
    return ".".join(names).replace("_3clocals_3e", "<locals>") or symbol[:80]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("protocol", nargs="?", default="CERMIT",
                    choices=("CERMIT", "CAI", "force-gradient"))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--off-lattice", action="store_true",
                    help="the tip moved off the voxel lattice (no mirror fold)")
    args = ap.parse_args()
    missing = [tool for tool in ("perf", "nm") if shutil.which(tool) is None]
    if missing:
        print(f"profile_single_tip: needs {' and '.join(missing)} on the PATH (Linux perf, "
              "binutils)", file=sys.stderr)
        return 2
    if "NUMBA_CACHE_DIR" not in os.environ:  # compile afresh (see the module notes)
        cache = tempfile.mkdtemp(prefix="mrfm-profile-cache-")
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {**os.environ, "NUMBA_CACHE_DIR": cache, _OWN_CACHE: cache})
    try:
        return _profile(args)
    finally:  # leave nothing behind: the cache this script made, the perf map
        Path(f"/tmp/perf-{os.getpid()}.map").unlink(missing_ok=True)
        if os.environ.get(_OWN_CACHE):
            shutil.rmtree(os.environ[_OWN_CACHE], ignore_errors=True)


def _profile(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numba
    from bench_solver import centre_tip, curvature_experiment, off_lattice_tip

    from mrfm.solver import direct, simulate
    from mrfm.solver import kernels as K

    numba.set_num_threads(args.threads)
    one = centre_tip(curvature_experiment(args.protocol, args.quick))[0]
    if args.off_lattice:
        one = off_lattice_tip(one)
    print("compiling ...", file=sys.stderr, flush=True)
    simulate(one, method="direct", progress=False)
    kid = {"CERMIT": K.CERMIT, "CAI": K.CAI, "force-gradient": K.FORCE_GRADIENT}[args.protocol]
    voxel_sums = direct.specialized(kid, 0)[0]
    n_symbols = write_perf_map([voxel_sums.dispatcher], Path(f"/tmp/perf-{os.getpid()}.map"))
    with tempfile.TemporaryDirectory(prefix="mrfm-profile-") as folder:
        data = Path(folder) / "perf.data"
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "5000", "-p", str(os.getpid()),
                                 "-o", str(data), "--", "sleep", str(args.seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        start, runs = time.perf_counter(), 0
        while perf.poll() is None:
            simulate(one, method="direct", progress=False)
            runs += 1
        per_run = (time.perf_counter() - start) / max(runs, 1)
        if perf.returncode != 0:
            err = (perf.stderr.read() if perf.stderr else "").strip().splitlines()
            print(f"profile_single_tip: perf record failed: {err[-1] if err else perf.returncode}"
                  " (see kernel.perf_event_paranoid)", file=sys.stderr)
            return 2
        report = subprocess.run(["perf", "report", "-i", str(data), "--no-children",
                                 "--stdio", "--sort", "dso,symbol", "-q"], capture_output=True,
                                text=True)
    rows = []
    for line in report.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[.\]\s+(\S+)", line)
        if m and float(m.group(1)) >= 0.2:
            rows.append({"percent": float(m.group(1)), "where": m.group(2),
                         "function": _short(m.group(3))})
    print(json.dumps({"protocol": args.protocol, "quick": args.quick, "threads": args.threads,
                      "off_lattice": args.off_lattice,
                      "ms_per_tip": round(per_run * 1e3, 2), "runs": runs,
                      "named_kernel_functions": n_symbols, "profile": rows}, indent=1))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
