"""``mrfm info CONFIG [--json]``: figures of merit of an experiment."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING

from mrfm.cli.jsonout import print_json
from mrfm.unit_format import format_quantity

if TYPE_CHECKING:
    from mrfm.config import OverrideValue
    from mrfm.info import ExperimentSummary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="noise floor, tip gradient and spin polarization of an experiment",
        description="Print the cantilever's thermal noise floor, the tip's field gradient "
        "(and its ratio to a clinical MRI scanner's) and the spin polarization.",
    )
    p.add_argument("config", help="experiment file (TOML)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration key, e.g. cantilever.Q=3e4")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def parse_sets(items: list[str]) -> dict[str, OverrideValue]:
    """``["a.b=1", ...]`` -> ``{"a.b": 1}`` with TOML-typed values."""
    from mrfm.config import ConfigError, parse_override_value

    overrides: dict[str, OverrideValue] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. cantilever.Q=3e4")
        overrides[key.strip()] = parse_override_value(value.strip())
    return overrides


def run(args: argparse.Namespace) -> int:
    from mrfm.config import load
    from mrfm.info import summarize

    exp = load(args.config, overrides=parse_sets(args.set))
    summary = summarize(exp)
    if args.json:
        print_json(summary.as_json())
        return 0
    print(render_table(summary), file=sys.stderr)
    return 0


def render_table(summary: ExperimentSummary) -> str:
    """Human-readable table of an ExperimentSummary."""
    rows = [
        ("experiment", summary.name),
        ("protocol", summary.protocol),
        ("force noise", f"{format_quantity(summary.force_noise, 'N')}/√Hz "
                        f"(S_F = {summary.force_noise_psd:.3g} N²/Hz)"),
        ("thermal motion (rms)", format_quantity(summary.thermal_rms, "m")),
        ("ring-down time", format_quantity(summary.ringdown_time, "s")),
        ("tip gradient max |dBz/dx|", f"{summary.tip_gradient_max:.3g} T/m at "
                                      f"{format_quantity(summary.min_height, 'm')} spacing"),
        ("  vs clinical MRI (0.04 T/m)", f"{summary.gradient_vs_clinical:.3g} x"),
        ("tip field max |B_tip|", format_quantity(summary.tip_field_max, "T")),
    ]
    rows.append(("Q with gas damping", f"{summary.effective_q:.4g}"))
    rows.append(("Q total (force noise)", f"{summary.q_total:.4g}"))
    for key, value in summary.q_parts.items():
        rows.append((f"  {key}", f"{value:.4g}" if math.isfinite(value) else "inf (none)"))
    sd = summary.slice_dynamics
    if sd is not None:
        if sd.adiabaticity is None:
            rows.append(("adiabaticity (worst in slice)", "no spin in a resonant slice"))
        else:
            rows.append(("adiabaticity (worst in slice)",
                         f"{sd.adiabaticity:.3g} (B1_eff {format_quantity(sd.b1_eff, 'T')})"))
            rows.append(("inversion efficiency", f"{sd.inversion_efficiency:.4g} "
                                                 "(Landau-Zener, 1 - exp(-pi A/2))"))
    for s in summary.species:
        rows.append((f"spins {s.name}", f"{s.spins:.3g} spins, Larmor "
                     f"{format_quantity(s.larmor_frequency, 'Hz')}, "
                     f"polarization {s.polarization:.3g} at B0"))
        if s.larmor_frequency_slice is not None and s.polarization_slice is not None:
            rows.append((f"  {s.name} at the slice",
                         f"Larmor {format_quantity(s.larmor_frequency_slice, 'Hz')}, "
                         f"polarization {s.polarization_slice:.3g}"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
