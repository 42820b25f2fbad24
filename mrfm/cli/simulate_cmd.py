"""``mrfm simulate CONFIG [-o OUT.h5] [--set KEY=VALUE ...] [--json]``: a protocol's signal map."""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

from mrfm.cli.jsonout import print_json
from mrfm.cli.options import add_max_memory, apply_max_memory, check_output
from mrfm.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate the protocol's signal over the tip grid",
        description="Compute the MRFM signal (force, force variance or frequency shift) of the "
        "experiment's protocol at every tip position and optionally write it to NeXus HDF5.",
    )
    p.add_argument("config", help="experiment file (TOML)")
    p.add_argument("-o", "--output", default=None, help="HDF5 file to write (NeXus)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration key, e.g. scan.height='40 nm'")
    p.add_argument("--method", choices=("auto", "direct", "fft"), default="auto",
                   help="evaluation path (default: auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_max_memory(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.cli.info_cmd import parse_sets
    from mrfm.config import load
    from mrfm.info import adiabaticity_warning
    from mrfm.solver import ResonanceOutsideSampleWarning, simulate
    from mrfm.units import format_quantity

    apply_max_memory(args)
    if args.output:
        check_output(args.output, inputs=[args.config])
    exp = load(args.config, overrides=parse_sets(args.set))
    if (adiabatic := adiabaticity_warning(exp)) is not None:
        print(f"mrfm: warning: {adiabatic}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResonanceOutsideSampleWarning)
        result = simulate(exp, method=args.method)
    for w in caught:
        if issubclass(w.category, ResonanceOutsideSampleWarning):
            print(f"mrfm: warning: {w.message}", file=sys.stderr)
    bad = ~np.isfinite(result.signal)
    if bad.any():
        raise UserError(
            f"the simulated signal has {int(bad.sum())} non-finite value(s) "
            f"(of {bad.size}); an input is out of range (check sample densities, "
            "cantilever and field values); nothing written"
        )
    output = None
    if args.output:
        output = str(result.to_hdf5(args.output))
    sig = result.signal
    summary = {
        "protocol": result.protocol,
        "unit": result.unit,
        "shape": list(sig.shape),
        "signal_min": float(sig.min()),
        "signal_max": float(sig.max()),
        "signal_peak": result.peak,
        "elapsed_s": result.elapsed_s,
        "output": output,
        "method": result.method,
        "polarization": result.polarization,
    }
    if args.json:
        print_json(summary)
        return 0
    unit = result.unit
    base = unit.split("^")[0]
    peak = format_quantity(result.peak, base) if "^" not in unit else f"{result.peak:.4g} {unit}"
    print(f"{result.protocol} ({result.polarization}, {result.method}): grid "
          f"{'x'.join(map(str, sig.shape))}, peak |signal| {peak}, "
          f"{result.elapsed_s:.2f} s" + (f", written to {output}" if output else ""),
          file=sys.stderr)
    return 0
