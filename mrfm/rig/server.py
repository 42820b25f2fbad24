"""The virtual rig: every instrument of a rig file around one physics state, :class:`VirtualRig`.

Each instrument is served by an :class:`~mrfm.rig.tcp.InstrumentServer` on 127.0.0.1
(VISA resource ``TCPIP0::127.0.0.1::<port>::SOCKET``); one :class:`~mrfm.rig.state.RigState`
serves all. The physics is the experiment the rig file names, else the packaged default
(:func:`default_experiment_path`). When the rig starts, a warm-up computes the
experiment's signal map (:meth:`~mrfm.rig.signal.SignalModel.prepare_map`) so that
readings on the experiment's own scan grid cost an interpolation, not a solver call.

Python API (in-process, threads)::

    with VirtualRig.from_file("instruments/virtual.toml") as rig:
        rig.resources          # {"lockin": "TCPIP0::127.0.0.1::40123::SOCKET", ...}
        rig.state              # the RigState
        rig.inject_fault("lockin", "timeout")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mrfm.config import Experiment
from mrfm.config import load as load_experiment
from mrfm.errors import ConfigError
from mrfm.resources import data_dir
from mrfm.rig.clock import SimClock
from mrfm.rig.faults import FaultInjector
from mrfm.rig.instruments.base import VirtualInstrument
from mrfm.rig.signal import SignalModel
from mrfm.rig.state import RigState
from mrfm.rig.tcp import InstrumentServer
from mrfm.rigdef import rigfile as rf
from mrfm.rigdef.registry import REGISTRY
from mrfm.rigdef.rigfile import FaultSpec, RigFile

#: the packaged experiment (in ``mrfm.resources.data_dir("configs")``) a rig file without
#: an ``experiment`` key runs
DEFAULT_EXPERIMENT = "demo.toml"

__all__ = ["DEFAULT_EXPERIMENT", "VirtualRig", "default_experiment_path", "rf_multiplier"]


# ------------------------------------------------------------------- the rig
def default_experiment_path() -> Path:
    """The experiment a rig file without an ``experiment`` key runs: the packaged
    ``configs/demo.toml``."""
    return data_dir("configs") / DEFAULT_EXPERIMENT


def rf_multiplier(rig: RigFile) -> float:
    """The external frequency multiplier after the rig's SG384 (its ``frequency_multiplier``
    option, a positive number; 1 without one): the virtual spins see N x the source.

    This is the option :mod:`mrfm.scan.rig_handle` divides the experiment's frequency
    by when it tunes the source, so both sides agree on the carrier.
    """
    from mrfm.units import parse_quantity

    for spec in rig.instruments:
        if spec.driver != "srs.sg384" or "frequency_multiplier" not in spec.options:
            continue
        where = f"instruments.{spec.name}.frequency_multiplier"
        value = parse_quantity(spec.options["frequency_multiplier"], "dimensionless", where)
        if value <= 0:
            raise ConfigError(f"{where}: must be > 0, got {value:g}")
        return value
    return 1.0


class VirtualRig:
    """All virtual instruments of a rig file around one :class:`RigState`.

    Parameters
    ----------
    rig : RigFile
        The parsed rig file.
    experiment : mrfm.config.Experiment, optional
        Overrides the experiment named in the rig file. Without either, the packaged
        default experiment (:func:`default_experiment_path`) is used and a note says so.
    clock : SimClock, optional
        Overrides ``SimClock(rig.time_scale)`` (tests pass a manual clock).
    signal_model : SignalModel, optional
        Overrides the signal model built from the experiment.

    Attributes
    ----------
    resources : dict
        Instrument name -> VISA resource string (after :meth:`start`).
    notes : list of str
        Things a user should know (e.g. the default experiment is in use).
    """

    def __init__(
        self,
        rig: RigFile,
        *,
        experiment: Experiment | None = None,
        clock: SimClock | None = None,
        signal_model: SignalModel | None = None,
    ) -> None:
        self.rig = rig
        self.notes: list[str] = []
        if experiment is None:
            experiment = self._load_experiment(rig.experiment)
        self.experiment = experiment
        self.state = RigState(
            limits=rig.limits, settings=rig.virtual, experiment=experiment,
            signal_model=signal_model, clock=clock or SimClock(rig.time_scale),
            rf_multiplier=rf_multiplier(rig),
        )
        self.instruments: dict[str, VirtualInstrument] = {}
        self.faults: dict[str, FaultInjector] = {}
        for spec in rig.instruments:
            cls = REGISTRY[spec.driver].virtual_class()
            self.instruments[spec.name] = cls(self.state, name=spec.name, options=spec.options)
            self.faults[spec.name] = FaultInjector(tuple(rig.faults.get(spec.name, ())))
        self.servers: dict[str, InstrumentServer] = {}
        self.resources: dict[str, str] = {}

    def _load_experiment(self, path: Path | None) -> Experiment:
        """The experiment named in the rig file, else the packaged default (with a note).

        Raises
        ------
        ConfigError
            The named experiment file is missing or invalid.
        """
        if path is None:
            path = default_experiment_path()
            self.notes.append(
                f"experiment: the rig file names none; the default experiment {path} is used"
            )
        return load_experiment(path)

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        *,
        experiment: Experiment | None = None,
        clock: SimClock | None = None,
        signal_model: SignalModel | None = None,
    ) -> VirtualRig:
        """Build from a rig file (default: the shipped ``instruments/virtual.toml``)."""
        if path is None:
            path = data_dir("instruments") / "virtual.toml"
        return cls(rf.load(path), experiment=experiment, clock=clock, signal_model=signal_model)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> VirtualRig:
        """Prepare the physics, then bind and start every server; fills :attr:`resources`.

        The signal model is warmed up first (signal map computed, solver kernels
        compiled: tens of seconds on a cold numba cache), so that no instrument
        listens before it can answer a reading within a driver's timeout.
        """
        self._warm_up()
        try:
            for spec in self.rig.instruments:
                server = InstrumentServer(
                    self.instruments[spec.name], port=spec.port, faults=self.faults[spec.name]
                )
                server.start()
                self.servers[spec.name] = server
                self.resources[spec.name] = server.resource
        except OSError as exc:
            self.stop()
            raise ConfigError(
                f"rig {self.rig.name!r}: cannot listen on 127.0.0.1 ({exc})"
            ) from None
        return self

    def _warm_up(self) -> None:
        """Compute the experiment's signal map (:meth:`SignalModel.prepare_map`), and the
        spin noise's where a Curie force carries it, before the first reading; without a
        map, evaluate one point so the solver's kernels compile; then build each lock-in's
        demodulator (:meth:`LockinChannel.warm_up`)."""
        self._warm_up_signal()
        for channel in list(self.state.channels):
            channel.warm_up()

    def _warm_up_signal(self) -> None:
        models = [("signal", self.state.signal_model)]
        if self.state.spin_noise_model is not None:
            models.append(("spin-noise", self.state.spin_noise_model))
        for what, model in models:
            try:
                if model.prepare_map():
                    continue
                if model.map_error:
                    self.notes.append(f"{what} map not computed ({model.map_error}); "
                                      "readings use the one-point solver")
                exp = self.experiment
                x, y, h = self.state.tip_position()
                model.signal_at(x, y, h, exp.B0, exp.rf.frequency, exp.rf.fm_depth)
            except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs time later
                self.notes.append(f"{what} warm-up failed: {exc.__class__.__name__}: {exc}")

    def stop(self) -> None:
        """Stop every server (idempotent)."""
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> VirtualRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- faults
    def inject_fault(
        self, name: str, mode: str, *, after: int = 0, probability: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Arm a fault on instrument ``name`` (see :class:`~mrfm.rigdef.rigfile.FaultSpec`)."""
        self.faults[name].add(FaultSpec(mode=mode, after=after, probability=probability, seed=seed))

    def clear_faults(self, name: str | None = None) -> None:
        """Remove the faults of ``name`` (or of every instrument)."""
        for key, injector in self.faults.items():
            if name is None or key == name:
                injector.clear()

    def describe(self) -> Mapping[str, dict[str, str]]:
        """``{"instruments": {name: resource}}``, the line ``mrfm rig serve`` prints."""
        return {"instruments": dict(self.resources)}
