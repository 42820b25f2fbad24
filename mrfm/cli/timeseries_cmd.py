"""``mrfm timeseries CONFIG [-o OUT.h5] [--duration S] [--json]``: stream a simulated record.

The ``[timeseries]`` section of the experiment file sets the sample rate,
duration, seed, mode (driven | self-oscillating) and the readout chain (see
:mod:`mrfm.config.timeseries`); without it the defaults apply. The record
goes to HDF5 chunk by chunk (``mrfm plot`` draws it).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from mrfm import resources
from mrfm.cli.jsonout import print_json
from mrfm.cli.options import add_max_memory, apply_max_memory, check_output
from mrfm.cli.progress import CommandProgress


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "timeseries",
        help="simulate the cantilever, spins and readout in the time domain (HDF5)",
        description="Simulate the thermally driven cantilever with the spin signal, the "
        "interferometer, ADC, lock-in amplifier and PLL, and stream the record to HDF5.",
    )
    p.add_argument("config", help="experiment file (TOML) with an optional [timeseries] section")
    p.add_argument("-o", "--output", default=None,
                   help="HDF5 file to write (default: <config name>_timeseries.h5)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="record length, overriding timeseries.duration")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_max_memory(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.config import ConfigError, TimeseriesSettings, load
    from mrfm.timedomain.experiment import chain_parameters
    from mrfm.timedomain.stream import write_timeseries

    apply_max_memory(args)
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise ConfigError(f"--duration: value {args.duration!r} must be a finite time > 0 s")
    exp = load(args.config)
    settings = exp.timeseries or TimeseriesSettings()
    out = Path(args.output) if args.output else Path(f"{Path(args.config).stem}_timeseries.h5")
    if out.suffix.lower() not in (".h5", ".hdf5", ".nxs"):
        raise ConfigError(f"-o {out}: the output must be an HDF5 file (.h5)")
    check_output(out, inputs=[args.config])
    resources.check(resources.timeseries_bytes(settings.chunk, len(settings.channels)),
                    what=f"timeseries (chunks of {settings.chunk} samples)",
                    setting="a smaller timeseries.chunk")
    params, n = chain_parameters(exp, settings, duration=args.duration)
    print(f"mrfm timeseries: {n} samples at {1 / params.dt:.6g} Hz ({n * params.dt:.4g} s, "
          f"{params.mode}, spins: {params.spin_model}) -> {out}", file=sys.stderr)
    with CommandProgress("timeseries", "samples") as progress:
        summary = write_timeseries(out, params, n_samples=n, chunk=settings.chunk,
                                   channels=settings.channels, config_text=exp.source_text,
                                   experiment=exp, progress=progress.update)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {summary['samples_written']} samples in {summary['elapsed_s']:.3g} s; "
              f"displacement rms {summary['displacement_rms_m']:.4g} m "
              f"(thermal {summary['thermal_rms_m']:.4g} m)", file=sys.stderr)
    return 0
