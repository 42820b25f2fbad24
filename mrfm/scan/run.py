"""``run_scan``: one scan of an experiment on a rig, from Python (``mrfm scan`` calls it).

Example (the demo experiment on the virtual rig, served in this process)::

    from mrfm.config import load
    from mrfm.scan import run_scan

    result = run_scan(load("configs/demo.toml"), "virtual", "scan.h5")
    print(result.status, result.points_measured, "of", result.points_total)
    if result.fault is not None:          # an instrument fault: rig safe, data kept
        result = run_scan(load("configs/demo.toml"), "virtual", "scan.h5", resume=True)

Order of work, so that bad input is refused before anything moves (:class:`UserError`):

1. read the experiment and the rig file; build the safety limits;
2. check every target of the plan (and the safe height) against the limits;
3. check the output file: new (or, with ``overwrite``, replaced once the scan starts),
   or for ``resume`` one of the same scan; never one of the inputs;
4. open the instruments (an unreachable resource is bad input), apply the rig file's
   settings, read every instrument's settings back into the file's logbook;
5. interlocks (field ramping, RF power, temperature), approach, scan, safe state.

An instrument fault (or an interlock) stops the scan in the safe state with its data
kept: the result's ``fault`` holds it and ``resume=True`` continues. Ctrl-C/SIGTERM does
the same with status ``"interrupted"``. A rig file whose instruments have no
``resource`` strings is a virtual rig: it is served in this process (127.0.0.1) with
the experiment as its physics, as ``rig="virtual"`` does with the shipped
``instruments/virtual.toml``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mrfm.config import Experiment
from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.rigdef import rigfile
from mrfm.rigdef.registry import REGISTRY
from mrfm.rigdef.rigfile import RigFile

if TYPE_CHECKING:
    from mrfm.scan.controller import ScanController
    from mrfm.scan.store import ScanStore

#: file suffixes of a scan file
SUFFIXES = (".h5", ".hdf5", ".nxs")


@dataclass(frozen=True)
class ScanResult:
    """What :func:`run_scan` did.

    Attributes
    ----------
    path : Path
        The scan file (absolute).
    status : str
        ``"complete"``, ``"incomplete"``, ``"interrupted"`` or ``"fault: <message>"``
        (the file's ``/entry/status``).
    complete : bool
        Every point of the grid is measured.
    points_measured, points_total : int
        Points measured in the file (all sessions) and in the grid.
    points_this_run : int
        Points measured by this call.
    fault : InstrumentError or None
        The instrument fault or interlock that stopped the scan (rig safe, data kept).
    elapsed_s, estimated_s : float
        Wall time of the scan (interlocks, approach, points, safe state) and its estimate
        once the first line was measured (the time so far, the remaining points at that
        line's time per point, the safe state), s; before that line, ``estimated_start_s``.
    estimated_start_s : float
        The estimate made before the first point: the plan's settling waits plus the rig's
        own time per point, line and move, measured on a few probe points (on a virtual
        rig, scan steps timed at sites spread over the plan after the approach), s.
    overhead_per_point_s : float
        Loop time per point beyond the settling waits, s (NaN if no point was measured).
    safe_state_problems : tuple of str
        Safe-state steps that failed (empty: the rig was left safe).
    """

    path: Path
    status: str
    complete: bool
    points_measured: int
    points_total: int
    points_this_run: int = 0
    fault: InstrumentError | None = None
    elapsed_s: float = 0.0
    estimated_s: float = 0.0
    estimated_start_s: float = 0.0
    overhead_per_point_s: float = math.nan
    safe_state_problems: tuple[str, ...] = ()

    @property
    def interrupted(self) -> bool:
        """Ctrl-C or SIGTERM stopped the scan (rig safe, data kept, resumable)."""
        return self.status == "interrupted"


#: ``progress(done, total)`` after every flushed line (points measured in the file)
ProgressCallback = Callable[[int, int], None]
#: ``notify(message)`` for readable events (notes, estimate, pauses, approach)
NotifyCallback = Callable[[str], None]


def virtual_rig_path() -> Path:
    """The shipped virtual rig file (``instruments/virtual.toml``)."""
    from mrfm.resources import data_dir

    return data_dir("instruments") / "virtual.toml"


def _calibrate_virtual_lockin(rf: RigFile, exp: Experiment) -> RigFile:
    """The virtual lock-in's calibration for this experiment (force or frequency per volt).

    The virtual rig turns a force F at the cantilever's resonance into a lock-in
    reading X = volts_per_meter (Q/k) F / sqrt(2) (V r.m.s.; Q the cantilever's total
    damping ``Q_total`` (gas at the stage pressure included), or the velocity-feedback
    loop's where the rig file sets ``[virtual] feedback_Q``), and a frequency shift
    into X = volts_per_hertz df / sqrt(2); the inverse gives a scan channel in N or Hz
    (for statistical polarization, the r.m.s. of the fluctuating signal).
    """
    settings = rf.virtual
    frequency_protocol = exp.protocol.name != "CAI"
    specs = []
    for spec in rf.instruments:
        if REGISTRY[spec.driver].role == "lockin":
            opts = {k: v for k, v in spec.options.items()
                    if k not in ("force_per_volt", "frequency_per_volt")}
            if frequency_protocol:
                opts["frequency_per_volt"] = math.sqrt(2.0) / settings.volts_per_hertz
            else:
                from mrfm.rig.lockin import force_per_volt  # only a virtual rig needs mrfm.rig

                opts["force_per_volt"] = force_per_volt(exp.cantilever, settings)
            spec = dataclasses.replace(spec, options=opts)
        specs.append(spec)
    return dataclasses.replace(rf, instruments=tuple(specs))


@contextlib.contextmanager
def _served(rf: RigFile, experiment: Experiment) -> Iterator[RigFile]:
    """For a virtual rig file (no resource strings), serve it here and fill them in.

    The virtual instruments' physics is the scan's own experiment, so the
    scanned map is the one the solver predicts for it.
    """
    if all(s.resource for s in rf.instruments):
        yield rf
        return
    from mrfm.rig import VirtualRig  # only a virtual rig needs mrfm.rig

    with VirtualRig(rf, experiment=experiment) as virtual:
        resources = virtual.resources
        specs = tuple(dataclasses.replace(s, resource=resources[s.name]) for s in rf.instruments)
        yield dataclasses.replace(rf, instruments=specs)


def _load_rig(rig: str | os.PathLike[str] | RigFile, exp: Experiment) -> RigFile:
    if isinstance(rig, RigFile):
        return rig
    if str(rig) == "virtual":
        return _calibrate_virtual_lockin(rigfile.load(virtual_rig_path()), exp)
    return rigfile.load(rig)


def _same_file(a: Path, b: Path | None) -> bool:
    return b is not None and a.resolve() == Path(b).resolve()


def _check_output(out: Path, *, resume: bool, overwrite: bool,
                  inputs: tuple[Path | None, ...]) -> None:
    """Refuse an output that would clobber an input or an existing file (UserError)."""
    if out.suffix.lower() not in SUFFIXES:
        raise UserError(f"-o {out}: the scan file must end in .h5 (HDF5)")
    if resume and overwrite:
        raise UserError(f"{out}: --resume continues the file, --overwrite replaces it; "
                        "give one of them")
    for path in inputs:
        if _same_file(out, path):
            raise UserError(f"-o {out}: is one of the scan's inputs ({path}); choose another -o")
    if resume:
        return
    if out.exists() and not overwrite:
        raise UserError(f"{out}: exists already; use --resume to continue it, --overwrite to "
                        "replace it, or choose another -o")
    if out.exists() and not out.is_file():
        raise UserError(f"-o {out}: exists and is not a file")
    if not out.parent.exists():
        raise UserError(f"{out}: output folder {out.parent} does not exist")


def run_scan(
    experiment: Experiment | str | os.PathLike[str],
    rig: str | os.PathLike[str] | RigFile,
    output: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    notify: NotifyCallback | None = None,
) -> ScanResult:
    """Scan ``experiment``'s grid on ``rig`` into the NeXus file ``output``.

    Parameters
    ----------
    experiment : Experiment or path
        The experiment (its ``[scan]`` grid, optional ``[plan]``; for a virtual rig
        also its physics), or the path of its TOML file.
    rig : "virtual", path or RigFile
        ``"virtual"`` (the shipped virtual rig, served in this process), a rig file,
        or a loaded :class:`mrfm.rigdef.RigFile`.
    output : path
        The scan file (``.h5``), flushed line by line in SWMR mode.
    resume : bool
        Continue the interrupted scan in ``output`` from its measured mask.
    overwrite : bool
        Replace an existing ``output`` (only once the instruments are open and every
        check has passed).
    progress : callable, optional
        ``progress(done, total)`` after every flushed line.
    notify : callable, optional
        ``notify(message)`` for readable events (rig notes, the estimate, pauses).

    Returns
    -------
    ScanResult
        With ``fault`` set when an instrument fault or interlock stopped the scan
        (rig in the safe state, data kept, resumable).

    Raises
    ------
    UserError, ConfigError
        Bad input, refused before anything moved.
    """
    from mrfm.config import load
    from mrfm.scan.controller import ScanController, ScanInterrupted, validate_plan
    from mrfm.scan.plan import ScanPlan
    from mrfm.scan.rig_handle import DriverRig, channels_for
    from mrfm.scan.safety import SafetyLimits
    from mrfm.scan.store import ScanStore

    config_path = None if isinstance(experiment, Experiment) else Path(experiment)
    exp = experiment if isinstance(experiment, Experiment) else load(experiment)
    plan = exp.section("plan") or ScanPlan()
    rf = _load_rig(rig, exp)
    _check_output(Path(output), resume=resume, overwrite=overwrite,
                  inputs=(config_path, rf.path))
    out = Path(output).absolute()
    limits = SafetyLimits(**rf.limits.safety_kwargs())
    axes = plan.axes(exp.scan)
    validate_plan(plan, exp.scan, limits)  # before anything is opened or moved
    channels = channels_for(rf)
    if resume:
        ScanStore.check_resumable(out, config_text=exp.source_text, channels=channels,
                                  axes=axes)
    say = notify or (lambda message: None)
    store = None
    try:
        with _served(rf, exp) as served, DriverRig.open(served, experiment=exp) as handle:
            handle.check_targets(plan.positions(exp.scan), safe_height=plan.safe_height)
            logbook = handle.logbook()
            if resume:
                store = ScanStore.resume(out, config_text=exp.source_text, channels=channels,
                                         axes=axes, rig_text=rf.source_text,
                                         identities=handle.identities(), logbook=logbook)
            else:
                if overwrite:
                    out.unlink(missing_ok=True)
                store = ScanStore.create(
                    out, axes=axes, channels=channels, config_text=exp.source_text,
                    rig_text=rf.source_text, identities=handle.identities(),
                    attrs={"mrfm_title": exp.name, "rig_name": rf.name,
                           "plan_pattern": plan.pattern},
                    logbook=logbook,
                )
            handle.on_change = store.update_logbook
            for note in handle.notes:
                say(f"note: {note}")
            ctl = ScanController(handle, plan, exp.scan, store, limits=limits,
                                 progress=progress, notify=say)
            todo = int(store.measured.size - store.measured.sum())
            total = int(store.measured.size)
            if progress is not None:
                progress(total - todo, total)
            t0 = time.monotonic()
            try:
                outcome = ctl.run()
            except ScanInterrupted:
                return _result(out, "interrupted", store, total, t0, ctl)
            except InstrumentError as exc:
                return _result(out, f"fault: {exc}", store, total, t0, ctl, fault=exc)
            return ScanResult(
                path=out, status=outcome.status, complete=outcome.status == "complete",
                points_measured=outcome.points_measured, points_total=outcome.points_total,
                points_this_run=outcome.points_this_run, elapsed_s=time.monotonic() - t0,
                estimated_s=_best(ctl), estimated_start_s=ctl.estimate or 0.0,
                overhead_per_point_s=outcome.overhead_per_point,
                safe_state_problems=tuple(outcome.safe_state_problems),
            )
    finally:
        if store is not None:
            store.close()


def _best(ctl: ScanController) -> float:
    """The controller's latest estimate of the whole run (after its first line if any)."""
    later = ctl.estimate_after_first_line
    return later if later is not None else (ctl.estimate or 0.0)


def _result(out: Path, status: str, store: ScanStore, total: int, t0: float,
            ctl: ScanController, fault: InstrumentError | None = None) -> ScanResult:
    """The result of a scan stopped by Ctrl-C or a fault (the store's mask is final)."""
    done = int(store.measured.sum())
    return ScanResult(path=out, status=status, complete=False, points_measured=done,
                      points_total=total, fault=fault, elapsed_s=time.monotonic() - t0,
                      estimated_s=_best(ctl), estimated_start_s=ctl.estimate or 0.0)


def hms(seconds: float) -> str:
    """``12.3 s`` below a minute, else ``h:mm:ss``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}"
