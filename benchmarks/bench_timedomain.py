"""Throughput of the time-domain simulator (samples/s on one core), printed as JSON.

Cases: the exact-discretization oscillator with thermal noise alone (goal >= 50 M/s,
random draws included), the full chain (goal >= 10 M/s), and on the same record the
oscillator by scipy.signal.lsim (forced by the same white-noise force, zero-order hold)
and by scipy.integrate.solve_ivp (RK45 on the piecewise-constant force) — ratios given.
``--quick`` runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.signal  # noqa: E402

from mrfm.timedomain.chain import BlockNoise, ChainParameters, ChainSimulator  # noqa: E402
from mrfm.timedomain.oscillator import discretize, propagate  # noqa: E402

K, F0, Q, T = 1e-4, 5e3, 1e4, 4.2
DT = 1 / (20 * F0)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench(n: int, n_ref: int, repeat: int) -> dict:
    w0 = 2 * math.pi * F0
    d = discretize(k=K, omega0=w0, Q=Q, temperature=T, dt=DT)
    out_x, out_v = np.empty(n), np.empty(n)
    noise = BlockNoise(1, 1, width=2)
    propagate(d.phi, d.gamma_in, d.chol, 0.0, 0.0, np.empty(0), noise.take(0, 10),
              out_x[:10], out_v[:10])

    def oscillator():
        propagate(d.phi, d.gamma_in, d.chol, 0.0, 0.0, np.empty(0), noise.take(0, n),
                  out_x, out_v)

    t_osc = best_of(oscillator, repeat)
    z = noise.take(0, n)
    t_kernel = best_of(lambda: propagate(d.phi, d.gamma_in, d.chol, 0.0, 0.0, np.empty(0), z,
                                         out_x, out_v), repeat)
    params = ChainParameters(k=K, f0=F0, Q=Q, temperature=T, dt=DT, spin_model="cai",
                             spin_value=1e-17, lockin_time_constant=1e-2)
    ChainSimulator(params).run(1000)
    t_chain = best_of(lambda: ChainSimulator(params).run(n), repeat)
    # references on a shorter record: force = white thermal force held per step
    m = K / w0**2
    rng = np.random.default_rng(0)
    s_f = 4 * K * 1.380649e-23 * T / (w0 * Q)
    force = rng.standard_normal(n_ref) * math.sqrt(s_f / (2 * DT))
    t_axis = np.arange(n_ref) * DT
    sys_ = scipy.signal.StateSpace([[0, 1], [-(w0**2), -w0 / Q]], [[0], [1 / m]], [[1, 0]], [[0]])
    t_lsim = best_of(lambda: scipy.signal.lsim(sys_, force, t_axis, interp=False), 1)

    def rhs(t, y):
        i = min(int(t / DT), n_ref - 1)
        return [y[1], -(w0**2) * y[0] - w0 / Q * y[1] + force[i] / m]

    n_ivp = max(200, n_ref // 50)
    t_ivp = best_of(lambda: scipy.integrate.solve_ivp(rhs, (0, n_ivp * DT), [0.0, 0.0],
                                                      t_eval=t_axis[:n_ivp], max_step=DT), 1)
    rate = {
        "oscillator_noise_samples_per_s": n / t_osc,
        "oscillator_kernel_only_samples_per_s": n / t_kernel,
        "full_chain_samples_per_s": n / t_chain,
        "scipy_lsim_samples_per_s": n_ref / t_lsim,
        "scipy_solve_ivp_samples_per_s": n_ivp / t_ivp,
    }
    rate["speedup_vs_lsim"] = (rate["oscillator_noise_samples_per_s"]
                               / rate["scipy_lsim_samples_per_s"])
    rate["speedup_vs_solve_ivp"] = (rate["oscillator_noise_samples_per_s"]
                                    / rate["scipy_solve_ivp_samples_per_s"])
    rate["goals"] = {"oscillator_noise": 50e6, "full_chain": 10e6}
    rate["samples"] = {"kernel": n, "lsim": n_ref, "solve_ivp": n_ivp}
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small records (seconds)")
    args = parser.parse_args()
    n, n_ref, repeat = (2**20, 2**16, 2) if args.quick else (2**24, 2**20, 3)
    print(json.dumps(bench(n, n_ref, repeat), indent=2))


if __name__ == "__main__":
    main()
