"""Query round trips per second: the virtual SR830 over loopback vs pyvisa-sim, same run.

Every figure goes through a real pyvisa session and the same query (``OUTP? 1``,
the lock-in's X output, computed from the rig's physics at the time of the
query):

* ``virtual_rig_loopback_per_s`` (the headline): ``@py`` (pyvisa-py) to the
  virtual rig served the way a user serves it, ``mrfm rig serve`` in a process
  of its own, over TCP on 127.0.0.1;
* ``virtual_rig_in_process_per_s``: the same rig served by threads of the
  benchmark's own process (``VirtualRig.from_file()``), where client and server
  share one interpreter lock;
* ``pyvisa_sim_per_s``: ``@sim`` to ``instruments/sim/sr830.yaml``, in-process
  string matching, no socket;
* ``loopback_floor_per_s``: ``@py`` to a minimal server in a process of its own
  that answers every line with a fixed reading at once: what pyvisa-py and one
  loopback round trip cost with no instrument behind them.

The measurements are interleaved over ``--rounds`` rounds (medians reported,
every round listed) because other work on the machine moves single figures a
lot. Prints one JSON object.

    python benchmarks/bench_rig.py [--quick] [--rounds N] [--queries N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from importlib.metadata import version

import pyvisa

from mrfm.resources import data_dir

QUERY = "OUTP? 1"
#: the minimal server's answer (as long as a typical X reading)
FIXED_REPLY = b"1.23456e-05\n"


def rate(resource, query: str, n: int) -> float:
    """Queries per second over ``n`` round trips (after 20 warm-up queries)."""
    for _ in range(20):
        resource.query(query)
    t0 = time.perf_counter()
    for _ in range(n):
        resource.query(query)
    return n / (time.perf_counter() - t0)


def open_socket(rm: pyvisa.ResourceManager, resource: str):
    """A pyvisa-py session as the mrfm drivers open one (LF terminations)."""
    return rm.open_resource(resource, read_termination="\n", write_termination="\n",
                            timeout=5000)


# ------------------------------------------------------------------ servers
def serve_rig() -> tuple[subprocess.Popen, dict[str, str]]:
    """``mrfm rig serve --json`` (the shipped rig file) in a process of its own."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mrfm.cli.main", "rig", "serve", "--json"],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if not line:
        stop(proc)
        raise RuntimeError(f"mrfm rig serve exited ({proc.returncode}) before serving")
    return proc, json.loads(line)["instruments"]


def serve_floor() -> tuple[subprocess.Popen, str]:
    """The minimal reference server (this file, ``--floor-server``) in a process of its own."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--floor-server"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
    except ValueError:
        stop(proc)
        raise RuntimeError("the reference server did not start") from None
    return proc, f"TCPIP0::127.0.0.1::{port}::SOCKET"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def floor_server() -> None:
    """Answer every LF-terminated line with :data:`FIXED_REPLY` (127.0.0.1 only, blocking
    reads, one thread per connection), until terminated."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)

    def answer(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        with conn:
            while data := conn.recv(65536):
                pending += data
                lines = pending.count(b"\n")
                pending = pending[pending.rfind(b"\n") + 1:]
                if len(pending) > 4096:
                    pending = b""
                if lines:
                    conn.sendall(FIXED_REPLY * lines)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


# --------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few queries (seconds)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; quick 2)")
    parser.add_argument("--queries", type=int, default=None,
                        help="queries per figure and round (default 5000; quick 300)")
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        floor_server()
        return
    n = args.queries or (300 if args.quick else 5000)
    rounds = args.rounds or (2 if args.quick else 5)
    load_start = os.getloadavg()[0]
    runs: dict[str, list[float]] = {k: [] for k in (
        "virtual_rig_loopback", "virtual_rig_idn", "pyvisa_sim", "loopback_floor",
        "virtual_rig_in_process")}

    sim_rm = pyvisa.ResourceManager(f"{data_dir('instruments') / 'sim' / 'sr830.yaml'}@sim")
    name = next(r for r in sim_rm.list_resources() if "GPIB" in r or "ASRL" in r or "TCPIP" in r)
    sim = sim_rm.open_resource(name, read_termination="\n", write_termination="\n")
    rm = pyvisa.ResourceManager("@py")
    rig_proc, resources = serve_rig()
    floor_proc = None
    try:
        floor_proc, floor_resource = serve_floor()
        lockin = open_socket(rm, resources["lockin"])
        floor = open_socket(rm, floor_resource)
        for _ in range(rounds):
            runs["virtual_rig_loopback"].append(rate(lockin, QUERY, n))
            runs["pyvisa_sim"].append(rate(sim, QUERY, n))
            runs["virtual_rig_idn"].append(rate(lockin, "*IDN?", n))
            runs["loopback_floor"].append(rate(floor, QUERY, n))
        lockin.close()
        floor.close()
    finally:
        stop(rig_proc)
        if floor_proc is not None:
            stop(floor_proc)
    sim.close()
    sim_rm.close()

    from mrfm.rig.server import VirtualRig

    with VirtualRig.from_file() as rig:
        lockin = open_socket(rm, rig.resources["lockin"])
        for _ in range(rounds):
            runs["virtual_rig_in_process"].append(rate(lockin, QUERY, n))
        lockin.close()
    rm.close()

    med = {k: statistics.median(v) for k, v in runs.items()}
    print(json.dumps({
        "benchmark": f"query round trips through pyvisa, SR830 {QUERY!r}",
        "server": "mrfm rig serve in its own process, TCP on 127.0.0.1, pyvisa-py client",
        "queries": n,
        "rounds": rounds,
        "virtual_rig_loopback_per_s": med["virtual_rig_loopback"],
        "virtual_rig_idn_per_s": med["virtual_rig_idn"],
        "virtual_rig_in_process_per_s": med["virtual_rig_in_process"],
        "pyvisa_sim_per_s": med["pyvisa_sim"],
        "loopback_floor_per_s": med["loopback_floor"],
        "ratio_virtual_over_sim": med["virtual_rig_loopback"] / med["pyvisa_sim"],
        "ratio_floor_over_sim": med["loopback_floor"] / med["pyvisa_sim"],
        "per_round": {k: [round(x) for x in v] for k, v in runs.items()},
        "loadavg": [load_start, os.getloadavg()[0]],
        "versions": {d: version(d) for d in ("pyvisa", "pyvisa-py", "pyvisa-sim")},
    }))


if __name__ == "__main__":
    main()
