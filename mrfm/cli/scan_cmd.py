"""``mrfm scan CONFIG --rig RIGFILE|virtual -o OUT.h5 [--resume]``: run a scan on a rig.

The same command drives real hardware (a rig file naming VISA resources) or
the virtual rig (``--rig virtual``: ``instruments/virtual.toml`` served in this
process, its physics taken from CONFIG). Order of work, so that bad input is
refused before anything moves (exit 2, one line):

1. read the experiment (CONFIG) and the rig file; build the safety limits;
2. check every target of the plan (and the safe height) against the limits;
3. check the output file (new, or for ``--resume`` one of the same scan);
4. open the instruments (an unreachable resource or an unknown role is bad input);
5. interlocks (field ramping, RF power, temperature), approach, scan, safe state.

An instrument fault stops the scan in the safe state with its data kept (exit
3); Ctrl-C/SIGTERM does the same and exits 130; ``--resume`` continues either.
A rig file whose instruments have no ``resource`` strings is a virtual rig: it
is served in this process (127.0.0.1) with CONFIG as its physics, as
``--rig virtual`` does with the shipped ``instruments/virtual.toml``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mrfm.errors import UserError

#: exit code after Ctrl-C / SIGTERM (128 + SIGINT, the shell convention)
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        help="run a scan on a rig (real instruments or the virtual rig)",
        description="Scan the tip over the experiment's [scan] grid (visiting order from its "
        "optional [plan] section), recording the lock-in channels into a NeXus HDF5 file "
        "that is flushed line by line and readable while the scan runs.",
    )
    p.add_argument("config", help="experiment file (TOML)")
    p.add_argument("--rig", required=True, metavar="RIGFILE|virtual",
                   help="rig file (TOML) naming the instruments, or 'virtual'")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="scan file to write")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted scan in OUT.h5 from its measured mask")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _virtual_rig_path() -> Path:
    from mrfm.resources import data_dir

    return data_dir("instruments") / "virtual.toml"


def _rig_file(spec: str, config_path: str) -> object:
    """The parsed rig file; ``virtual`` is the shipped virtual rig backed by CONFIG."""
    from mrfm.rigdef import rigfile

    if spec != "virtual":
        return rigfile.load(spec)
    rf = rigfile.load(_virtual_rig_path())
    # the physics behind the virtual instruments is the scan's own experiment
    return dataclasses.replace(rf, experiment=Path(config_path).resolve())


def _calibrate_virtual_lockin(rf: object, exp: object) -> object:
    """The virtual lock-in's calibration for this experiment (force or frequency per volt).

    The virtual rig turns a force F at the cantilever's resonance into a lock-in
    reading X = volts_per_meter (Q/k) F / sqrt(2) (V r.m.s.), and a frequency shift
    into X = volts_per_hertz df / sqrt(2); the inverse gives a scan channel in N or Hz
    (for statistical polarization, the r.m.s. of the fluctuating signal).
    """
    import math

    settings = rf.virtual
    frequency_protocol = exp.protocol.name != "CAI"
    specs = []
    for spec in rf.instruments:
        if spec.driver in ("srs.sr830", "srs.sr865"):
            opts = {k: v for k, v in spec.options.items()
                    if k not in ("force_per_volt", "frequency_per_volt")}
            if frequency_protocol:
                opts["frequency_per_volt"] = math.sqrt(2.0) / settings.volts_per_hertz
            else:
                c = exp.cantilever
                opts["force_per_volt"] = math.sqrt(2.0) * c.k / (settings.volts_per_meter * c.Q)
            spec = dataclasses.replace(spec, options=opts)
        specs.append(spec)
    return dataclasses.replace(rf, instruments=tuple(specs))


@contextlib.contextmanager
def _served(rf: object, experiment: object) -> Iterator[object]:
    """For a virtual rig file (no resource strings), serve it here and fill them in.

    The virtual instruments' physics is the scan's own experiment, so the
    scanned map is the one the solver predicts for CONFIG.
    """
    if all(s.resource for s in rf.instruments):
        yield rf
        return
    from mrfm.rig import VirtualRig

    with VirtualRig(rf, experiment=experiment) as virtual:
        resources = virtual.resources
        specs = tuple(dataclasses.replace(s, resource=resources[s.name]) for s in rf.instruments)
        yield dataclasses.replace(rf, instruments=specs)


def run(args: argparse.Namespace) -> int:
    from mrfm.config import load
    from mrfm.scan.controller import ScanController, ScanInterrupted, validate_plan
    from mrfm.scan.plan import ScanPlan
    from mrfm.scan.rig_handle import DriverRig, channels_for
    from mrfm.scan.safety import SafetyLimits
    from mrfm.scan.store import ScanStore

    exp = load(args.config)
    plan = exp.section("plan") or ScanPlan()
    out = Path(args.output)
    if out.suffix.lower() not in (".h5", ".hdf5", ".nxs"):
        raise UserError(f"-o {out}: the scan file must end in .h5 (HDF5)")
    rf = _rig_file(args.rig, args.config)
    if args.rig == "virtual":
        rf = _calibrate_virtual_lockin(rf, exp)
    limits = SafetyLimits(**rf.limits.safety_kwargs())
    axes = plan.axes(exp.scan)
    # 1. the plan, checked before anything is opened or moved
    validate_plan(plan, exp.scan, limits)
    channels = channels_for(rf)
    # 2. the output file
    store = None
    if args.resume:
        ScanStore.check_resumable(out, config_text=exp.source_text, channels=channels,
                                  axes=axes)
    else:
        if out.exists():
            raise UserError(f"{out}: exists already; use --resume to continue it or "
                            "choose another -o")
        if not out.parent.exists():
            raise UserError(f"{out}: output folder {out.parent} does not exist")
    try:
        with _served(rf, exp) as served, DriverRig.open(served, experiment=exp) as rig:
            rig.check_targets(plan.positions(exp.scan), safe_height=plan.safe_height)
            if args.resume:
                store = ScanStore.resume(out, config_text=exp.source_text, channels=channels,
                                         axes=axes, rig_text=rf.source_text,
                                         identities=rig.identities())
            else:
                store = ScanStore.create(
                    out, axes=axes, channels=channels, config_text=exp.source_text,
                    rig_text=rf.source_text, identities=rig.identities(),
                    attrs={"mrfm_title": exp.name, "rig_name": rf.name,
                           "plan_pattern": plan.pattern},
                )
            return _scan(args, exp, plan, rig, store, limits, ScanController,
                         ScanInterrupted)
    finally:
        if store is not None:
            store.close()


def _scan(args, exp, plan, rig, store, limits, controller_cls, interrupted_cls) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    todo = int(store.measured.size - store.measured.sum())
    total = int(store.measured.size)
    progress = Progress(
        TextColumn("[bold]scan"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
        disable=not console.is_terminal, transient=False,
    )
    task = progress.add_task("scan", total=total, completed=total - todo)

    def on_progress(done: int, n: int) -> None:
        progress.update(task, completed=done, total=n)

    def notify(message: str) -> None:
        console.print(f"mrfm: {message}", highlight=False, soft_wrap=True, markup=False)

    for note in rig.notes:
        notify(f"note: {note}")
    ctl = controller_cls(rig, plan, exp.scan, store, limits=limits, progress=on_progress,
                         notify=notify)
    estimate = ctl.estimate_duration()
    scale = f" (virtual rig, time scale {rig.time_scale:g})" if rig.time_scale != 1 else ""
    notify(f"{todo} of {total} points to measure ({plan.pattern}); estimated duration "
           f"{_hms(estimate)} of settling plus the instruments' own time{scale}")
    t0 = time.monotonic()
    try:
        with progress:
            outcome = ctl.run()
    except interrupted_cls as exc:
        print(f"mrfm: {exc}; resume with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    summary = {
        "status": outcome.status,
        "points_measured": outcome.points_measured,
        "points_total": outcome.points_total,
        "points_this_run": outcome.points_this_run,
        "elapsed_s": time.monotonic() - t0,
        "estimated_s": estimate,
        "overhead_per_point_s": outcome.overhead_per_point,
        "output": str(Path(args.output).resolve()),
        "safe_state_problems": outcome.safe_state_problems,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"mrfm: scan {outcome.status}: {outcome.points_measured}/{outcome.points_total} "
              f"points in {_hms(summary['elapsed_s'])} -> {args.output}", file=sys.stderr)
    return 0 if outcome.status == "complete" else 1


def _hms(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}"
