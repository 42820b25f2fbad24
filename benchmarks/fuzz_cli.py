"""Fuzz the command line with mutated experiment files and corrupted HDF5 files.

Usage::

    python benchmarks/fuzz_cli.py [--configs 1000] [--files 200] [--workers 2]
                                  [--timeout 60] [--seed 16] [--json]

Each run is ``main(argv)`` of :mod:`mrfm.cli.main` executed inside a pool of worker
processes (mrfm imported once per worker, so a run costs milliseconds, not an
interpreter start). A run that does not finish within ``--timeout`` seconds is a
hang: its worker is killed and replaced. A run "tracebacks" when its stderr holds a
Python traceback or it exits 1 (the CLI then writes a traceback log). With ``--json``
(or an error under ``--json``) stdout must parse as one JSON object.

Config mutations (``mrfm info`` or ``mrfm simulate`` on a small grid, both ``--json``):
one to three keys of a small base experiment replaced by hostile values (unit
expressions such as ``9**9**9 N/m``, long strings, absurd magnitudes, wrong types,
deep nesting, unknown keys), or the TOML text itself damaged (bytes dropped, repeated,
flipped). File corruptions (``mrfm plot`` and ``mrfm reconstruct``): a signal map and a
dataset-like reconstruction input truncated, with flipped bytes, zeroed blocks, or with
their structure edited through h5py (wrong kinds, wrong types and shapes, missing
groups, NaN / 1e308 data, broken stored configuration).

Prints the table of exit codes, hangs, tracebacks and invalid JSON per family, then
one JSON summary line. Target (issue 16): 0 exit 1, 0 hangs, 0 tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parents[1]

BASE_TEXT = """
name = "fuzz base"
[cantilever]
k = "110 uN/m"
f0 = "5 kHz"
Q = 2e4
amplitude = "10 nm"
[stage]
temperature = "0.3 K"
pressure = "1e-6 mbar"
[magnet]
shape = "sphere"
radius = "50 nm"
polarization = "1.8 T"
[field]
B0 = "200 mT"
[rf]
frequency = "11 GHz"
B1 = "0.2 mT"
fm_depth = "4 mT"
[sample]
species = "electron"
shape = "slab"
size = ["40 nm", "40 nm"]
thickness = "12 nm"
density = "1e25 m^-3"
voxel = "4 nm"
[protocol]
name = "CAI"
polarization = "curie"
bandwidth = "10 Hz"
[scan]
x = ["-20 nm", "20 nm", 6]
y = ["-20 nm", "20 nm", 6]
height = "20 nm"
"""

KEYS = {
    "cantilever": ["k", "f0", "Q", "amplitude", "model", "thickness", "bogus"],
    "stage": ["temperature", "pressure", "piezo_range_300K"],
    "magnet": ["shape", "radius", "polarization", "dimension", "diameter", "height", "model"],
    "field": ["B0"],
    "rf": ["frequency", "B1", "fm_depth"],
    "sample": ["species", "shape", "size", "thickness", "density", "voxel", "radius",
               "length", "file", "positions", "layers", "center", "axis"],
    "protocol": ["name", "polarization", "bandwidth", "tau_m", "T1rho"],
    "scan": ["x", "y", "height"],
    "dataset": ["grid", "vary", "count", "seed"],
    "timeseries": ["duration", "sample_rate", "chunk"],
}

HOSTILE = [
    "9**9**9 N/m", "(((((1))))) m", "1e-300 N/m", "1e300 N/m", "1e400 m", "-1 nm", "nan m",
    "inf K", "0", "0 nm", "1e-20 nm", "0.01 nm", "1 m^999", "1 m**-3**2", "2 ** 3 T",
    "1 " + "m*" * 40 + "m", "x" * 5000, "1 " + "k" * 60 + "m", "__import__('os')",
    "1 nm; rm -rf /", "1\x00nm", "1 µm", "1 μm", "1 Ω", "3 degC", "1 %", "1 deg",
    "100000000000000000000000000000000", "1e22 m^-3", "1/m^3", "1 kg", "sphere", "CAI",
    "ibm-2004", "no-such-model", "../../../../etc/passwd", "/dev/zero", "", " ", "\n",
    "1e308 m^-3", "1e31 m^-3", "4 nm", "20 nm", "5e28 m^-3",
]


#: valid alternatives (mutations that keep the experiment sensible reach deeper code)
MILD = {
    "k": ["50 uN/m", "1 mN/m", 0.001], "f0": ["3 kHz", "12 kHz"], "Q": [1e3, 1e5],
    "amplitude": ["0 nm", "30 nm"], "temperature": ["4.2 K", "300 K", "10 mK"],
    "pressure": ["1e-3 Pa", "1 mbar"], "radius": ["30 nm", "100 nm", "2 nm"],
    "polarization": ["1 T", [0, 0, "1.8 T"]], "B0": ["0 T", "1 T", "3 T"],
    "frequency": ["2.9 GHz", "100 MHz", "30 GHz"], "B1": ["1 mT", "0.01 mT"],
    "fm_depth": ["1 mT", "20 mT"], "species": ["1H", "19F", "electron"],
    "density": ["5e28 m^-3", "1e20 m^-3", 0], "voxel": ["2 nm", "8 nm", ["4 nm", "4 nm", "2 nm"]],
    "size": [["20 nm", "60 nm"]], "thickness": ["4 nm", "40 nm"], "name": ["OSCAR", "CERMIT"],
    "bandwidth": ["1 Hz", "100 Hz"], "height": ["10 nm", "60 nm", ["10 nm", "30 nm", 3]],
    "x": [["-40 nm", "40 nm", 11], ["0 nm", "0 nm", 1]], "y": [["-8 nm", "8 nm", 5]],
    "shape": ["sphere", "cuboid", "slab", "cylinder"],
}


def _value(rng: random.Random, key: str):
    if key in MILD and rng.random() < 0.5:
        return rng.choice(MILD[key])
    return _hostile_value(rng)


def _hostile_value(rng: random.Random):
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(HOSTILE)
    if kind < 0.6:
        return rng.choice([0, -1, 1, 10**30, -10**30, 2**63, 1e308, -1e308, 1e-308, 3.5,
                           float("nan"), float("inf"), True, False])
    if kind < 0.75:
        n = rng.choice([0, 1, 2, 3, 4, 100])
        return [rng.choice(HOSTILE + [1, 2.5, -3, 10**9]) for _ in range(n)]
    if kind < 0.85:
        value: object = "1 nm"
        for _ in range(rng.choice([2, 10, 200])):
            value = [value]
        return value
    if kind < 0.95:
        return {rng.choice(["a", "k", "model", "x"]): rng.choice(HOSTILE)}
    return [rng.choice(["-20 nm", "20 nm", "0 nm"]), rng.choice(["20 nm", "1 m"]),
            rng.choice([1, 6, 10**7, 10**12, -5, 0])]


def mutate_config(rng: random.Random) -> str:
    """A damaged experiment text."""
    raw = tomllib.loads(BASE_TEXT)
    if rng.random() < 0.8:
        for _ in range(rng.choice([1, 1, 2, 3])):
            section = rng.choice(list(KEYS))
            key = rng.choice(KEYS[section])
            if rng.random() < 0.05:
                raw[section] = _hostile_value(rng)
            else:
                table = raw.setdefault(section, {})
                if isinstance(table, dict):
                    table[key] = _value(rng, key)
        try:
            return tomli_w.dumps(raw)
        except (TypeError, ValueError, RecursionError):
            return BASE_TEXT + "\n[[[[ broken"
    text = bytearray(BASE_TEXT.encode())
    for _ in range(rng.choice([1, 3, 10])):
        op = rng.random()
        i = rng.randrange(len(text))
        if op < 0.3:
            del text[i:i + rng.randrange(1, 20)]
        elif op < 0.6:
            text[i:i] = text[i:i + rng.randrange(1, 40)] * rng.choice([1, 2, 50])
        elif op < 0.8:
            text[i] = rng.randrange(256)
        else:
            text[i:i] = rng.choice([b"[[", b"]]", b"=", b'"', b"\\u0000", b"[" * 3000, b"\n"])
    return text.decode("utf-8", errors="replace")


def config_jobs(n: int, rng: random.Random, folder: Path) -> list[tuple[str, list[str]]]:
    jobs = []
    for i in range(n):
        path = folder / f"cfg_{i:05d}.toml"
        path.write_text(mutate_config(rng), encoding="utf-8")
        if rng.random() < 0.75:
            argv = ["info", str(path), "--json"]
        else:
            argv = ["simulate", str(path), "--json", "--max-memory", "2GiB"]
        if rng.random() < 0.1:
            section = rng.choice(list(KEYS))
            argv += ["--set", f"{section}.{rng.choice(KEYS[section])}="
                     f"{json.dumps(_hostile_value(rng), default=str)[:6000]}"]
        jobs.append(("config", argv))
    return jobs


# --------------------------------------------------------------------------- HDF5 files
def _base_files(folder: Path) -> list[Path]:
    from mrfm.cli.main import main

    base = folder / "base.toml"
    base.write_text(BASE_TEXT)
    smap = folder / "base_map.h5"
    with contextlib.redirect_stderr(io.StringIO()):
        if main(["simulate", str(base), "-o", str(smap)]) != 0:
            raise SystemExit("fuzz_cli: cannot build the base signal map")
        recon = folder / "base_recon.h5"
        main(["reconstruct", str(smap), "-o", str(recon)])
    return [p for p in (smap, recon) if p.exists()]


def _edit_structure(path: Path, rng: random.Random) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "r+") as fh:
        entry = fh.get("entry")
        op = rng.randrange(12)
        if entry is None:
            return
        if op == 0:
            entry.attrs["mrfm_kind"] = rng.choice([42, b"\xff\xfe", "scan", "dataset_item",
                                                   "reconstruction", "timeseries", ""])
        elif op == 1 and "data" in entry:
            del entry["data"]
        elif op == 2 and "config" in entry:
            del entry["config"]
            entry.create_dataset("config", data=rng.choice(
                ["[[[", "x" * 100000, BASE_TEXT.replace("4 nm", "0.01 nm"),
                 BASE_TEXT.replace("20 nm\"\n", "-20 nm\"\n"),
                 BASE_TEXT.replace("1e25", "1e308")]), dtype=h5py.string_dtype())
        elif op == 3 and "data" in entry:
            data = entry["data"]
            for name in list(data):
                if isinstance(data[name], h5py.Dataset) and rng.random() < 0.5:
                    values = np.asarray(data[name][()])
                    del data[name]
                    choice = rng.randrange(5)
                    if choice == 0:
                        data.create_dataset(name, data=np.full(values.shape, np.nan))
                    elif choice == 1:
                        data.create_dataset(name, data=np.full(values.shape, 1e308))
                    elif choice == 2:
                        data.create_dataset(name, data="not numbers",
                                            dtype=h5py.string_dtype())
                    elif choice == 3:
                        data.create_dataset(name, data=np.zeros((3, 0, 2)))
                    else:
                        data.create_dataset(name, data=np.arange(7.0))
        elif op == 4 and "data" in entry:
            entry["data"].attrs["signal"] = rng.choice(["missing", 7, "x", ""])
        elif op == 5:
            entry.attrs["mrfm_kind"] = np.array([1, 2, 3])
        elif op == 6:
            for name in list(entry):
                if rng.random() < 0.4:
                    del entry[name]
        elif op == 7 and "data" in entry:
            entry["data"].create_dataset("measured", data=np.zeros(4, dtype=bool))
        elif op == 8 and "imaging" in entry:
            im = entry["imaging"]
            for name in ("object_shape", "data_shape", "voxel"):
                if name in im:
                    del im[name]
                    im.create_dataset(name, data=rng.choice([[10**6, 10**6, 10**6], [0, 0, 0],
                                                             [-1, 2, 3], [1.5]]))
        elif op == 9:
            fh.create_group("entry/data/nested/" + "/".join("g" * 20))
        elif op == 10:
            del fh["entry"]
            fh.create_dataset("entry", data=1.0)
        else:
            for g in ("data", "imaging", "instrument"):
                if g in entry:
                    entry[g].attrs["units"] = b"\x00\xff"


def corrupt_file(source: Path, dest: Path, rng: random.Random) -> None:
    """A damaged copy of ``source`` at ``dest``."""
    data = bytearray(source.read_bytes())
    op = rng.random()
    if op < 0.35:
        shutil.copyfile(source, dest)
        try:
            _edit_structure(dest, rng)
        except (OSError, KeyError, ValueError, TypeError, RuntimeError):
            pass
        return
    if op < 0.55:
        data = data[: rng.randrange(len(data))]
    elif op < 0.85:
        for _ in range(rng.choice([1, 4, 16, 64])):
            i = rng.randrange(len(data))
            data[i] = rng.randrange(256)
    else:
        i = rng.randrange(len(data))
        n = rng.choice([8, 64, 512, 4096])
        data[i:i + n] = bytes(len(data[i:i + n]))
    dest.write_bytes(bytes(data))


def file_jobs(n: int, rng: random.Random, folder: Path) -> list[tuple[str, list[str]]]:
    bases = _base_files(folder)
    jobs = []
    for i in range(n):
        src = rng.choice(bases)
        path = folder / f"bad_{i:05d}.h5"
        corrupt_file(src, path, rng)
        if i % 2:
            argv = ["plot", str(path), "-o", str(folder / f"bad_{i:05d}.png")]
        else:
            argv = ["reconstruct", str(path), "-o", str(folder / f"out_{i:05d}.h5"), "--json",
                    "--max-memory", "2GiB"]
        jobs.append(("hdf5", argv))
    return jobs


# ----------------------------------------------------------------------------- running
def _worker(conn, log_dir: str) -> None:
    os.environ["MRFM_LOG_DIR"] = log_dir
    import matplotlib

    matplotlib.use("Agg")
    from mrfm.cli.main import main

    while True:
        argv = conn.recv()
        if argv is None:
            return
        out, err = io.StringIO(), io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except BaseException as exc:  # noqa: BLE001 - anything escaping main is a finding
                code = -1
                err.write(f"Traceback: {exc.__class__.__name__} escaped main(): {exc}\n")
        conn.send((code, out.getvalue()[-200000:], err.getvalue()[-4000:],
                   time.perf_counter() - t0))


class Runner:
    """One worker process with a per-run timeout (killed and replaced on a hang)."""

    def __init__(self, ctx, log_dir: str):
        self.ctx, self.log_dir = ctx, log_dir
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.log_dir), daemon=True)
        self.proc.start()

    def run(self, argv: list[str], timeout: float):
        self.conn.send(argv)
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                self._start()
                return (-9, "", "worker died", timeout)
        self.proc.kill()
        self.proc.join()
        self._start()
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def _check_json(argv: list[str], code: int, stdout: str) -> bool:
    if "--json" not in argv or code not in (0, 2, 3, 4):
        return True
    try:
        obj = json.loads(stdout.strip().splitlines()[-1], parse_constant=_reject)
    except (ValueError, IndexError):
        return False
    return isinstance(obj, dict) and (code == 0 or obj.get("exit_code") == code)


def _reject(name: str):
    raise ValueError(f"bare {name} in JSON")


def run_all(jobs, workers: int, timeout: float, log_dir: str, verbose: bool):
    import threading

    ctx = mp.get_context("spawn")
    results: list[dict] = []
    lock = threading.Lock()
    queue = list(enumerate(jobs))

    def loop() -> None:
        runner = Runner(ctx, log_dir)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    _, (family, argv) = queue.pop(0)
                res = runner.run(argv, timeout)
                if res is None:
                    row = {"family": family, "argv": argv, "code": "hang", "traceback": False,
                           "json_ok": True, "seconds": timeout, "stderr": ""}
                else:
                    code, out, err, secs = res
                    row = {"family": family, "argv": argv, "code": code,
                           "traceback": "Traceback" in err or code in (1, -1),
                           "json_ok": _check_json(argv, code, out), "seconds": secs,
                           "stderr": err.strip()[:300]}
                with lock:
                    results.append(row)
                    if verbose and (row["traceback"] or row["code"] == "hang"
                                    or not row["json_ok"]):
                        print(f"  finding: {row['code']} {' '.join(argv)[:160]}\n"
                              f"           {row['stderr'][:240]}", file=sys.stderr)
        finally:
            runner.close()

    threads = [threading.Thread(target=loop) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds per run before it counts as a hang (above the 30 s "
                             "mrfm allows for reading a file's structure)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="only the JSON summary")
    parser.add_argument("--quiet", action="store_true", help="do not list findings")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mrfm-fuzz-") as tmp:
        folder = Path(tmp)
        log_dir = str(folder / "logs")
        jobs = config_jobs(args.configs, rng, folder)
        jobs += file_jobs(args.files, rng, folder)
        results = run_all(jobs, args.workers, args.timeout, log_dir, not args.quiet)
    elapsed = time.perf_counter() - t0
    summary: dict[str, dict] = {}
    for family in ("config", "hdf5"):
        rows = [r for r in results if r["family"] == family]
        codes = Counter(str(r["code"]) for r in rows)
        summary[family] = {
            "runs": len(rows),
            "exit_codes": dict(sorted(codes.items())),
            "hangs": codes.get("hang", 0),
            "tracebacks": sum(r["traceback"] for r in rows),
            "invalid_json": sum(not r["json_ok"] for r in rows),
            "slowest_s": round(max((r["seconds"] for r in rows), default=0.0), 2),
        }
    summary["elapsed_s"] = round(elapsed, 1)
    if not args.json:
        print(f"{'family':8} {'runs':>5}  {'exit 0':>6} {'exit 2':>6} {'exit 1':>6} "
              f"{'other':>5} {'hangs':>5} {'tracebacks':>10} {'bad json':>8}")
        for family in ("config", "hdf5"):
            s = summary[family]
            c = s["exit_codes"]
            other = s["runs"] - sum(c.get(k, 0) for k in ("0", "1", "2", "hang"))
            print(f"{family:8} {s['runs']:>5}  {c.get('0', 0):>6} {c.get('2', 0):>6} "
                  f"{c.get('1', 0):>6} {other:>5} {s['hangs']:>5} {s['tracebacks']:>10} "
                  f"{s['invalid_json']:>8}")
        print(f"elapsed {elapsed:.0f} s")
    print(json.dumps(summary))
    bad = sum(summary[f]["hangs"] + summary[f]["tracebacks"] + summary[f]["invalid_json"]
              for f in ("config", "hdf5"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
