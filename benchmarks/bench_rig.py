"""Query round trips per second: the virtual SR830 over loopback vs pyvisa-sim, same run.

Both go through a real pyvisa session and the same query (``OUTP? 1``, the
lock-in's X output): ``@py`` to the virtual rig's TCP server on 127.0.0.1, and
``@sim`` to ``instruments/sim/sr830.yaml``. Prints one JSON object.

    python benchmarks/bench_rig.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pyvisa

from mrfm.resources import data_dir
from mrfm.rig.server import VirtualRig


def rate(resource, query: str, n: int) -> float:
    """Queries per second over ``n`` round trips (after 20 warm-up queries)."""
    for _ in range(20):
        resource.query(query)
    t0 = time.perf_counter()
    for _ in range(n):
        resource.query(query)
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few queries (seconds)")
    args = parser.parse_args()
    n = 300 if args.quick else 5000
    with VirtualRig.from_file() as rig:
        rm = pyvisa.ResourceManager("@py")
        lockin = rm.open_resource(rig.resources["lockin"], read_termination="\n",
                                  write_termination="\n", timeout=5000)
        virtual = rate(lockin, "OUTP? 1", n)
        identify = rate(lockin, "*IDN?", n)
        lockin.close()
        rm.close()
    sim_rm = pyvisa.ResourceManager(f"{data_dir('instruments') / 'sim' / 'sr830.yaml'}@sim")
    name = next(r for r in sim_rm.list_resources() if "GPIB" in r or "ASRL" in r or "TCPIP" in r)
    sim = sim_rm.open_resource(name, read_termination="\n", write_termination="\n")
    simulated = rate(sim, "OUTP? 1", n)
    sim.close()
    sim_rm.close()
    print(json.dumps({
        "benchmark": "query round trips, SR830 'OUTP? 1'",
        "queries": n,
        "virtual_rig_loopback_per_s": virtual,
        "virtual_rig_idn_per_s": identify,
        "pyvisa_sim_per_s": simulated,
        "ratio_virtual_over_sim": virtual / simulated,
        "loadavg": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
