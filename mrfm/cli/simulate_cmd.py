"""``mrfm simulate CONFIG [-o OUT.h5] [--set KEY=VALUE ...] [--json]``: a protocol's signal map."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import TYPE_CHECKING

import numpy as np

from mrfm.cli.jsonout import print_json
from mrfm.cli.options import add_max_memory, apply_max_memory, check_output
from mrfm.cli.progress import CommandProgress
from mrfm.errors import UserError

if TYPE_CHECKING:
    from mrfm.solver.result import SignalMap


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
    from mrfm.solver import ResonanceOutsideSampleWarning, choose_method, simulate

    apply_max_memory(args)
    if args.output:
        check_output(args.output, inputs=[args.config])
    exp = load(args.config, overrides=parse_sets(args.set))
    if (adiabatic := adiabaticity_warning(exp)) is not None:
        print(f"mrfm: warning: {adiabatic}", file=sys.stderr)
    unit = "depth layers" if choose_method(exp, args.method) == "fft" else "tip positions"
    with warnings.catch_warnings(record=True) as caught, \
            CommandProgress("simulate", unit) as progress:
        warnings.simplefilter("always", ResonanceOutsideSampleWarning)
        result = simulate(exp, method=args.method, progress=progress.update)
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
    line = (f"{result.protocol} ({result.polarization}, {result.method}): grid "
            f"{'x'.join(map(str, sig.shape))}, peak |signal| {_value(result.peak, result.unit)}, "
            f"{result.elapsed_s:.2f} s")
    if output:
        print(f"{line}, written to {output}", file=sys.stderr)
        return 0
    # no file: the summary is the command's result, on stdout
    print(human_summary(result))
    return 0


def _value(value: float, unit: str) -> str:
    """``value`` in ``unit`` with an engineering prefix (``"1.2 aN"``, ``"3.1e-36 N^2"``)."""
    from mrfm.unit_format import format_quantity

    if "^" not in unit:
        return format_quantity(value, unit)
    base, _, power = unit.partition("^")
    if power.isdigit() and value != 0 and math.isfinite(value):
        # N^2: the prefix of the root, squared (1.4e-35 N^2 -> 14 aN^2)
        root = format_quantity(abs(value) ** (1.0 / int(power)), base, digits=12)
        number, prefixed = root.split(" ")
        scaled = math.copysign(float(number) ** int(power), value)
        digits = max(4, int(math.floor(math.log10(abs(scaled)))) + 1)
        return f"{scaled:.{digits}g} {prefixed}^{power}"
    return f"{value:.4g} {unit}"


def human_summary(result: SignalMap) -> str:
    """Several lines describing a signal map: protocol, unit, grid, min/max/peak, time."""
    sig = result.signal
    coords = result.coords
    axes = ", ".join(
        f"{name} = {_value(float(v.reshape(-1)[0]), 'm')}" if v.size == 1 else
        f"{name} {_value(float(np.min(v)), 'm')} .. {_value(float(np.max(v)), 'm')} ({v.size})"
        for name, v in coords.items())
    return "\n".join([
        f"protocol      {result.protocol} ({result.polarization} polarization, "
        f"{result.method} method)",
        f"unit          {result.unit}",
        f"grid          {'x'.join(map(str, sig.shape))} tip positions: {axes}",
        f"signal min    {_value(float(sig.min()), result.unit)}",
        f"signal max    {_value(float(sig.max()), result.unit)}",
        f"peak |signal| {_value(result.peak, result.unit)}",
        f"elapsed       {result.elapsed_s:.3g} s",
        "(not written; add -o FILE.h5 to save the map)",
    ])
