"""Fault injection for the virtual instruments: :class:`FaultInjector`.

Faults (rig file ``[faults.<name>]`` or :meth:`mrfm.rig.server.VirtualRig.inject_fault`):
``timeout`` = no reply, ``drop`` = connection closed, ``garbage`` = junk instead of the
reply, ``stuck`` = readings frozen; each fires after ``after`` commands with
``probability`` per command (:class:`~mrfm.rigdef.rigfile.FaultSpec`).
"""

from __future__ import annotations

import random
import string
import threading
from dataclasses import dataclass

from mrfm.rigdef.rigfile import FaultSpec


@dataclass
class _ActiveFault:
    spec: FaultSpec
    rng: random.Random
    latched: bool = False


_NO_FAULTS: frozenset[str] = frozenset()


class FaultInjector:
    """Faults of one instrument, counting its commands across connections (thread-safe)."""

    def __init__(self, specs: tuple[FaultSpec, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[_ActiveFault] = []
        self.count = 0
        for s in specs:
            self.add(s)

    def add(self, spec: FaultSpec) -> None:
        """Arm ``spec`` (its ``after`` counts from now)."""
        with self._lock:
            spec = FaultSpec(spec.mode, self.count + spec.after, spec.probability, spec.seed)
            self._faults.append(_ActiveFault(spec, random.Random(spec.seed)))

    def clear(self) -> None:
        """Remove every fault (frozen readings thaw, the instrument answers again)."""
        with self._lock:
            self._faults.clear()

    def fire(self) -> frozenset[str] | set[str]:
        """Count one command; the fault modes active for it."""
        with self._lock:
            self.count += 1
            if not self._faults:
                return _NO_FAULTS
            active = set()
            for f in self._faults:
                if f.latched:
                    active.add(f.spec.mode)
                    continue
                if self.count > f.spec.after and f.rng.random() < f.spec.probability:
                    active.add(f.spec.mode)
                    if f.spec.mode in ("timeout", "stuck"):
                        f.latched = True
            return active

    def is_stuck(self) -> bool:
        """True while a ``stuck`` fault holds the readings."""
        with self._lock:
            return any(f.latched and f.spec.mode == "stuck" for f in self._faults)


_JUNK = string.ascii_letters + string.digits + "#$%&()*+-/<=>@[]^_{|}~"


def junk() -> str:
    """A reply of random characters (what a confused instrument sends)."""
    rng = random.Random()
    return "".join(rng.choice(_JUNK) for _ in range(rng.randint(3, 40)))
