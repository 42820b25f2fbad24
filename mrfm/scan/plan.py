"""Scan plans: the order in which tip positions are visited, as data in the experiment file.

The ``[plan]`` section is declared with the experiment schema in :mod:`mrfm.config.plan`
(so :func:`mrfm.config.load` reads it without importing the scan package); its class
:class:`ScanPlan` and the :data:`Position` type are re-exported here for the scan code.
"""

from __future__ import annotations

from mrfm.config.plan import Position, ScanPlan

__all__ = ["Position", "ScanPlan"]
